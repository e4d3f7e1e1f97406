"""BGP message framing (RFC 4271 section 4.1) and the message-type registry.

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                                                               |
    +                                                               +
    |                           Marker (16 x 0xFF)                  |
    +                                                               +
    |                                                               |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |          Length               |      Type     |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Length counts the header and is at most 4096, or 65535 once both sides
advertised the Extended Message capability (RFC 8654 section 3); OPEN and
KEEPALIVE stay within 4096 regardless (RFC 8654 section 4).
"""

from __future__ import annotations

from typing import ClassVar, Self, TypeVar

from controller.bgp.wire.constants import (
    HEADER_LEN,
    MARKER,
    MAX_MESSAGE_LEN,
    ErrorCode,
    HeaderSubcode,
    MessageType,
)
from controller.bgp.wire.context import DEFAULT_CONTEXT, CodecContext
from controller.bgp.wire.errors import BgpError

# Smallest legal length per type (RFC 4271 6.1); ROUTE-REFRESH length is checked
# by its own decoder because RFC 7313 5 gives it its own error code.
_MIN_LEN = {
    MessageType.OPEN: 29,
    MessageType.UPDATE: 23,
    MessageType.NOTIFICATION: 21,
    MessageType.KEEPALIVE: 19,
    MessageType.ROUTE_REFRESH: 19,
}
_EXACT_LEN = {MessageType.KEEPALIVE: 19}


class MessageTooLong(ValueError):
    """An encoded message would exceed the negotiated size: the sender must split it."""


class BgpMessage:
    """Base class: subclasses set ``TYPE`` and implement the body codec."""

    TYPE: ClassVar[MessageType]

    def encode_body(self, ctx: CodecContext) -> bytes:
        raise NotImplementedError

    @classmethod
    def decode_body(cls, body: bytes, ctx: CodecContext) -> Self:
        raise NotImplementedError

    def encode(self, ctx: CodecContext = DEFAULT_CONTEXT) -> bytes:
        """The whole message, header included."""
        body = self.encode_body(ctx)
        length = HEADER_LEN + len(body)
        limit = ctx.max_message_len
        if self.TYPE in (MessageType.OPEN, MessageType.KEEPALIVE):
            limit = MAX_MESSAGE_LEN
        if length > limit:
            raise MessageTooLong(f"{self.TYPE.name} of {length} octets exceeds {limit}")
        return MARKER + length.to_bytes(2, "big") + bytes([self.TYPE]) + body


_M = TypeVar("_M", bound=type[BgpMessage])
_REGISTRY: dict[int, type[BgpMessage]] = {}


def register_message(cls: _M) -> _M:
    """Class decorator: make ``decode_message`` dispatch this type code to ``cls``."""
    _REGISTRY[cls.TYPE] = cls
    return cls


def _header_error(subcode: HeaderSubcode, reason: str, data: bytes) -> BgpError:
    return BgpError(ErrorCode.MESSAGE_HEADER, subcode, reason, where="message header", data=data)


def decode_header(header: bytes, ctx: CodecContext = DEFAULT_CONTEXT) -> tuple[int, int]:
    """Check a 19-octet header; return (length, type). Errors per RFC 4271 6.1."""
    if len(header) < HEADER_LEN:
        raise _header_error(
            HeaderSubcode.BAD_MESSAGE_LENGTH, f"header of {len(header)} octets", b""
        )
    if header[:16] != MARKER:
        raise _header_error(
            HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED, "marker is not all ones", b""
        )
    length = int.from_bytes(header[16:18], "big")
    mtype = header[18]
    if mtype not in _REGISTRY:
        raise _header_error(HeaderSubcode.BAD_MESSAGE_TYPE, f"unknown type {mtype}", bytes([mtype]))
    limit = ctx.max_message_len
    if mtype in (MessageType.OPEN, MessageType.KEEPALIVE):
        limit = MAX_MESSAGE_LEN
    t = MessageType(mtype)
    if length < _MIN_LEN[t] or length > limit or (t in _EXACT_LEN and length != _EXACT_LEN[t]):
        raise _header_error(
            HeaderSubcode.BAD_MESSAGE_LENGTH,
            f"{t.name} length {length} out of range",
            header[16:18],
        )
    return length, mtype


def decode_message(data: bytes, ctx: CodecContext = DEFAULT_CONTEXT) -> BgpMessage:
    """Decode one complete message (header + body, nothing after it)."""
    length, mtype = decode_header(data, ctx)
    if length != len(data):
        raise _header_error(
            HeaderSubcode.BAD_MESSAGE_LENGTH,
            f"length field {length} but {len(data)} octets given",
            data[16:18],
        )
    return _REGISTRY[mtype].decode_body(data[HEADER_LEN:], ctx)


class FrameReader:
    """Sans-I/O splitter of a TCP byte stream into whole messages.

    ``feed()`` the bytes as they arrive, then call ``next_frame()`` until it
    returns None. Frames come back undecoded so the caller decodes each with
    the context in force at that point of the session (the OPEN exchange
    changes it). A bad header raises :class:`BgpError`; the stream is then
    unusable and the session must be reset.
    """

    def __init__(self, ctx: CodecContext = DEFAULT_CONTEXT) -> None:
        self.ctx = ctx
        self._buf = bytearray()

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def next_frame(self) -> bytes | None:
        if len(self._buf) < HEADER_LEN:
            return None
        length, _ = decode_header(bytes(self._buf[:HEADER_LEN]), self.ctx)
        if len(self._buf) < length:
            return None
        frame = bytes(self._buf[:length])
        del self._buf[:length]
        return frame
