"""Recursive resolution of VPN-IP routes, with the draft's spoof check (section 4).

A VPN-IP route's next hop is a remote C-PE's red loopback. It resolves through
that C-PE's red loopback route, and the IPsec tunnel endpoint comes from the
Tunnel Encapsulation attribute of that route (its Tunnel Egress Endpoint), not
from its next-hop field. If the longest match for the next hop is a route
learned on a black session, that route is a spoof: the VPN route must not be
used (draft section 4, "IMPORTANT").

Lookup runs over red and black unicast routes together; at equal prefix length
a red route wins, so a black copy of an existing red loopback route is ignored
rather than reported, while a black route that would be the one carrying the
traffic is caught.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from controller.bgp.path import (
    IPV4_UNICAST,
    IPV6_UNICAST,
    IPAddress,
    Nlri,
    Path,
)
from controller.bgp.rib import Rib


class Verdict(enum.Enum):
    RESOLVED = "resolved"
    UNRESOLVED = "unresolved"  # no route to the next hop at all
    NO_TUNNEL = "no-tunnel"  # red route found, but without an MPLS-in-IPsec tunnel
    SPOOF = "spoof"  # the next hop resolves through a black-session route
    # The VPN-IP route itself carries no MPLS-in-IPsec Tunnel Encapsulation (draft 2).
    NO_ENCAP = "no-encap"


@dataclass(frozen=True, slots=True)
class Resolution:
    """How one VPN route resolves: what the data plane needs, or why it must not be used."""

    verdict: Verdict
    next_hop: IPAddress | None
    via: str = ""  # the resolving route, for show output
    via_peer: IPAddress | None = None
    tunnel_type: int | None = None
    tunnel_endpoint: IPAddress | None = None
    security_handle: bytes | None = None

    @property
    def usable(self) -> bool:
        return self.verdict is Verdict.RESOLVED


def resolution_address(nh: IPAddress) -> IPAddress:
    """The address a next hop resolves as.

    VPN-IPv6 routes from an IPv4 red loopback carry ::ffff:a.b.c.d (RFC 4659
    3.2.1.2); they resolve through the IPv4 red loopback route.
    """
    if isinstance(nh, ipaddress.IPv6Address) and nh.ipv4_mapped is not None:
        return nh.ipv4_mapped
    return nh


def _candidates(nh: IPAddress) -> Iterator[Nlri]:
    family = IPV4_UNICAST if nh.version == 4 else IPV6_UNICAST
    for plen in range(nh.max_prefixlen, -1, -1):
        net = ipaddress.ip_network((nh, plen), strict=False)
        yield Nlri(family, net)


class Resolver:
    """Resolve next hops against the red and black Loc-RIBs."""

    def __init__(self, red: Rib, black: Rib, mpls_in_ipsec_type: int) -> None:
        self.red = red
        self.black = black
        self.tunnel_type = mpls_in_ipsec_type

    def lookup(self, nh: IPAddress) -> tuple[Path | None, bool]:
        """Longest match for ``nh``: (path, learned_on_black)."""
        for nlri in _candidates(nh):
            red = self.red.best(nlri)
            if red is not None:
                return red, False
            black = self.black.best(nlri)
            if black is not None:
                return black, True
        return None, False

    def resolve(self, path: Path) -> Resolution:
        nh = path.attrs.next_hop
        if nh is None:
            return Resolution(Verdict.UNRESOLVED, None)
        nh = resolution_address(nh)
        via, black = self.lookup(nh)
        if via is None:
            return Resolution(Verdict.UNRESOLVED, nh)
        where = f"{via.nlri.prefix} from {via.source.peer or 'local'}"
        if black:
            return Resolution(Verdict.SPOOF, nh, where, via.source.peer)
        for tun in via.attrs.tunnels:
            if tun.tunnel_type == self.tunnel_type and tun.endpoint is not None:
                return Resolution(
                    Verdict.RESOLVED,
                    nh,
                    where,
                    via.source.peer,
                    tun.tunnel_type,
                    tun.endpoint,
                    tun.security_handle,
                )
        return Resolution(Verdict.NO_TUNNEL, nh, where, via.source.peer)
