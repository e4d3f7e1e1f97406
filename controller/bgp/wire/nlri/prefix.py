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
    out: list[IPNetwork] = []
    n, i = len(data), 0
    while i < n:  # index arithmetic: this runs once per route of a full table
        plen = data[i]
        if plen > width:
            raise error(f"prefix length {plen} exceeds {width}")
        nbytes = (plen + 7) // 8
        if i + 1 + nbytes > n:
            raise error(f"/{plen} prefix needs {nbytes} octets, {n - i - 1} left")
        out.append(network_from_bits(data[i + 1 : i + 1 + nbytes], plen, width))
        i += 1 + nbytes
    return tuple(out)
