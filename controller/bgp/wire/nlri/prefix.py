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
from itertools import islice
from typing import Any

from controller.bgp.wire.errors import BgpError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ZERO_IPV4 = ipaddress.IPv4Address(0)


def _network_slow(full: int, plen: int, width: int) -> IPNetwork:
    if width == 32:
        return ipaddress.IPv4Network((full, plen))
    return ipaddress.IPv6Network((full, plen))


def _network_fast(full: int, plen: int, width: int) -> IPNetwork:
    """The same network as ``_network_slow`` for an already masked ``full``, 4-5x cheaper.

    ``ipaddress`` re-parses and re-validates its input on every construction; a
    decoded prefix is valid by construction, so the objects are assembled from
    the parts that constructor would store (its netmask table is cached).
    """
    kind, addr_kind = _KINDS[width]
    addr: Any = object.__new__(addr_kind)
    addr._ip = full
    if width == 128:
        addr._scope_id = None
    net: Any = object.__new__(kind)
    net.network_address = addr
    net.netmask, net._prefixlen = kind._make_netmask(plen)
    if plen == width - 1:
        net.hosts = net.__iter__
    elif plen == width:
        net.hosts = lambda: [addr]
    return net


class _HashOnce:
    """A network that computes its hash once (mixed into the ipaddress classes below).

    A decoded prefix is a dict or set key a dozen times on its way from the UPDATE
    to the switch (RIB, VRF import, composer, desired state), and ``ipaddress``
    computes the hash in Python every time: a tenth of the CPU of a full table.
    Equal to, hashed and printed like the plain network it stands for.
    """

    _plain = ""  # the ipaddress class it stands for, as repr() names it

    def __hash__(self) -> int:
        try:
            return self._hash
        except AttributeError:
            self._hash: int = super().__hash__()
            return self._hash

    def __repr__(self) -> str:
        return f"{self._plain}({str(self)!r})"


class _Network4(_HashOnce, ipaddress.IPv4Network):
    _plain = "IPv4Network"


class _Network6(_HashOnce, ipaddress.IPv6Network):
    _plain = "IPv6Network"


_KINDS: dict[int, tuple[Any, type]] = {
    32: (_Network4, ipaddress.IPv4Address),
    128: (_Network6, ipaddress.IPv6Address),
}


def _fast_is_faithful() -> bool:
    """The shortcut relies on ipaddress internals: use it only if it builds equal objects."""
    try:
        for width, full, plen in (
            (32, 0x0A010200, 24),
            (32, 0x0A010203, 32),
            (128, 1 << 127, 1),
            (128, 1, 128),
        ):
            a, b = _network_fast(full, plen, width), _network_slow(full, plen, width)
            same = (a, str(a), repr(a), hash(a), a.netmask, a.broadcast_address,
                    list(islice(a.hosts(), 2)))  # fmt: skip
            if same != (
                b,
                str(b),
                repr(b),
                hash(b),
                b.netmask,
                b.broadcast_address,
                list(islice(b.hosts(), 2)),
            ):
                return False
    except Exception:  # any difference in the internals: fall back
        return False
    return True


_FAITHFUL = _fast_is_faithful()
_network = _network_fast if _FAITHFUL else _network_slow


def network_of(full: int, plen: int, width: int) -> IPNetwork:
    """The network of an already masked address ``full``, ``plen`` bits, ``width`` 32 or 128."""
    return _network(full, plen, width)


def network_parts(net: IPNetwork) -> tuple[int, int, int]:
    """(address as an int, prefix length, width): what ``network_of`` takes back."""
    if _FAITHFUL:  # the attributes the fast constructor sets, read without property calls
        return net.network_address._ip, net._prefixlen, net._max_prefixlen  # type: ignore[union-attr]
    return int(net.network_address), net.prefixlen, net.max_prefixlen


def address_from_bits(addr_bytes: bytes, plen: int, width: int) -> int:
    """The address of a truncated prefix field as an int, bits past ``plen`` cleared."""
    full = int.from_bytes(addr_bytes, "big") << (width - 8 * len(addr_bytes))
    return full & (((1 << width) - 1) ^ ((1 << (width - plen)) - 1))


def network_from_bits(addr_bytes: bytes, plen: int, width: int) -> IPNetwork:
    """Build the network from a truncated address, masking bits past ``plen``."""
    return _network(address_from_bits(addr_bytes, plen, width), plen, width)


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
