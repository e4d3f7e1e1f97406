"""Next hops in MP_REACH_NLRI (RFC 4760 3, RFC 2545 3, RFC 4364 4.3.2, RFC 4659 3.2.1).

The Network Address of Next Hop field's length picks the form::

    4   IPv4                       (IPv4 unicast)
    16  IPv6 global                (IPv6 unicast; RFC 8950 for IPv4)
    32  IPv6 global + link-local   (RFC 2545 3)
    12  RD(8, zero) + IPv4         (VPN-IPv4, RFC 4364 4.3.2)
    24  RD(8, zero) + IPv6         (VPN-IPv6, RFC 4659 3.2.1)
    48  RD + IPv6 global + RD + IPv6 link-local

For VPN families the RD forms are required, for the others forbidden. The
RD is sent as zero; a non-zero RD on receipt is ignored, as common speakers do.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from controller.bgp.wire.constants import SAFI_MPLS_VPN, Family
from controller.bgp.wire.errors import BgpError
from controller.bgp.wire.nlri.prefix import IPAddress

_RD0 = bytes(8)


@dataclass(frozen=True, slots=True)
class NextHop:
    """A next hop address, with the optional IPv6 link-local second address."""

    address: IPAddress
    link_local: ipaddress.IPv6Address | None = None

    @classmethod
    def of(cls, text: str, link_local: str | None = None) -> NextHop:
        ll = ipaddress.IPv6Address(link_local) if link_local else None
        return cls(ipaddress.ip_address(text), ll)

    def __str__(self) -> str:
        return f"{self.address}" + (f" ({self.link_local})" if self.link_local else "")

    def encode(self, family: Family) -> bytes:
        rd = _RD0 if family.safi == SAFI_MPLS_VPN else b""
        out = rd + self.address.packed
        if self.link_local is not None:
            if self.address.version != 6:
                raise ValueError("a link-local next hop needs an IPv6 global next hop")
            out += rd + self.link_local.packed
        return out

    @classmethod
    def decode(cls, data: bytes, family: Family, error: Callable[[str], BgpError]) -> NextHop:
        n = len(data)
        if family.safi == SAFI_MPLS_VPN:
            if n == 12:
                return cls(ipaddress.IPv4Address(data[8:12]))
            if n == 24:
                return cls(ipaddress.IPv6Address(data[8:24]))
            if n == 48:
                return cls(ipaddress.IPv6Address(data[8:24]), ipaddress.IPv6Address(data[32:48]))
            raise error(f"{family} next hop of {n} octets (expected 12, 24 or 48)")
        if n == 4:
            return cls(ipaddress.IPv4Address(data))
        if n == 16:
            return cls(ipaddress.IPv6Address(data))
        if n == 32:
            return cls(ipaddress.IPv6Address(data[:16]), ipaddress.IPv6Address(data[16:]))
        raise error(f"{family} next hop of {n} octets (expected 4, 16 or 32)")
