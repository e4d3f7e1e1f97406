"""NLRI codecs: plain prefixes, route distinguishers, label stacks, VPN prefixes, next hops."""

from controller.bgp.wire.nlri.labels import Label, label_stack
from controller.bgp.wire.nlri.nexthop import NextHop
from controller.bgp.wire.nlri.prefix import IPAddress, IPNetwork, decode_prefixes, encode_prefix
from controller.bgp.wire.nlri.rd import RouteDistinguisher
from controller.bgp.wire.nlri.vpn import VpnPrefix, decode_vpn_prefixes

__all__ = [
    "IPAddress",
    "IPNetwork",
    "Label",
    "NextHop",
    "RouteDistinguisher",
    "VpnPrefix",
    "decode_prefixes",
    "decode_vpn_prefixes",
    "encode_prefix",
    "label_stack",
]
