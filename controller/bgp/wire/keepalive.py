"""The KEEPALIVE message (RFC 4271 section 4.4): the 19-octet header alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from controller.bgp.wire.constants import ErrorCode, HeaderSubcode, MessageType
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.errors import BgpError
from controller.bgp.wire.message import BgpMessage, register_message


@register_message
@dataclass(frozen=True, slots=True)
class Keepalive(BgpMessage):
    """KEEPALIVE: no body."""

    TYPE: ClassVar[MessageType] = MessageType.KEEPALIVE

    def encode_body(self, ctx: CodecContext) -> bytes:
        return b""

    @classmethod
    def decode_body(cls, body: bytes, ctx: CodecContext) -> Self:
        if body:
            raise BgpError(
                ErrorCode.MESSAGE_HEADER,
                HeaderSubcode.BAD_MESSAGE_LENGTH,
                f"KEEPALIVE with {len(body)} octets of body",
                where="KEEPALIVE",
                data=(19 + len(body)).to_bytes(2, "big"),
            )
        return cls()
