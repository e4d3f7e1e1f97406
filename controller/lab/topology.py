"""The lab topology file: one YAML document describing a whole Secured L3VPN.

    name: default
    as: 65000
    underlay: {name: inet}
    tenants:  [{name: blue, id: 1}, {name: green, id: 2}]
    rrs:      [{name: rr1, black_link: 203.0.113.64/30, black_loopback: 198.51.100.1,
                red_loopback: 10.255.0.1}, ...]
    cpes:
      - name: cpe1
        black_link: 203.0.113.0/30        # underlay end .1, C-PE end .2
        black_loopback: 198.51.100.11
        red_loopback: 10.255.0.11
        behind_nat: false
        sites:
          - {tenant: blue, subnet: 10.1.1.0/24, host: 10.1.1.10,
             subnet6: "2001:db8:1:1::/64", host6: "2001:db8:1:1::10"}
    sa: {per_tenant: false, control: transport}   # control: how red BGP is protected
    bgp_hold_time: 90                     # red sessions, seconds
    ike_auth: psk                         # or certificates: a lab CA made at `lab up`
    discovery: false                      # RRs know no C-PE, admit them by certificate

A tenant's VRF uses RD ``AS:id`` (plus the C-PE's index, so each C-PE's RD is
unique, RFC 4364 section 4.2) and route target ``AS:id``. Every address must
lie in documentation or private space (the lab never touches real networks).
Errors name the file and the field: ``lab.yml: cpes[1].sites[0].host: ...``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

NAME = r"^[a-z][a-z0-9]{0,7}$"  # short: node names become interface names
ALLOWED = [
    ipaddress.ip_network(n)
    for n in ("198.51.100.0/24", "203.0.113.0/24", "192.0.2.0/24", "10.0.0.0/8", "2001:db8::/32")
]


class TopologyError(ValueError):
    """The topology file is unusable; the message names the file and field."""


def _documentation(addr: ipaddress.IPv4Address | ipaddress.IPv6Address | Any) -> None:
    net = addr if isinstance(addr, ipaddress.IPv4Network | ipaddress.IPv6Network) else None
    first = net.network_address if net is not None else addr
    last = net.broadcast_address if net is not None else addr
    if not any(first in a and last in a for a in ALLOWED):
        raise ValueError(
            f"{addr} is outside the lab's ranges (198.51.100.0/24, 203.0.113.0/24, "
            "192.0.2.0/24, 10.0.0.0/8, 2001:db8::/32)"
        )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Tenant(_Strict):
    name: str = Field(pattern=NAME)
    id: int = Field(ge=1, le=999)


class Site(_Strict):
    """One tenant's presence at a C-PE: a red port, its subnet(s) and one host."""

    tenant: str
    subnet: ipaddress.IPv4Network
    host: ipaddress.IPv4Address
    subnet6: ipaddress.IPv6Network | None = None
    host6: ipaddress.IPv6Address | None = None

    @model_validator(mode="after")
    def _host_in_subnet(self) -> Site:
        for net in (self.subnet, self.subnet6):
            if net is not None:
                _documentation(net)
        if self.host not in self.subnet or self.host == next(self.subnet.hosts()):
            raise ValueError(
                f"host {self.host} must be in {self.subnet} and not its first address "
                "(the C-PE's gateway)"
            )
        if (self.subnet6 is None) != (self.host6 is None):
            raise ValueError("give both subnet6 and host6, or neither")
        if (
            self.subnet6 is not None
            and self.host6 is not None
            and (self.host6 not in self.subnet6 or self.host6 == self.subnet6.network_address + 1)
        ):
            raise ValueError(f"host6 {self.host6} must be in {self.subnet6}, not its ::1")
        return self

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        return next(self.subnet.hosts())

    @property
    def gateway6(self) -> ipaddress.IPv6Address | None:
        return None if self.subnet6 is None else self.subnet6.network_address + 1


class BlackNode(_Strict):
    name: str = Field(pattern=NAME)
    black_link: ipaddress.IPv4Network
    black_loopback: ipaddress.IPv4Address
    red_loopback: ipaddress.IPv4Address

    @model_validator(mode="after")
    def _link(self) -> BlackNode:
        for addr in (self.black_link, self.black_loopback, self.red_loopback):
            _documentation(addr)
        if self.black_link.prefixlen != 30:
            raise ValueError(f"black_link {self.black_link} must be a /30")
        return self

    @property
    def underlay_address(self) -> ipaddress.IPv4Interface:
        """The underlay router's end of the black link (first host)."""
        return ipaddress.IPv4Interface(f"{self.black_link[1]}/30")

    @property
    def link_address(self) -> ipaddress.IPv4Interface:
        """This node's end of the black link (second host)."""
        return ipaddress.IPv4Interface(f"{self.black_link[2]}/30")


