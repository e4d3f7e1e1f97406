"""The abstract route model the RIBs, the decision process and the policy work on.

The wire layer (``controller.bgp.wire``) turns UPDATE messages into these
objects and back (see ``controller.bgp.convert``); nothing above it sees bytes,
except attributes the core does not interpret, which ride along as opaque wire
objects in ``Attrs.extra`` so that they are re-emitted unchanged (RFC 4271 5:
unknown optional transitive attributes are passed on, with the Partial bit).
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass, field, replace

from controller.bgp.wire.attributes.ext_communities import ExtCommunity
from controller.bgp.wire.constants import IPV4_UNICAST, IPV6_UNICAST, RTC, VPNV4, VPNV6, Family
from controller.bgp.wire.nlri.prefix import network_of, network_parts
from controller.bgp.wire.nlri.rd import RouteDistinguisher

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


FAMILY_NAMES = {
    IPV4_UNICAST: "ipv4-unicast",
    IPV6_UNICAST: "ipv6-unicast",
    VPNV4: "vpnv4",
    VPNV6: "vpnv6",
    RTC: "rtc",
}
FAMILIES_BY_NAME = {name: fam for fam, name in FAMILY_NAMES.items()}

# Draft section 2: "a VPN-IP route is a route whose AFI is 1 or 2 and whose
# SAFI is 128, 129, or 5".
VPN_SAFIS = frozenset({128, 129, 5})


def is_vpn_family(family: Family) -> bool:
    """True for the VPN-IP AFI/SAFIs that must never touch a black session."""
    return family.afi in (1, 2) and family.safi in VPN_SAFIS


class Origin(enum.IntEnum):
    """ORIGIN values (RFC 4271 4.3); lower is preferred."""

    IGP = 0
    EGP = 1
    INCOMPLETE = 2


ZERO_ID = ipaddress.IPv4Address(0)
AS_SET = 1
AS_SEQUENCE = 2


class Color(enum.Enum):
    """Which side of the draft's red/black split a session or route belongs to."""

    RED = "red"
    BLACK = "black"


class Nlri:
    """A destination: the RIB key; ``rd`` is set for the VPN families.

    Hand-written rather than a dataclass, and compact: a table holds one per
    route. The prefix is kept as one int (address, length, width) rather than
    an ``ipaddress`` network (~240 octets with its address object and instance
    dict); ``prefix`` builds the network on first use and keeps it. The hash is
    computed once, from ints (``ipaddress`` hashes in Python).
    """

    __slots__ = ("_hash", "_key", "_net", "family", "rd")

    def __init__(
        self, family: Family, prefix: IPNetwork, rd: RouteDistinguisher | None = None
    ) -> None:
        self._set(family, *network_parts(prefix), rd)

    @classmethod
    def of_parts(
        cls, family: Family, full: int, plen: int, width: int, rd: RouteDistinguisher | None
    ) -> Nlri:
        """From a prefix as ints (address masked to ``plen`` bits, width 32 or 128)."""
        self = object.__new__(cls)
        self._set(family, full, plen, width, rd)
        return self

    def _set(
        self, family: Family, full: int, plen: int, width: int, rd: RouteDistinguisher | None
    ) -> None:
        self.family = family
        self.rd = rd
        # (address << 8 | length) << 1 | IPv6: one int holds the whole prefix
        self._key = (full << 8 | plen) << 1 | (width == 128)
        self._net: IPNetwork | None = None
        self._hash = hash((family, self._key, rd))

    @property
    def prefix(self) -> IPNetwork:
        net = self._net
        if net is None:
            key = self._key
            net = self._net = network_of(key >> 9, (key >> 1) & 0xFF, 128 if key & 1 else 32)
        return net

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Nlri):
            return NotImplemented
        return (
            self._hash == other._hash
            and self._key == other._key
            and self.rd == other.rd
            and self.family == other.family
        )

    def __repr__(self) -> str:
        return f"Nlri({self.family}, {self.prefix}, {self.rd})"

    def __str__(self) -> str:
        if self.family == RTC:  # RT membership (RFC 4684), kept as a prefix: see rtc.py
            plen = self.prefix.prefixlen
            if plen == 0:
                return "rt-membership default"
            v = int(self.prefix.network_address) >> 32
            rt = (v & ((1 << 64) - 1)).to_bytes(8, "big")
            if plen == 96:
                return f"rt-membership {v >> 64} {ExtCommunity(rt[0], rt[1], rt[2:])}"
            return f"rt-membership {v >> 64} {rt.hex()}/{plen}"
        if self.rd is None:
            return str(self.prefix)
        return f"{self.rd}:{self.prefix}"


@dataclass(frozen=True, slots=True)
class Tunnel:
    """What the core needs from one tunnel TLV of a Tunnel Encapsulation attribute (RFC 9012).

    ``wire`` keeps the decoded attribute as received so that reflection sends it
    back byte for byte; the semantic fields are what resolution uses.
    """

    tunnel_type: int
    endpoint: IPAddress | None
    security_handle: bytes | None = None


@dataclass(frozen=True, slots=True)
class Attrs:
    """Path attributes the core interprets (RFC 4271 5, RFC 4456 8, RFC 4360, RFC 9012)."""

    origin: Origin = Origin.IGP
    as_path: tuple[tuple[int, tuple[int, ...]], ...] = ()
    next_hop: IPAddress | None = None
    med: int | None = None
    local_pref: int | None = None
    communities: tuple[int, ...] = ()
    ext_communities: tuple[ExtCommunity, ...] = ()
    originator_id: ipaddress.IPv4Address | None = None
    cluster_list: tuple[ipaddress.IPv4Address, ...] = ()
    tunnels: tuple[Tunnel, ...] = ()
    # The decoded Tunnel Encapsulation attribute as received (opaque to the core).
    tunnel_wire: object | None = None
    # Attributes the core does not interpret, as decoded wire objects.
    extra: tuple[object, ...] = ()

    def as_path_length(self) -> int:
        """RFC 4271 9.1.2.2 a): an AS_SET counts as one, a sequence by its members."""
        return sum(1 if kind == AS_SET else len(asns) for kind, asns in self.as_path)

    def neighbor_as(self) -> int | None:
        """The first AS of the path, the one MED comparison groups by (RFC 4271 9.1.2.2 c)."""
        for kind, asns in self.as_path:
            if kind == AS_SEQUENCE and asns:
                return asns[0]
        return None

    def contains_as(self, asn: int) -> bool:
        return any(asn in asns for _, asns in self.as_path)

    def route_targets(self) -> tuple[ExtCommunity, ...]:
        """Route Target extended communities (RFC 4360 4)."""
        return tuple(ec for ec in self.ext_communities if ec.is_route_target)

    def with_(self, **changes: object) -> Attrs:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Source:
    """Where a path came from: a peer, or this speaker (``peer is None``)."""

    color: Color
    peer: IPAddress | None = None
    peer_as: int = 0
    router_id: ipaddress.IPv4Address = ZERO_ID
    ebgp: bool = False
    rr_client: bool = False

    @property
    def local(self) -> bool:
        return self.peer is None


@dataclass(slots=True)
class Path:
    """One candidate route for an NLRI."""

    nlri: Nlri
    attrs: Attrs
    source: Source
    labels: tuple[int, ...] = ()
    stale: bool = False
    # Set by the RIB's next-hop resolver before the decision process runs.
    igp_cost: int | None = field(default=0)

    def __str__(self) -> str:
        src = "local" if self.source.peer is None else str(self.source.peer)
        return f"{self.nlri} via {self.attrs.next_hop} from {src}"
