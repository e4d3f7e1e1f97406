"""EXTENDED_COMMUNITIES (16): RFC 4360, route targets per RFC 4360 4 and RFC 5668.

Each community is 8 octets::

    +-----------+-----------+---------------------------------------+
    | Type (1)  | Subtype(1)| Value (6)                             |
    +-----------+-----------+---------------------------------------+

Route Target is subtype 0x02 under the transitive types 0x00 (AS(2):n(4)),
0x01 (IPv4(4):n(2)) and 0x02 (AS(4):n(2), RFC 5668); Route Origin is
subtype 0x03. Everything else is kept as its 8 octets. A length that is not a
multiple of 8 is treat-as-withdraw (RFC 7606 7.14).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from controller.bgp.wire.attributes.base import (
    OPTIONAL_TRANSITIVE,
    PathAttribute,
    register_attribute,
)
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.nlri.rd import RouteDistinguisher

SUBTYPE_ROUTE_TARGET = 0x02
SUBTYPE_ROUTE_ORIGIN = 0x03
_TWO_PART_TYPES = (0x00, 0x01, 0x02)  # same value layouts as RD types 0, 1, 2


@dataclass(frozen=True, slots=True, order=True)
class ExtCommunity:
    """One extended community; build route targets with :meth:`route_target`."""

    type: int
    subtype: int
    value: bytes

    def __post_init__(self) -> None:
        if len(self.value) != 6:
            raise ValueError(f"extended community value of {len(self.value)} octets")

    @classmethod
    def route_target(cls, text: str) -> ExtCommunity:
        """From "65000:1", "192.0.2.1:5" or "4200000000:7"; ValueError names the text."""
        try:
            rd = RouteDistinguisher.parse(text)
        except ValueError:
            raise ValueError(f"bad route target {text!r}") from None
        return cls(rd.type, SUBTYPE_ROUTE_TARGET, rd.value)

    @property
    def is_route_target(self) -> bool:
        return self.type in _TWO_PART_TYPES and self.subtype == SUBTYPE_ROUTE_TARGET

    @property
    def transitive(self) -> bool:
        return not self.type & 0x40

    def encode(self) -> bytes:
        return bytes([self.type, self.subtype]) + self.value

    def __str__(self) -> str:
        if self.type in _TWO_PART_TYPES:
            body = str(RouteDistinguisher(self.type, self.value))
            if self.subtype == SUBTYPE_ROUTE_TARGET:
                return f"rt {body}"
            if self.subtype == SUBTYPE_ROUTE_ORIGIN:
                return f"soo {body}"
        return f"0x{self.encode().hex()}"


@register_attribute
@dataclass(frozen=True, slots=True)
class ExtendedCommunities(PathAttribute):
    """EXTENDED_COMMUNITIES: route targets and other 8-octet communities, in received order."""

    TYPE_CODE: ClassVar[int] = 16
    NAME: ClassVar[str] = "EXTENDED_COMMUNITIES"
    FLAGS: ClassVar[int] = OPTIONAL_TRANSITIVE
    communities: tuple[ExtCommunity, ...] = ()

    @property
    def route_targets(self) -> tuple[ExtCommunity, ...]:
        return tuple(c for c in self.communities if c.is_route_target)

    def __str__(self) -> str:
        return " ".join(str(c) for c in self.communities)

    def encode_value(self, ctx: CodecContext) -> bytes:
        return b"".join(c.encode() for c in self.communities)

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        if not value or len(value) % 8:
            raise cls.malformed(f"length {len(value)} is not a positive multiple of 8")
        return cls(
            tuple(
                ExtCommunity(value[i], value[i + 1], value[i + 2 : i + 8])
                for i in range(0, len(value), 8)
            )
        )
