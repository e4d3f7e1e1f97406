"""The routes the interop tests send: a VPN route and a red loopback route (draft 3.2, 3.3)."""

from __future__ import annotations

import ipaddress

from controller.bgp.wire import (
    VPNV4,
    VPNV6,
    CodecContext,
    NextHop,
    RouteDistinguisher,
    Update,
    VpnPrefix,
    label_stack,
)
from controller.bgp.wire.attributes import (
    AsPath,
    ExtCommunity,
    ExtendedCommunities,
    LocalPref,
    MpReachNlri,
    NextHopAttr,
    Origin,
    TunnelEncapsulation,
)

CTX = CodecContext()
BLACK_LOOPBACK = ipaddress.IPv4Address("198.51.100.7")
SECURITY_HANDLE = b"\x00\x00\x10\x01"  # e.g. an SPI (draft section 6)
RD = RouteDistinguisher.parse("65000:1")
RT = ExtCommunity.route_target("65000:1")


def tunnel_attribute() -> TunnelEncapsulation:
    """MPLS-in-IPsec tunnel to the black loopback, Security Handle in sub-TLV 126."""
    return TunnelEncapsulation.mpls_in_ipsec(BLACK_LOOPBACK, SECURITY_HANDLE, CTX)


def red_loopback_update(red_loopback: str, next_hop: str) -> Update:
    """Host route of the red loopback, next hop the speaker, with the tunnel attribute."""
    return Update(
        attributes=(
            Origin(0),
            AsPath(),
            NextHopAttr(ipaddress.IPv4Address(next_hop)),
            LocalPref(100),
            tunnel_attribute(),
        ),
        nlri=(ipaddress.IPv4Network(f"{red_loopback}/32"),),
    )


def vpn_update(prefix: str, next_hop: str, label: int = 100, *, with_tunnel: bool = True) -> Update:
    """A labeled VPN-IPv4 or VPN-IPv6 route with a route target (MP_REACH_NLRI first)."""
    net = ipaddress.ip_network(prefix)
    family = VPNV4 if net.version == 4 else VPNV6
    route = VpnPrefix(RD, net, label_stack(label))
    attrs = [
        MpReachNlri(family.afi, family.safi, NextHop.of(next_hop), (route,)),
        Origin(0),
        AsPath(),
        LocalPref(100),
        ExtendedCommunities((RT,)),
    ]
    if with_tunnel:
        attrs.append(tunnel_attribute())
    return Update(attributes=tuple(attrs))


def raw_attribute(raw_update: bytes, type_code: int) -> bytes | None:
    """The on-the-wire bytes (flags, type, length, value) of one attribute of an UPDATE."""
    body = raw_update[19:]
    wlen = int.from_bytes(body[:2], "big")
    alen = int.from_bytes(body[2 + wlen : 4 + wlen], "big")
    attrs = body[4 + wlen : 4 + wlen + alen]
    i = 0
    while i < len(attrs):
        flags, code = attrs[i], attrs[i + 1]
        hlen = 4 if flags & 0x10 else 3
        vlen = int.from_bytes(attrs[i + 2 : i + hlen], "big")
        if code == type_code:
            return attrs[i : i + hlen + vlen]
        i += hlen + vlen
    return None
