"""Generic payload header, the payload registry and payload chains (RFC 7296 3.2).

                         1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    | Next Payload  |C|  RESERVED   |         Payload Length        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Every payload class declares its ``TYPE``, builds itself from meaning, and has
symmetric ``encode_body``/``decode_body``. Unknown payloads are kept as
:class:`UnknownPayload` (so they survive a round trip); an unknown payload with
the critical bit set is refused with UNSUPPORTED_CRITICAL_PAYLOAD.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from controller.ipsec.ike.wire.consts import Notify, PayloadType
from controller.ipsec.ike.wire.errors import IkeError, syntax

GENERIC_LEN = 4
_GENERIC = struct.Struct("!BBH")
_NONE = int(PayloadType.NONE)
_ENCRYPTED = frozenset((int(PayloadType.SK), int(PayloadType.SKF)))


class Payload:
    """Base class; subclasses are dataclasses registered with :func:`register`."""

    TYPE: ClassVar[int]
    critical: bool = False

    def encode_body(self) -> bytes:
        raise NotImplementedError

    @classmethod
    def decode_body(cls, body: bytes) -> Payload:
        raise NotImplementedError

    @property
    def payload_type(self) -> int:
        return self.TYPE


@dataclass
class UnknownPayload(Payload):
    """A payload type we do not implement, preserved byte for byte."""

    type_code: int
    body: bytes
    critical: bool = False

    @property
    def payload_type(self) -> int:
        return self.type_code

    def encode_body(self) -> bytes:
        return self.body


_REGISTRY: dict[int, type[Payload]] = {}
P = TypeVar("P", bound=type[Payload])


def register(cls: P) -> P:
    _REGISTRY[cls.TYPE] = cls
    return cls


def registered(type_code: int) -> type[Payload] | None:
    return _REGISTRY.get(type_code)


def encode_chain(
    payloads: Iterable[Payload], last_next: int = PayloadType.NONE
) -> tuple[int, bytes]:
    """Encode payloads; returns (type of the first, bytes). ``last_next`` chains on."""
    items = list(payloads)
    types = [p.payload_type for p in items]
    types.append(last_next)
    parts = []
    pack = _GENERIC.pack
    for i, p in enumerate(items):
        body = p.encode_body()
        parts.append(pack(types[i + 1], 0x80 if p.critical else 0, GENERIC_LEN + len(body)))
        parts.append(body)
    return types[0], b"".join(parts)


@dataclass(slots=True)
class RawPayload:
    """One payload as found on the wire, before its body is interpreted."""

    type_code: int
    critical: bool
    next_payload: int
    body: bytes
    offset: int  # of the generic header, within the buffer walked


def walk_chain(first: int, data: bytes, base: int = 0) -> list[RawPayload]:
    """Split a chain; stops after an SK/SKF payload (its body holds the rest)."""
    raws: list[RawPayload] = []
    nxt, pos, size = first, 0, len(data)
    unpack = _GENERIC.unpack_from
    while nxt != _NONE:
        if size - pos < GENERIC_LEN:
            raise syntax(f"payload {nxt} header truncated at offset {base + pos}")
        n2, flags, length = unpack(data, pos)
        if length < GENERIC_LEN or pos + length > size:
            raise syntax(f"payload {nxt} at offset {base + pos} has bad length {length}")
        raws.append(
            RawPayload(
                nxt, bool(flags & 0x80), n2, data[pos + GENERIC_LEN : pos + length], base + pos
            )
        )
        pos += length
        if nxt in _ENCRYPTED:
            break
        nxt = n2
    if pos != size:
        raise syntax(f"{len(data) - pos} octets after the last payload")
    return raws


def decode_raw(raw: RawPayload) -> Payload:
    cls = _REGISTRY.get(raw.type_code)
    if cls is None:
        if raw.critical:
            raise IkeError(
                Notify.UNSUPPORTED_CRITICAL_PAYLOAD,
                f"unknown critical payload type {raw.type_code}",
                bytes([raw.type_code]),
            )
        return UnknownPayload(raw.type_code, raw.body)
    try:
        return cls.decode_body(raw.body)
    except IkeError:
        raise
    except (ValueError, IndexError, struct.error) as exc:
        raise syntax(f"payload {PayloadType(raw.type_code).name}: {exc}") from None


def decode_chain(first: int, data: bytes) -> list[Payload]:
    return [decode_raw(r) for r in walk_chain(first, data)]


def need(body: bytes, n: int, what: str) -> None:
    """Raise INVALID_SYNTAX unless ``body`` has at least ``n`` octets."""
    if len(body) < n:
        raise syntax(f"{what} truncated ({len(body)} < {n} octets)")


def need_at(data: bytes, pos: int, n: int, what: str) -> None:
    """need(data[pos:], n, what) without copying the rest of data."""
    if len(data) - pos < n:
        raise syntax(f"{what} truncated ({max(len(data) - pos, 0)} < {n} octets)")
