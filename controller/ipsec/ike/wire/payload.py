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
    # a plain class attribute in front of the base's property: encoding reads it per payload
    setattr(cls, "payload_type", cls.TYPE)  # noqa: B010
    return cls


def registered(type_code: int) -> type[Payload] | None:
    return _REGISTRY.get(type_code)


def encode_chain(
    payloads: Iterable[Payload], last_next: int = PayloadType.NONE
) -> tuple[int, bytes]:
    """Encode payloads; returns (type of the first, bytes). ``last_next`` chains on."""
    items = payloads if isinstance(payloads, list) else list(payloads)
    if not items:
        return last_next, b""
    parts = []
    pack = _GENERIC.pack
    last = len(items) - 1
    for i, p in enumerate(items):
        body = p.encode_body()
        nxt = items[i + 1].payload_type if i < last else last_next
        parts.append(pack(nxt, 0x80 if p.critical else 0, GENERIC_LEN + len(body)))
        parts.append(body)
    return items[0].payload_type, b"".join(parts)


RawPayload = tuple[int, bool, bytes]  # type code, critical bit, body: before decoding


def split_chain(first: int, data: bytes, start: int = 0) -> list[RawPayload]:
    """Split the chain starting at ``data[start]``; stops after an SK/SKF payload (its
    body holds the rest). Offsets in errors count from the start of ``data``."""
    raws: list[RawPayload] = []
    nxt, pos, size = first, start, len(data)
    unpack = _GENERIC.unpack_from
    while nxt != _NONE:
        if size - pos < GENERIC_LEN:
            raise syntax(f"payload {nxt} header truncated at offset {pos}")
        n2, flags, length = unpack(data, pos)
        if length < GENERIC_LEN or pos + length > size:
            raise syntax(f"payload {nxt} at offset {pos} has bad length {length}")
        raws.append((nxt, flags >= 0x80, data[pos + GENERIC_LEN : pos + length]))
        pos += length
        if nxt in _ENCRYPTED:
            break
        nxt = n2
    if pos != size:
        raise syntax(f"{size - pos} octets after the last payload")
    return raws


def decode_raws(raws: list[RawPayload]) -> list[Payload]:
    """Each payload's body by its registered class; unknown ones are kept as they came."""
    out: list[Payload] = []
    registry = _REGISTRY
    for type_code, critical, body in raws:
        cls = registry.get(type_code)
        if cls is None:
            out.append(_unknown(type_code, critical, body))
            continue
        try:
            out.append(cls.decode_body(body))
        except IkeError:
            raise
        except (ValueError, IndexError, struct.error) as exc:
            raise syntax(f"payload {PayloadType(type_code).name}: {exc}") from None
    return out


def _unknown(type_code: int, critical: bool, body: bytes) -> UnknownPayload:
    if critical:
        raise IkeError(
            Notify.UNSUPPORTED_CRITICAL_PAYLOAD,
            f"unknown critical payload type {type_code}",
            bytes([type_code]),
        )
    return UnknownPayload(type_code, body)


def decode_chain(first: int, data: bytes) -> list[Payload]:
    return decode_raws(split_chain(first, data))


def need(body: bytes, n: int, what: str) -> None:
    """Raise INVALID_SYNTAX unless ``body`` has at least ``n`` octets."""
    if len(body) < n:
        raise syntax(f"{what} truncated ({len(body)} < {n} octets)")


def need_at(data: bytes, pos: int, n: int, what: str) -> None:
    """need(data[pos:], n, what) without copying the rest of data."""
    if len(data) - pos < n:
        raise syntax(f"{what} truncated ({max(len(data) - pos, 0)} < {n} octets)")
