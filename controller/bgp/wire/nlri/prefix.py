"""IPv4/IPv6 prefixes as carried in NLRI fields (RFC 4271 4.3, RFC 4760 5)::

    +---------------------------+
    |   Length (1 octet, bits)  |
    +---------------------------+
    |   Prefix (variable)       |   ceil(Length / 8) octets
    +---------------------------+

Trailing bits past the prefix length are ignored on receipt (RFC 4271 4.3)
and sent as zero.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from controller.bgp.wire.errors import BgpError
from controller.bgp.wire.reader import Reader

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ZERO_IPV4 = ipaddress.IPv4Address(0)


def network_from_bits(addr_bytes: bytes, plen: int, width: int) -> IPNetwork:
    """Build the network from a truncated address, masking bits past ``plen``."""
    full = int.from_bytes(addr_bytes, "big") << (width - 8 * len(addr_bytes))
    full &= ((1 << width) - 1) ^ ((1 << (width - plen)) - 1)
    if width == 32:
        return ipaddress.IPv4Network((full, plen))
    return ipaddress.IPv6Network((full, plen))


def encode_prefix(net: IPNetwork) -> bytes:
    plen = net.prefixlen
    return bytes([plen]) + net.network_address.packed[: (plen + 7) // 8]


def decode_prefixes(
    data: bytes, width: int, error: Callable[[str], BgpError]
) -> tuple[IPNetwork, ...]:
    """Decode a run of prefixes of ``width`` bits (32 or 128); ``error`` builds the failure."""
    r = Reader(data, error)
    out: list[IPNetwork] = []
    while r.remaining:
        plen = r.u8("prefix length")
        if plen > width:
            raise error(f"prefix length {plen} exceeds {width}")
        out.append(network_from_bits(r.take((plen + 7) // 8, f"/{plen} prefix"), plen, width))
    return tuple(out)
