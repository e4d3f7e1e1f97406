"""What the application configures a speaker with, checked against the draft's rules.

Mistakes that would break a MUST of draft-rosen-bess-secure-l3vpn are refused
here with a one-line message naming the offending item: VPN-IP families on a
black neighbour (section 2), per-tenant red loopbacks sharing a Security Handle
(section 4), a red loopback equal to the black one (section 3.1).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from controller.bgp.path import (
    IPV4_UNICAST,
    IPV6_UNICAST,
    VPNV4,
    VPNV6,
    Color,
    Family,
    IPAddress,
    IPNetwork,
    is_vpn_family,
)
from controller.bgp.vrf import VrfConfig
from controller.bgp.wire.context import (
    DEFAULT_MPLS_IN_IPSEC_TUNNEL_TYPE,
    DEFAULT_SECURITY_HANDLE_SUBTLV,
)

RED_DEFAULT_FAMILIES = (IPV4_UNICAST, IPV6_UNICAST, VPNV4, VPNV6)
BLACK_DEFAULT_FAMILIES = (IPV4_UNICAST, IPV6_UNICAST)


class ConfigError(ValueError):
    """A configuration the speaker refuses; the message names the item."""


@dataclass(frozen=True)
class NeighborConfig:
    address: IPAddress
    remote_as: int
    color: Color
    families: tuple[Family, ...] = ()
    rr_client: bool = False
    passive: bool = False
    hold_time: int = 90
    connect_retry_time: float = 5.0
    idle_hold_time: float = 2.0
    delay_open_time: float = 0.0  # RFC 4271 DelayOpen; 0 = send OPEN at once
    port: int = 179
    # Our address on this session, used as next hop when we must set it to ourselves.
    local_address: IPAddress | None = None
    description: str = ""
    # Identity binding (controller/bgp/claims.py): the red loopbacks this neighbour's IKE
    # identity is bound to, and the tunnel endpoints (its black addresses) their routes
    # may name; None = not bound, no check.
    originates: tuple[IPAddress, ...] | None = None
    endpoints: tuple[IPAddress, ...] = ()

    def __post_init__(self) -> None:
        if not self.families:
            default = RED_DEFAULT_FAMILIES if self.color is Color.RED else BLACK_DEFAULT_FAMILIES
            object.__setattr__(self, "families", default)
        if self.color is Color.BLACK:
            bad = [str(f) for f in self.families if is_vpn_family(f)]
            if bad:
                raise ConfigError(
                    f"neighbor {self.address}: {', '.join(bad)} cannot be enabled on a black "
                    "session (draft section 2: VPN-IP only on IPsec-protected sessions)"
                )
        if self.hold_time in (1, 2) or not 0 <= self.hold_time <= 0xFFFF:
            raise ConfigError(f"neighbor {self.address}: hold time {self.hold_time} invalid")


@dataclass(frozen=True)
class DynamicNeighbors:
    """Accept sessions from any address in ``prefix`` (an RR auto-discovering C-PEs, draft 3.2).

    Each peer that connects gets a passive neighbour built from these settings; a
    red one still waits for the IPsec layer to report its transport protected.
    """

    prefix: IPNetwork
    remote_as: int
    color: Color
    rr_client: bool = True
    families: tuple[Family, ...] = ()
    hold_time: int = 90

    def __post_init__(self) -> None:
        self.neighbor(self.prefix.network_address)  # same checks as a configured neighbour

    def neighbor(self, address: IPAddress) -> NeighborConfig:
        return NeighborConfig(
            address,
            self.remote_as,
            self.color,
            families=self.families,
            rr_client=self.rr_client,
            passive=True,
            hold_time=self.hold_time,
            description=f"dynamic from {self.prefix}",
        )


@dataclass(frozen=True)
class RedLoopback:
    """A red loopback and what its red loopback route advertises (draft 3.1, 3.3, 4)."""

    address: IPAddress
    security_handle: bytes | None = None
    tenant: str = ""  # the VRF this loopback serves when tenants have their own SAs


@dataclass(frozen=True)
class GracefulRestartConfig:
    """BGP Graceful Restart (RFC 4724) settings of the speaker.

    ``restart_time`` is what we announce: how long peers keep our routes after our
    session drops. ``stale_time`` bounds how long we keep a restarted peer's stale
    routes after its session is back, waiting for its End-of-RIB; ``deferral_time``
    bounds how long we wait, after our own restart, for every peer's End-of-RIB
    before running the decision process (RFC 4724 4.1 Selection_Deferral_Timer).
    """

    enabled: bool = True
    restart_time: int = 120
    stale_time: float = 360.0
    deferral_time: float = 60.0

    def __post_init__(self) -> None:
        if not 0 <= self.restart_time <= 0xFFF:
            raise ConfigError(
                f"graceful restart: restart time {self.restart_time} must lie within 0-4095 "
                "seconds (12 bits, RFC 4724 3)"
            )
        for name in ("stale_time", "deferral_time"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"graceful restart: {name} must be positive")


@dataclass(frozen=True)
class SpeakerConfig:
    local_as: int
    router_id: ipaddress.IPv4Address
    black_loopback: IPAddress | None = None
    red_loopbacks: tuple[RedLoopback, ...] = ()
    neighbors: tuple[NeighborConfig, ...] = ()
    dynamic_neighbors: tuple[DynamicNeighbors, ...] = ()
    vrfs: tuple[VrfConfig, ...] = ()
    cluster_id: ipaddress.IPv4Address | None = None
    mpls_in_ipsec_tunnel_type: int = DEFAULT_MPLS_IN_IPSEC_TUNNEL_TYPE
    security_handle_subtlv: int = DEFAULT_SECURITY_HANDLE_SUBTLV
    label_range: tuple[int, int] = (100, 0xFFFFF)
    graceful_restart: GracefulRestartConfig = GracefulRestartConfig()
    # Draft 3.1 MAY: the black loopback's host route on the black sessions.
    advertise_black_loopback: bool = False
    # RFC 4684 (rtc.py): offered on red sessions with a VPN-IP family.
    rt_constrain: bool = True

    def __post_init__(self) -> None:
        seen: set[IPAddress] = set()
        for n in self.neighbors:
            if n.address in seen:
                raise ConfigError(f"neighbor {n.address}: configured twice")
            seen.add(n.address)
        handles: dict[bytes, IPAddress] = {}
        addrs: set[IPAddress] = set()
        for lo in self.red_loopbacks:
            if lo.address in addrs:
                raise ConfigError(f"red loopback {lo.address}: configured twice")
            addrs.add(lo.address)
            if lo.address == self.black_loopback:
                raise ConfigError(
                    f"red loopback {lo.address}: must differ from the black loopback (draft 3.1)"
                )
            if lo.security_handle is not None:
                if len(lo.security_handle) > 255:
                    raise ConfigError(
                        f"red loopback {lo.address}: Security Handle longer than 255 octets"
                    )
                other = handles.get(lo.security_handle)
                if other is not None:
                    raise ConfigError(
                        f"red loopback {lo.address}: Security Handle equals that of {other} "
                        "(draft section 4: per-tenant handles MUST be distinct)"
                    )
                handles[lo.security_handle] = lo.address
        names = [v.name for v in self.vrfs]
        if len(set(names)) != len(names):
            raise ConfigError("vrf names must be unique")
        tenants = {lo.tenant for lo in self.red_loopbacks if lo.tenant}
        for t in tenants - set(names):
            raise ConfigError(f"red loopback tenant {t!r}: no such vrf")
        for v in self.vrfs:
            if v.red_loopback is not None and v.red_loopback not in addrs:
                raise ConfigError(
                    f"vrf {v.name}: red loopback {v.red_loopback} is not one of the configured "
                    "red loopbacks (its VPN routes would not resolve, draft 4)"
                )
        if self.vrfs and not self.red_loopbacks:
            raise ConfigError("vrfs need a red loopback to use as VPN next hop (draft 3.3)")

    @property
    def effective_cluster_id(self) -> ipaddress.IPv4Address:
        return self.cluster_id or self.router_id

    def neighbor(self, address: IPAddress) -> NeighborConfig | None:
        """The configured neighbour at ``address``, or one built from a dynamic range."""
        for n in self.neighbors:
            if n.address == address:
                return n
        for d in self.dynamic_neighbors:
            if address.version == d.prefix.version and address in d.prefix:
                return d.neighbor(address)
        return None

    def red_loopback_for(self, vrf: str) -> RedLoopback | None:
        for lo in self.red_loopbacks:
            if lo.tenant == vrf:
                return lo
        for lo in self.red_loopbacks:
            if not lo.tenant:
                return lo
        return self.red_loopbacks[0] if self.red_loopbacks else None
