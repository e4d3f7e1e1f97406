"""AS_PATH (2) and AS4_PATH (17): RFC 4271 4.3 / 5.1.2, RFC 5065 3, RFC 6793 3-4.

The value is a run of segments::

    +----------------+----------------+--------------------------------+
    | Segment type(1)| Count of ASes  | ASes (2 or 4 octets each)      |
    +----------------+----------------+--------------------------------+
    type 1 AS_SET, 2 AS_SEQUENCE, 3 AS_CONFED_SEQUENCE, 4 AS_CONFED_SET

AS_PATH carries 4-octet ASes between speakers that both advertised the
4-octet AS capability, 2-octet ones otherwise (ASes above 65535 then become
AS_TRANS, and the real path rides in AS4_PATH, always 4-octet). A malformed
AS_PATH is treat-as-withdraw (RFC 7606 7.2), a malformed AS4_PATH is
attribute-discard (RFC 6793 6). Segments longer than 255 ASes are split.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Self

from controller.bgp.wire.attributes.base import (
    OPTIONAL_TRANSITIVE,
    WELL_KNOWN,
    PathAttribute,
    register_attribute,
)
from controller.bgp.wire.constants import AS_TRANS, UpdateSubcode
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.errors import ErrorAction


class SegmentType(enum.IntEnum):
    AS_SET = 1
    AS_SEQUENCE = 2
    AS_CONFED_SEQUENCE = 3
    AS_CONFED_SET = 4


@dataclass(frozen=True, slots=True)
class AsSegment:
    """One path segment: its type and ASes."""

    type: int
    asns: tuple[int, ...]

    def __str__(self) -> str:
        inner = " ".join(str(a) for a in self.asns)
        brackets: dict[int, str] = {
            SegmentType.AS_SET: f"{{{inner}}}",
            SegmentType.AS_CONFED_SEQUENCE: f"({inner})",
            SegmentType.AS_CONFED_SET: f"[{inner}]",
        }
        return brackets.get(self.type, inner)


def _encode_segments(segments: tuple[AsSegment, ...], width: int) -> bytes:
    out = bytearray()
    for seg in segments:
        asns = seg.asns
        for start in range(0, max(len(asns), 1), 255):
            chunk = asns[start : start + 255]
            out += bytes([seg.type, len(chunk)])
            for asn in chunk:
                if width == 2 and asn > 0xFFFF:
                    asn = AS_TRANS
                out += asn.to_bytes(width, "big")
    return bytes(out)


def _decode_segments(cls: type[PathAttribute], value: bytes, width: int) -> tuple[AsSegment, ...]:
    segments: list[AsSegment] = []
    i = 0
    while i < len(value):
        if i + 2 > len(value):
            raise cls.malformed("truncated segment header", UpdateSubcode.MALFORMED_AS_PATH)
        stype, count = value[i], value[i + 1]
        if stype not in SegmentType.__members__.values():
            raise cls.malformed(f"segment type {stype}", UpdateSubcode.MALFORMED_AS_PATH)
        if count == 0:
            raise cls.malformed("empty segment", UpdateSubcode.MALFORMED_AS_PATH)
        end = i + 2 + count * width
        if end > len(value):
            raise cls.malformed(
                f"segment of {count} ASes overruns the attribute", UpdateSubcode.MALFORMED_AS_PATH
            )
        asns = tuple(int.from_bytes(value[j : j + width], "big") for j in range(i + 2, end, width))
        segments.append(AsSegment(stype, asns))
        i = end
    return tuple(segments)


@dataclass(frozen=True, slots=True)
class _PathBase(PathAttribute):
    segments: tuple[AsSegment, ...] = ()

    @classmethod
    def sequence(cls, *asns: int) -> Self:
        """A path of one AS_SEQUENCE (empty path for no ASes)."""
        return cls((AsSegment(SegmentType.AS_SEQUENCE, asns),) if asns else ())

    @property
    def path_length(self) -> int:
        """Length for the decision process: a set counts 1, confed segments 0 (RFC 5065 5.3)."""
        n = 0
        for s in self.segments:
            if s.type == SegmentType.AS_SEQUENCE:
                n += len(s.asns)
            elif s.type == SegmentType.AS_SET:
                n += 1
        return n

    @property
    def asns(self) -> tuple[int, ...]:
        return tuple(a for s in self.segments for a in s.asns)

    def __str__(self) -> str:
        return " ".join(str(s) for s in self.segments)


@register_attribute
@dataclass(frozen=True, slots=True)
class AsPath(_PathBase):
    """AS_PATH: 4-octet ASes when the session negotiated them, else 2-octet."""

    TYPE_CODE: ClassVar[int] = 2
    NAME: ClassVar[str] = "AS_PATH"
    FLAGS: ClassVar[int] = WELL_KNOWN

    def encode_value(self, ctx: CodecContext) -> bytes:
        return _encode_segments(self.segments, 4 if ctx.four_octet_as else 2)

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        return cls(_decode_segments(cls, value, 4 if ctx.four_octet_as else 2))

    def prepend(self, asn: int) -> AsPath:
        """The path with ``asn`` in front (RFC 4271 5.1.2 rules for a new AS_SEQUENCE)."""
        first = self.segments[0] if self.segments else None
        if first and first.type == SegmentType.AS_SEQUENCE and len(first.asns) < 255:
            head = AsSegment(SegmentType.AS_SEQUENCE, (asn, *first.asns))
            return AsPath((head, *self.segments[1:]))
        return AsPath((AsSegment(SegmentType.AS_SEQUENCE, (asn,)), *self.segments))


@register_attribute
@dataclass(frozen=True, slots=True)
class As4Path(_PathBase):
    """AS4_PATH: the 4-octet path sent alongside a 2-octet AS_PATH (RFC 6793 3)."""

    TYPE_CODE: ClassVar[int] = 17
    NAME: ClassVar[str] = "AS4_PATH"
    FLAGS: ClassVar[int] = OPTIONAL_TRANSITIVE
    MALFORMED: ClassVar[ErrorAction] = ErrorAction.ATTRIBUTE_DISCARD

    def encode_value(self, ctx: CodecContext) -> bytes:
        return _encode_segments(self.segments, 4)

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        return cls(_decode_segments(cls, value, 4))


def reconstruct_as_path(as_path: AsPath, as4_path: As4Path | None) -> AsPath:
    """The real path from a 2-octet session's AS_PATH and AS4_PATH (RFC 6793 4.2.3).

    If AS4_PATH is longer than AS_PATH it is ignored; otherwise the leading
    ASes of AS_PATH that AS4_PATH lacks (a set counts 1, confederation
    segments 0) are put in front of AS4_PATH. The caller ignores AS4_PATH when
    AGGREGATOR carries an AS other than AS_TRANS (same section).
    """
    if as4_path is None or as4_path.path_length > as_path.path_length:
        return as_path
    keep = as_path.path_length - as4_path.path_length
    head: list[AsSegment] = []
    for seg in as_path.segments:
        if keep == 0:
            break
        if seg.type in (SegmentType.AS_CONFED_SEQUENCE, SegmentType.AS_CONFED_SET):
            head.append(seg)
        elif seg.type == SegmentType.AS_SET:
            head.append(seg)
            keep -= 1
        else:
            head.append(AsSegment(seg.type, seg.asns[:keep]))
            keep -= min(keep, len(seg.asns))
    segments = [*head, *as4_path.segments]
    # Join a kept AS_SEQUENCE with AS4_PATH's leading one, as the sender had them.
    merged: list[AsSegment] = []
    for seg in segments:
        prev = merged[-1] if merged else None
        if prev and prev.type == seg.type == SegmentType.AS_SEQUENCE:
            merged[-1] = AsSegment(seg.type, prev.asns + seg.asns)
        else:
            merged.append(seg)
    return AsPath(tuple(merged))
