"""The fixed-size attributes of RFC 4271 section 5.1 (ORIGIN, NEXT_HOP, MED,
LOCAL_PREF, ATOMIC_AGGREGATE), each with its RFC 7606 section 7 handling.

::

    ORIGIN (1)            well-known   1 octet: 0 IGP, 1 EGP, 2 INCOMPLETE
    NEXT_HOP (3)          well-known   4 octets: IPv4 address
    MULTI_EXIT_DISC (4)   optional     4 octets: unsigned metric
    LOCAL_PREF (5)        well-known   4 octets: unsigned preference
    ATOMIC_AGGREGATE (6)  well-known   0 octets
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from typing import ClassVar, Self

from controller.bgp.wire.attributes.base import (
    OPTIONAL,
    WELL_KNOWN,
    PathAttribute,
    register_attribute,
)
from controller.bgp.wire.constants import UpdateSubcode
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.errors import ErrorAction
from controller.bgp.wire.nlri.prefix import ZERO_IPV4


class OriginCode(enum.IntEnum):
    IGP = 0
    EGP = 1
    INCOMPLETE = 2


def _u32(cls: type[PathAttribute], value: bytes) -> int:
    if len(value) != 4:
        raise cls.malformed(f"length {len(value)}, expected 4")
    return int.from_bytes(value, "big")


@register_attribute
@dataclass(frozen=True, slots=True)
class Origin(PathAttribute):
    """ORIGIN (RFC 4271 5.1.1); malformed or undefined value: treat-as-withdraw (RFC 7606 7.1)."""

    TYPE_CODE: ClassVar[int] = 1
    NAME: ClassVar[str] = "ORIGIN"
    FLAGS: ClassVar[int] = WELL_KNOWN
    origin: int = OriginCode.IGP

    def encode_value(self, ctx: CodecContext) -> bytes:
        return bytes([self.origin])

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        if len(value) != 1:
            raise cls.malformed(f"length {len(value)}, expected 1")
        if value[0] > OriginCode.INCOMPLETE:
            raise cls.malformed(f"undefined origin {value[0]}", UpdateSubcode.INVALID_ORIGIN)
        return cls(value[0])  # a plain int keeps repr() evaluable for the golden vectors


@register_attribute
@dataclass(frozen=True, slots=True)
class NextHopAttr(PathAttribute):
    """NEXT_HOP (RFC 4271 5.1.3); wrong length: treat-as-withdraw (RFC 7606 7.3).

    Semantic checks (martians, the peer's own address) belong to validation.
    """

    TYPE_CODE: ClassVar[int] = 3
    NAME: ClassVar[str] = "NEXT_HOP"
    FLAGS: ClassVar[int] = WELL_KNOWN
    address: ipaddress.IPv4Address = ZERO_IPV4

    def encode_value(self, ctx: CodecContext) -> bytes:
        return self.address.packed

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        if len(value) != 4:
            raise cls.malformed(f"length {len(value)}, expected 4")
        return cls(ipaddress.IPv4Address(value))


@register_attribute
@dataclass(frozen=True, slots=True)
class Med(PathAttribute):
    """MULTI_EXIT_DISC (RFC 4271 5.1.4); wrong length: treat-as-withdraw (RFC 7606 7.4)."""

    TYPE_CODE: ClassVar[int] = 4
    NAME: ClassVar[str] = "MULTI_EXIT_DISC"
    FLAGS: ClassVar[int] = OPTIONAL
    med: int = 0

    def encode_value(self, ctx: CodecContext) -> bytes:
        return self.med.to_bytes(4, "big")

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        return cls(_u32(cls, value))


@register_attribute
@dataclass(frozen=True, slots=True)
class LocalPref(PathAttribute):
    """LOCAL_PREF (RFC 4271 5.1.5); wrong length: treat-as-withdraw (RFC 7606 7.5).

    Received on an EBGP session it must be discarded (RFC 7606 7.5): the session's job.
    """

    TYPE_CODE: ClassVar[int] = 5
    NAME: ClassVar[str] = "LOCAL_PREF"
    FLAGS: ClassVar[int] = WELL_KNOWN
    local_pref: int = 100

    def encode_value(self, ctx: CodecContext) -> bytes:
        return self.local_pref.to_bytes(4, "big")

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        return cls(_u32(cls, value))


@register_attribute
@dataclass(frozen=True, slots=True)
class AtomicAggregate(PathAttribute):
    """ATOMIC_AGGREGATE (RFC 4271 5.1.6); non-zero length: attribute-discard (RFC 7606 7.6)."""

    TYPE_CODE: ClassVar[int] = 6
    NAME: ClassVar[str] = "ATOMIC_AGGREGATE"
    FLAGS: ClassVar[int] = WELL_KNOWN
    MALFORMED: ClassVar[ErrorAction] = ErrorAction.ATTRIBUTE_DISCARD

    def encode_value(self, ctx: CodecContext) -> bytes:
        return b""

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        if value:
            raise cls.malformed(f"length {len(value)}, expected 0")
        return cls()
