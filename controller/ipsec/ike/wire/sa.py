"""Security Association payload, RFC 7296 section 3.3.

SA payload body = one or more Proposal substructures:

                     1                   2                   3
 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
| Last Substruc |   RESERVED    |         Proposal Length       |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
| Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
~                        SPI (variable)                         ~
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
~                        <Transforms>                           ~

Transform substructure (3.3.2), attributes (3.3.5, TV form when AF=1):

| Last Substruc |   RESERVED    |        Transform Length       |
|Transform Type |   RESERVED    |          Transform ID         |
~                      Transform Attributes                     ~
|A|       Attribute Type        |    AF=0  Attribute Length     |
|                               |    AF=1  Attribute Value      |
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass, field
from typing import NamedTuple

from controller.ipsec.ike.wire.consts import ATTR_KEY_LENGTH, PayloadType
from controller.ipsec.ike.wire.errors import syntax
from controller.ipsec.ike.wire.payload import Payload, need, need_at, register


class Transform(NamedTuple):
    """One transform; a tuple, so memo lookups keyed by transforms hash and compare in C."""

    type: int
    id: int
    key_length: int | None = None  # bits; the Key Length attribute (TV, type 14)
    other_attrs: tuple[tuple[int, bytes], ...] = ()  # unknown attributes, preserved

    def encode(self, last: bool) -> bytes:
        attrs = bytearray()
        if self.key_length is not None:
            attrs += struct.pack("!HH", 0x8000 | ATTR_KEY_LENGTH, self.key_length)
        for atype, value in self.other_attrs:
            if atype & 0x8000:
                attrs += struct.pack("!H", atype) + value
            else:
                attrs += struct.pack("!HH", atype, len(value)) + value
        head = struct.pack("!BBHBBH", 0 if last else 3, 0, 8 + len(attrs), self.type, 0, self.id)
        return head + bytes(attrs)

    @classmethod
    def decode(cls, data: bytes) -> Transform:
        _, _, _, ttype, _, tid = struct.unpack_from("!BBHBBH", data)
        key_length: int | None = None
        others: list[tuple[int, bytes]] = []
        pos = 8
        while pos < len(data):
            need_at(data, pos, 4, "transform attribute")
            atype, val = struct.unpack_from("!HH", data, pos)
            if atype & 0x8000:
                if atype & 0x7FFF == ATTR_KEY_LENGTH:
                    key_length = val
                else:
                    others.append((atype, data[pos + 2 : pos + 4]))
                pos += 4
            else:
                need_at(data, pos + 4, val, "transform attribute value")
                others.append((atype, data[pos + 4 : pos + 4 + val]))
                pos += 4 + val
        return cls(ttype, tid, key_length, tuple(others))


@dataclass
class Proposal:
    num: int
    protocol: int
    spi: bytes
    transforms: list[Transform] = field(default_factory=list)

    def of_type(self, ttype: int) -> list[Transform]:
        return [t for t in self.transforms if t.type == ttype]

    def first(self, ttype: int) -> Transform | None:
        """The first transform of this type, or None."""
        for t in self.transforms:
            if t.type == ttype:
                return t
        return None

    def encode(self, last: bool) -> bytes:
        body = _encode_transforms(tuple(self.transforms))
        length = 8 + len(self.spi) + len(body)
        head = struct.pack(
            "!BBHBBBB",
            0 if last else 2,
            0,
            length,
            self.num,
            self.protocol,
            len(self.spi),
            len(self.transforms),
        )
        return head + self.spi + body

    @classmethod
    def decode(cls, data: bytes) -> Proposal:
        need(data, 8, "proposal")
        _, _, _, num, proto, spi_size, ntrans = struct.unpack_from("!BBHBBBB", data)
        need(data, 8 + spi_size, "proposal SPI")
        spi = data[8 : 8 + spi_size]
        body = data[8 + spi_size :]
        decode = _decode_transforms if len(body) <= _MEMO_MAX_LEN else _decode_transforms_once
        transforms, used = decode(body, num)
        if used != len(body) or len(transforms) != ntrans:
            raise syntax(f"proposal {num}: {ntrans} transforms announced, {len(transforms)} found")
        return cls(num, proto, spi, list(transforms))


def _decode_transforms_once(data: bytes, num: int) -> tuple[tuple[Transform, ...], int]:
    """The transforms at the start of ``data`` and the octets they took."""
    pieces, used = _substructures(data, 8, f"transform in proposal {num}")
    return tuple(Transform.decode(p) for p in pieces), used


def _substructures(data: bytes, header: int, what: str) -> tuple[list[bytes], int]:
    """Proposals or transforms (3.3.1, 3.3.2: Last Substruc, RESERVED, Length first),
    up to the one marked last: their bytes and the octets they took."""
    pos = 0
    out: list[bytes] = []
    while pos < len(data):
        need_at(data, pos, header, what)
        last, _, length = struct.unpack_from("!BBH", data, pos)
        if length < 8 or pos + length > len(data):
            raise syntax(f"{what}: length {length}")
        out.append(data[pos : pos + length])
        pos += length
        if last == 0:
            break
    return out, pos


# Every IKE_SA_INIT and CHILD_SA offers and answers the same few proposals: their
# transforms are decoded and encoded once (Transform is frozen; a Proposal gets a list
# of its own). Bounded, and only for small bodies, as the bytes come from any peer.
_MEMO_MAX_LEN = 512
_decode_transforms = functools.lru_cache(maxsize=256)(_decode_transforms_once)


@functools.lru_cache(maxsize=256)
def _encode_transforms(transforms: tuple[Transform, ...]) -> bytes:
    last = len(transforms) - 1
    return b"".join(t.encode(i == last) for i, t in enumerate(transforms))


@register
@dataclass
class SaPayload(Payload):
    TYPE = PayloadType.SA
    proposals: list[Proposal]

    def encode_body(self) -> bytes:
        n = len(self.proposals)
        return b"".join(p.encode(i == n - 1) for i, p in enumerate(self.proposals))

    @classmethod
    def decode_body(cls, body: bytes) -> SaPayload:
        pieces, pos = _substructures(body, 4, "proposal")
        proposals = [Proposal.decode(p) for p in pieces]
        if pos != len(body) or not proposals:
            raise syntax("SA payload: no proposals or trailing octets")
        return cls(proposals)
