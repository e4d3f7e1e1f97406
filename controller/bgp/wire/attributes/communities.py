"""COMMUNITIES (8, RFC 1997) and LARGE_COMMUNITY (32, RFC 8092).

::

    COMMUNITIES: n x 4 octets      LARGE_COMMUNITY: n x 12 octets
    +--------+--------+            +------------------+----------+----------+
    | AS (2) | val (2)|            | Global Admin (4) | Local (4)| Local (4)|
    +--------+--------+            +------------------+----------+----------+

Both optional transitive; a length that is not a multiple of the entry size
is treat-as-withdraw (RFC 7606 7.8, RFC 8092 6).
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

NO_EXPORT = 0xFFFFFF01
NO_ADVERTISE = 0xFFFFFF02
NO_EXPORT_SUBCONFED = 0xFFFFFF03
_WELL_KNOWN_NAMES = {
    NO_EXPORT: "no-export",
    NO_ADVERTISE: "no-advertise",
    NO_EXPORT_SUBCONFED: "no-export-subconfed",
}


def community_str(value: int) -> str:
    return _WELL_KNOWN_NAMES.get(value, f"{value >> 16}:{value & 0xFFFF}")


@register_attribute
@dataclass(frozen=True, slots=True)
class Communities(PathAttribute):
    """COMMUNITIES: 32-bit values, conventionally written AS:value."""

    TYPE_CODE: ClassVar[int] = 8
    NAME: ClassVar[str] = "COMMUNITIES"
    FLAGS: ClassVar[int] = OPTIONAL_TRANSITIVE
    communities: tuple[int, ...] = ()

    @classmethod
    def parse(cls, *texts: str) -> Communities:
        """From "AS:value" texts or the well-known names; ValueError names the bad text."""
        names = {v: k for k, v in _WELL_KNOWN_NAMES.items()}
        out = []
        for t in texts:
            if t in names:
                out.append(names[t])
                continue
            hi, sep, lo = t.partition(":")
            if not (sep and hi.isdigit() and lo.isdigit()):
                raise ValueError(f"bad community {t!r}: expected AS:value")
            if int(hi) > 0xFFFF or int(lo) > 0xFFFF:
                raise ValueError(f"bad community {t!r}: both parts must be 0-65535")
            out.append((int(hi) << 16) | int(lo))
        return cls(tuple(out))

    def __str__(self) -> str:
        return " ".join(community_str(c) for c in self.communities)

    def encode_value(self, ctx: CodecContext) -> bytes:
        return b"".join(c.to_bytes(4, "big") for c in self.communities)

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        if not value or len(value) % 4:
            raise cls.malformed(f"length {len(value)} is not a positive multiple of 4")
        return cls(tuple(int.from_bytes(value[i : i + 4], "big") for i in range(0, len(value), 4)))


@dataclass(frozen=True, slots=True, order=True)
class LargeCommunityValue:
    """One large community: global administrator and two local data parts."""

    global_admin: int
    local1: int
    local2: int

    def __str__(self) -> str:
        return f"{self.global_admin}:{self.local1}:{self.local2}"


@register_attribute
@dataclass(frozen=True, slots=True)
class LargeCommunities(PathAttribute):
    """LARGE_COMMUNITY: 12-octet communities for 4-octet AS operators."""

    TYPE_CODE: ClassVar[int] = 32
    NAME: ClassVar[str] = "LARGE_COMMUNITY"
    FLAGS: ClassVar[int] = OPTIONAL_TRANSITIVE
    communities: tuple[LargeCommunityValue, ...] = ()

    def __str__(self) -> str:
        return " ".join(str(c) for c in self.communities)

    def encode_value(self, ctx: CodecContext) -> bytes:
        out = bytearray()
        for c in self.communities:
            out += c.global_admin.to_bytes(4, "big") + c.local1.to_bytes(4, "big")
            out += c.local2.to_bytes(4, "big")
        return bytes(out)

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        if not value or len(value) % 12:
            raise cls.malformed(f"length {len(value)} is not a positive multiple of 12")
        return cls(
            tuple(
                LargeCommunityValue(
                    int.from_bytes(value[i : i + 4], "big"),
                    int.from_bytes(value[i + 4 : i + 8], "big"),
                    int.from_bytes(value[i + 8 : i + 12], "big"),
                )
                for i in range(0, len(value), 12)
            )
        )
