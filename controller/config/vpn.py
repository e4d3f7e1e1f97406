"""VRFs and BGP neighbours (RFC 4364; draft-rosen-bess-secure-l3vpn sections 2-4).

Route distinguishers and route targets use the usual text forms of RFC 4364
section 4.2: ``ASN:NN`` (2- or 4-octet AS) or ``A.B.C.D:NN``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from controller.bgp.wire.attributes.ext_communities import ExtCommunity
from controller.bgp.wire.nlri.rd import RouteDistinguisher
from controller.config.switch import Strict
from controller.ipsec.ike.peerid import BadPattern, check_pattern

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

Family = Literal["ipv4-unicast", "ipv6-unicast", "vpnv4", "vpnv6"]
FAMILIES: tuple[Family, ...] = ("ipv4-unicast", "ipv6-unicast", "vpnv4", "vpnv6")
VPN_FAMILIES = ("vpnv4", "vpnv6")
_RD_RE = re.compile(r"^(?P<admin>[0-9.]+):(?P<num>\d+)$")


def parse_rd(text: str) -> str:
    """Check an RD/RT in RFC 4364 text form; return it normalised (no spaces)."""
    text = str(text).strip()
    match = _RD_RE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not ASN:NN or IPv4:NN")
    admin, num = match["admin"], int(match["num"])
    if "." in admin:
        try:
            ipaddress.IPv4Address(admin)
        except ValueError:
            raise ValueError(f"{text!r}: {admin!r} is not an IPv4 address") from None
        limit = 0xFFFF  # type 1: IPv4 + 2-octet number
    else:
        asn = int(admin)
        if asn > 0xFFFFFFFF:
            raise ValueError(f"{text!r}: AS {asn} is above 4294967295")
        limit = 0xFFFFFFFF if asn <= 0xFFFF else 0xFFFF  # type 0 vs type 2
    if num > limit:
        raise ValueError(f"{text!r}: assigned number {num} is above {limit} for this type")
    return text


class LocalRoute(Strict):
    """A tenant prefix this C-PE originates into its VRF."""

    prefix: IPNetwork
    next_hop: IPAddress | None = None
    interface: str | None = None  # a red port name


class Vrf(Strict):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
    rd: str
    import_rts: list[str] = Field(default_factory=list, alias="import")
    export_rts: list[str] = Field(default_factory=list, alias="export")
    label_mode: Literal["per-vrf", "per-prefix"] = "per-vrf"
    # Static per-VRF label; allocated from the label range when absent.
    label: int | None = Field(default=None, ge=16, le=0xFFFFF)
    table_id: int | None = Field(default=None, ge=1, le=0xFFFF)  # the P4 VRF id
    routes: list[LocalRoute] = Field(default_factory=list)
    interfaces: list[str] = Field(default_factory=list)

    # Our parser explains what is wrong; the BGP codec's then confirms the speaker
    # will accept exactly what the configuration passed.
    @field_validator("rd")
    @classmethod
    def _rd(cls, value: str) -> str:
        text = parse_rd(value)
        RouteDistinguisher.parse(text)
        return text

    @field_validator("import_rts", "export_rts")
    @classmethod
    def _rts(cls, values: list[str]) -> list[str]:
        texts = [parse_rd(v) for v in values]
        for text in texts:
            ExtCommunity.route_target(text)
        return texts

    @model_validator(mode="after")
    def _label_mode(self) -> Vrf:
        if self.label is not None and self.label_mode != "per-vrf":
            raise ValueError("a static label needs label_mode per-vrf")
        if not self.import_rts and not self.export_rts:
            raise ValueError("a VRF needs at least one import or export route target")
        return self


class Extranet(Strict):
    """Draft 7: hosts of VRF ``from`` may reach VRF ``to``'s hosts in ``prefixes`` on this
    C-PE (controller/app/desired/extranet.py); one direction per rule."""

    from_vrf: str = Field(alias="from")
    to_vrf: str = Field(alias="to")
    prefixes: list[IPNetwork] = Field(min_length=1)


class AutoDiscovery(Strict):
    """``bgp.auto_discovery``: C-PEs admitted by certificate (draft 3.2); checks and the
    whole story in controller/config/discovery.py."""

    identities: list[str] = Field(min_length=1)
    ca: list[str] = Field(default_factory=list)
    route_reflector_client: bool = True
    hold_time: int = Field(default=90, ge=0, le=0xFFFF)
    families: list[str] = Field(default_factory=lambda: ["vpnv4", "vpnv6", "ipv4-unicast"])

    @field_validator("identities")
    @classmethod
    def _patterns(cls, values: list[str]) -> list[str]:
        for i, pattern in enumerate(values):
            try:
                check_pattern(pattern)
            except BadPattern as exc:
                raise ValueError(f"[{i}]: {exc}") from None
        return values

    @field_validator("families")
    @classmethod
    def _families(cls, values: list[str]) -> list[str]:
        bad = [f for f in values if f not in FAMILIES]
        if bad:
            raise ValueError(f"unknown families {', '.join(bad)} (use {', '.join(FAMILIES)})")
        return values


class Neighbor(Strict):
    address: IPAddress
    asn: int = Field(alias="as", ge=1, le=0xFFFFFFFF)
    type: Literal["red", "black"]
    families: list[Family] = Field(default_factory=list)
    route_reflector_client: bool = False
    passive: bool = False
    hold_time: int = Field(default=90, ge=0, le=0xFFFF)
    description: str = ""
    # A red neighbour's black loopback: its IKE peer, the outer address of the control
    # SA that carries the session (draft 3.4). Red neighbours only (checks.check_bgp).
    black_address: IPAddress | None = None
    # Identity binding (controller/bgp/claims.py): the red loopbacks this neighbour, as
    # authenticated by IKE under its black_address, may originate; its red loopback
    # routes must name black_address (or one of ``endpoints``) as tunnel endpoint.
    # Absent: no binding. Checked by controller/config/identity.py.
    originates: list[IPAddress] | None = None
    endpoints: list[IPAddress] = Field(default_factory=list)

    @model_validator(mode="after")
    def _families(self) -> Neighbor:
        if not self.families:
            self.families = list(FAMILIES) if self.type == "red" else ["ipv4-unicast"]
        if self.type == "black":
            bad = [f for f in self.families if f in VPN_FAMILIES]
            if bad:
                raise ValueError(
                    f"{', '.join(bad)} on a black neighbour: VPN routes only travel on "
                    "IPsec-protected red sessions (draft section 2)"
                )
        if self.hold_time in (1, 2):
            raise ValueError("hold_time must be 0 or at least 3 (RFC 4271 4.2)")
        return self


class GracefulRestart(Strict):
    """BGP Graceful Restart (RFC 4724); on by default so a daemon restart that keeps
    the switch (``--keep-switch``) does not make the other sites drop our routes."""

    enabled: bool = True
    # What peers are told: how long they keep our routes while we restart (12 bits).
    restart_time: int = Field(default=120, ge=0, le=4095)
    # How long we keep a restarted peer's stale routes once it is back, awaiting End-of-RIB.
    stale_time: float = Field(default=360.0, gt=0, le=3600)
    # After our own restart: longest wait for every peer's End-of-RIB (selection deferral).
    deferral_time: float = Field(default=60.0, gt=0, le=3600)


class Bgp(Strict):
    neighbors: list[Neighbor] = Field(default_factory=list)
    graceful_restart: GracefulRestart = Field(default_factory=GracefulRestart)
    cluster_id: ipaddress.IPv4Address | None = None
    label_range: tuple[int, int] = (100, 0xFFFFF)
    listen_port: int = Field(default=179, ge=1, le=65535)
    # Draft 3.1 MAY: originate the black loopback (host route) on the black sessions,
    # next hop our end of each session. Off by default: a provider usually routes it.
    advertise_black_loopback: bool = False
    # RFC 4684 RT-Constrain on red sessions that carry VPN-IP, used when the peer offers it
    # too: a C-PE gets only its tenants' routes. Off: every VPN route goes to every peer.
    rt_constrain: bool = True
    # Draft 3.2: C-PEs admitted by their certificates, no per-C-PE configuration
    # (controller/config/discovery.py).
    auto_discovery: AutoDiscovery | None = None

    @field_validator("label_range")
    @classmethod
    def _range(cls, value: tuple[int, int]) -> tuple[int, int]:
        first, last = value
        if not 16 <= first <= last <= 0xFFFFF:
            raise ValueError(f"label range {first}-{last} must lie within 16-1048575")
        return value
