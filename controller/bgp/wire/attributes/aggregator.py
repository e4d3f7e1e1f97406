"""AGGREGATOR (7) and AS4_AGGREGATOR (18): RFC 4271 5.1.7, RFC 6793 3.

::

    +---------------------------------+-----------------------+
    | AS (2 octets, or 4 between      | IPv4 address of the   |
    |  4-octet speakers; 4 in AS4_)   | aggregating speaker   |
    +---------------------------------+-----------------------+

Malformed: attribute-discard (RFC 7606 7.7, RFC 6793 6).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import ClassVar, Self

from controller.bgp.wire.attributes.base import (
    OPTIONAL_TRANSITIVE,
    PathAttribute,
    register_attribute,
)
from controller.bgp.wire.constants import AS_TRANS
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.errors import ErrorAction
from controller.bgp.wire.nlri.prefix import ZERO_IPV4


@dataclass(frozen=True, slots=True)
class _AggregatorBase(PathAttribute):
    MALFORMED: ClassVar[ErrorAction] = ErrorAction.ATTRIBUTE_DISCARD
    FLAGS: ClassVar[int] = OPTIONAL_TRANSITIVE
    asn: int = 0
    address: ipaddress.IPv4Address = ZERO_IPV4

    @classmethod
    def _decode(cls, value: bytes, width: int) -> Self:
        if len(value) != width + 4:
            raise cls.malformed(f"length {len(value)}, expected {width + 4}")
        return cls(int.from_bytes(value[:width], "big"), ipaddress.IPv4Address(value[width:]))


@register_attribute
@dataclass(frozen=True, slots=True)
class Aggregator(_AggregatorBase):
    """AGGREGATOR: the AS and router that formed an aggregate."""

    TYPE_CODE: ClassVar[int] = 7
    NAME: ClassVar[str] = "AGGREGATOR"

    def encode_value(self, ctx: CodecContext) -> bytes:
        if ctx.four_octet_as:
            return self.asn.to_bytes(4, "big") + self.address.packed
        asn = self.asn if self.asn <= 0xFFFF else AS_TRANS
        return asn.to_bytes(2, "big") + self.address.packed

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        return cls._decode(value, 4 if ctx.four_octet_as else 2)


@register_attribute
@dataclass(frozen=True, slots=True)
class As4Aggregator(_AggregatorBase):
    """AS4_AGGREGATOR: the 4-octet aggregator AS next to a 2-octet AGGREGATOR."""

    TYPE_CODE: ClassVar[int] = 18
    NAME: ClassVar[str] = "AS4_AGGREGATOR"

    def encode_value(self, ctx: CodecContext) -> bytes:
        return self.asn.to_bytes(4, "big") + self.address.packed

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        return cls._decode(value, 4)
