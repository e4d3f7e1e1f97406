"""MP_REACH_NLRI (14) and MP_UNREACH_NLRI (15), RFC 4760 sections 3 and 4.

::

    MP_REACH_NLRI                          MP_UNREACH_NLRI
    +-------------------------------+      +-------------------------------+
    | AFI (2) | SAFI (1)            |      | AFI (2) | SAFI (1)            |
    +-------------------------------+      +-------------------------------+
    | Next Hop Length (1)           |      | Withdrawn Routes (variable)   |
    +-------------------------------+      +-------------------------------+
    | Next Hop (variable)           |
    +-------------------------------+
    | Reserved (1)                  |
    +-------------------------------+
    | NLRI (variable)               |
    +-------------------------------+

NLRI of IPv4/IPv6 unicast and multicast decode to ``ipaddress`` networks, of
VPN-IPv4/VPN-IPv6 (SAFI 128) to :class:`VpnPrefix`, of RT membership (AFI 1,
SAFI 132, RFC 4684) to :class:`RtMembership`; other families keep next
hop and NLRI as raw bytes. Any malformation is an RFC 7606 7.11/5.3 error
handled by session reset (we do not implement AFI/SAFI disable).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Self

from controller.bgp.wire.attributes.base import OPTIONAL, PathAttribute, register_attribute
from controller.bgp.wire.constants import (
    AFI_IPV4,
    AFI_IPV6,
    SAFI_MPLS_VPN,
    SAFI_MULTICAST,
    SAFI_RT_CONSTRAIN,
    SAFI_UNICAST,
    Family,
    UpdateSubcode,
    family_of,
)
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.errors import BgpError, ErrorAction
from controller.bgp.wire.nlri.nexthop import NextHop
from controller.bgp.wire.nlri.prefix import IPNetwork, decode_prefixes, encode_prefix
from controller.bgp.wire.nlri.rtc import RtMembership, decode_rt_memberships
from controller.bgp.wire.nlri.vpn import VpnPrefix, decode_vpn_prefixes
from controller.bgp.wire.reader import Reader

Nlri = IPNetwork | VpnPrefix | RtMembership
_WIDTH = {AFI_IPV4: 32, AFI_IPV6: 128}


def is_known_family(family: Family) -> bool:
    if family.safi == SAFI_RT_CONSTRAIN:
        return family.afi == AFI_IPV4
    return family.afi in _WIDTH and family.safi in (SAFI_UNICAST, SAFI_MULTICAST, SAFI_MPLS_VPN)


def encode_nlri(family: Family, nlri: tuple[Nlri, ...]) -> bytes:
    out = bytearray()
    for n in nlri:
        if isinstance(n, RtMembership) or family.safi == SAFI_RT_CONSTRAIN:
            if not isinstance(n, RtMembership) or family.safi != SAFI_RT_CONSTRAIN:
                raise ValueError(f"{n} in a {family} attribute")
            out += n.encode()
        elif isinstance(n, VpnPrefix):
            if family.safi != SAFI_MPLS_VPN:
                raise ValueError(f"VPN prefix {n} in a {family} attribute")
            out += n.encode()
        else:
            if family.safi == SAFI_MPLS_VPN or n.version != (4 if family.afi == AFI_IPV4 else 6):
                raise ValueError(f"prefix {n} in a {family} attribute")
            out += encode_prefix(n)
    return bytes(out)


def decode_nlri(family: Family, data: bytes, error: Callable[[str], BgpError]) -> tuple[Nlri, ...]:
    if family.safi == SAFI_RT_CONSTRAIN:
        return decode_rt_memberships(data, error)
    width = _WIDTH[family.afi]
    if family.safi == SAFI_MPLS_VPN:
        return decode_vpn_prefixes(data, width, error)
    return decode_prefixes(data, width, error)


def _nlri_error(cls: type[PathAttribute], family: Family) -> Callable[[str], BgpError]:
    return lambda why: cls.malformed(f"{family} NLRI: {why}", UpdateSubcode.INVALID_NETWORK_FIELD)


@register_attribute
@dataclass(frozen=True, slots=True)
class MpReachNlri(PathAttribute):
    """Reachable routes of one AFI/SAFI with their next hop."""

    TYPE_CODE: ClassVar[int] = 14
    NAME: ClassVar[str] = "MP_REACH_NLRI"
    FLAGS: ClassVar[int] = OPTIONAL
    MALFORMED: ClassVar[ErrorAction] = ErrorAction.SESSION_RESET
    afi: int = AFI_IPV4
    safi: int = SAFI_UNICAST
    next_hop: NextHop | None = None
    nlri: tuple[Nlri, ...] = ()
    reserved: int = 0
    raw_next_hop: bytes = b""  # only for families we do not decode
    raw_nlri: bytes = b""

    @property
    def family(self) -> Family:
        return family_of(self.afi, self.safi)

    def encode_value(self, ctx: CodecContext) -> bytes:
        fam = self.family
        if is_known_family(fam):
            if self.next_hop is None:
                raise ValueError(f"MP_REACH_NLRI for {fam} needs a next hop")
            nh = self.next_hop.encode(fam)
            body = encode_nlri(fam, self.nlri)
        else:
            nh, body = self.raw_next_hop, self.raw_nlri
        return (
            self.afi.to_bytes(2, "big")
            + bytes([self.safi, len(nh)])
            + nh
            + bytes([self.reserved])
            + body
        )

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        r = Reader(value, lambda why: cls.malformed(why, UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR))
        afi = r.u16("AFI")
        safi = r.u8("SAFI")
        nh_raw = r.take(r.u8("next hop length"), "next hop")
        reserved = r.u8("reserved")
        rest = r.rest()
        fam = family_of(afi, safi)
        if not is_known_family(fam):
            return cls(afi, safi, reserved=reserved, raw_next_hop=nh_raw, raw_nlri=rest)
        nh = NextHop.decode(
            nh_raw, fam, lambda why: cls.malformed(why, UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR)
        )
        nlri = decode_nlri(fam, rest, _nlri_error(cls, fam))
        return cls(afi, safi, nh, nlri, reserved)


@register_attribute
@dataclass(frozen=True, slots=True)
class MpUnreachNlri(PathAttribute):
    """Withdrawn routes of one AFI/SAFI; with none it is an End-of-RIB (RFC 4724 2)."""

    TYPE_CODE: ClassVar[int] = 15
    NAME: ClassVar[str] = "MP_UNREACH_NLRI"
    FLAGS: ClassVar[int] = OPTIONAL
    MALFORMED: ClassVar[ErrorAction] = ErrorAction.SESSION_RESET
    afi: int = AFI_IPV4
    safi: int = SAFI_UNICAST
    nlri: tuple[Nlri, ...] = ()
    raw_nlri: bytes = b""

    @property
    def family(self) -> Family:
        return family_of(self.afi, self.safi)

    def encode_value(self, ctx: CodecContext) -> bytes:
        fam = self.family
        body = encode_nlri(fam, self.nlri) if is_known_family(fam) else self.raw_nlri
        return self.afi.to_bytes(2, "big") + bytes([self.safi]) + body

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        if len(value) < 3:
            raise cls.malformed(f"{len(value)} octets", UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR)
        fam = Family(int.from_bytes(value[:2], "big"), value[2])
        if not is_known_family(fam):
            return cls(fam.afi, fam.safi, raw_nlri=value[3:])
        return cls(fam.afi, fam.safi, decode_nlri(fam, value[3:], _nlri_error(cls, fam)))