class Rr(BlackNode):
    pass


class Cpe(BlackNode):
    behind_nat: bool = False
    # A black BGP session (IPv4 unicast) with the underlay router, as with an SP
    # (draft section 2: never VPN routes there). Tests use it to inject spoofs.
    black_bgp: bool = False
    sites: list[Site] = Field(min_length=1)


class SaPolicy(_Strict):
    per_tenant: bool = False  # one SA pair per C-PE pair (default) or per tenant too
    # CHILD_SA rekey after this many packets (soft lifetime; None: time-based only).
    rekey_packets: int | None = Field(default=None, ge=1)
    # CHILD_SA rekey after this many seconds (the daemon's default when None); the
    # hard lifetime is set 10 s later.
    rekey_seconds: int | None = Field(default=None, ge=30)
    # How the red BGP sessions are protected (ike.control_sa.mode in the daemons'
    # configurations): transport (draft 3.2 RECOMMENDED) or tunnel.
    control: Literal["transport", "tunnel"] = "transport"


class Underlay(_Strict):
    name: str = Field(default="inet", pattern=NAME)
    asn: int = Field(alias="as", default=64500, ge=1, le=0xFFFFFFFF)  # the SP's AS


class Topology(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,15}$")
    asn: int = Field(alias="as", default=65000, ge=1, le=0xFFFFFFFF)
    underlay: Underlay = Field(default_factory=Underlay)
    tenants: list[Tenant] = Field(min_length=1)
    rrs: list[Rr] = Field(default_factory=list, max_length=2)
    cpes: list[Cpe] = Field(min_length=2)
    sa: SaPolicy = Field(default_factory=SaPolicy)
    # Red BGP hold time in the generated daemon configurations (RFC 4271 4.2): how
    # long a C-PE keeps routes from an RR that died without a word.
    bgp_hold_time: int = Field(default=90, ge=3, le=0xFFFF)
    # IKE authentication: one random PSK per lab, or certificates from a lab CA made at
    # `lab up` (controller/lab/labpki.py); C-PEs are then named <name>.cpe.example.
    ike_auth: Literal["psk", "certificates"] = "psk"
    # Draft 3.2: the RRs are told about no C-PE; they admit any C-PE the lab CA
    # vouches for (bgp.auto_discovery). Needs certificates.
    discovery: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Topology:
        if self.discovery and (self.ike_auth != "certificates" or not self.rrs):
            raise ValueError("discovery: needs ike_auth: certificates and at least one RR")
        names = [self.underlay.name, *(n.name for n in self.rrs), *(c.name for c in self.cpes)]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"node names must be unique: {', '.join(dupes)}")
        tenants = {t.name for t in self.tenants}
        if len(tenants) != len(self.tenants) or len({t.id for t in self.tenants}) != len(tenants):
            raise ValueError("tenant names and ids must be unique")
        addrs: list[object] = []
        for node in (*self.rrs, *self.cpes):
            addrs += [node.black_loopback, node.red_loopback, node.black_link]
        for i, cpe in enumerate(self.cpes):
            for j, site in enumerate(cpe.sites):
                if site.tenant not in tenants:
                    raise ValueError(f"cpes[{i}].sites[{j}].tenant: unknown tenant {site.tenant!r}")
            if len({s.tenant for s in cpe.sites}) != len(cpe.sites):
                raise ValueError(f"cpes[{i}] ({cpe.name}): one site per tenant")
        if len({str(a) for a in addrs}) != len(addrs):
            raise ValueError("black links and loopbacks must be distinct across nodes")
        return self

    def tenant(self, name: str) -> Tenant:
        return next(t for t in self.tenants if t.name == name)


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for key in loc:
        if isinstance(key, int):
            out += f"[{key}]"
        elif "[" in str(key) or "," in str(key):
            continue  # pydantic's union/validator tags, not fields
        else:
            out += f".{key}" if out else str(key)
    return out or "(top level)"


def parse_topology(text: str, source: str = "<topology>") -> Topology:
    """Validate topology YAML; raise TopologyError with one line per problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise TopologyError(f"{where}: YAML syntax: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise TopologyError(f"{source}: expected a mapping (name, tenants, cpes, ...)")
    try:
        return Topology.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False, include_input=False):
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field (check the spelling)"
            lines.append(f"{source}: {_field(tuple(err['loc']))}: {msg}")
        raise TopologyError("\n".join(lines)) from None


def load_topology(path: str | Path) -> Topology:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TopologyError(f"{path}: cannot read: {getattr(exc, 'strerror', exc)}") from None
    return parse_topology(text, str(path))
