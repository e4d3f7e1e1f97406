"""The NOTIFICATION message (RFC 4271 section 4.5).

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    | Error code    | Error subcode |   Data (variable)             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

For Cease / Administrative Shutdown or Reset the data may be a Shutdown
Communication: one length octet and that many octets of UTF-8 (RFC 9003 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self

from controller.bgp.wire.constants import CeaseSubcode, ErrorCode, HeaderSubcode, MessageType
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.errors import BgpError
from controller.bgp.wire.message import BgpMessage, register_message

_SHUTDOWN_SUBCODES = (CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, CeaseSubcode.ADMINISTRATIVE_RESET)


@register_message
@dataclass(frozen=True, slots=True)
class Notification(BgpMessage):
    """NOTIFICATION: the error that ends a session."""

    TYPE: ClassVar[MessageType] = MessageType.NOTIFICATION
    code: int
    subcode: int = 0
    data: bytes = b""

    @classmethod
    def from_error(cls, err: BgpError) -> Notification:
        """The reply RFC 4271 section 6 prescribes for a decode error."""
        return cls(err.code, err.subcode, err.data)

    @classmethod
    def shutdown(cls, message: str, *, reset: bool = False) -> Notification:
        """Cease with a Shutdown Communication (RFC 9003), truncated to 255 octets of UTF-8."""
        raw = message.encode()[:255].decode("utf-8", "ignore").encode()
        sub = CeaseSubcode.ADMINISTRATIVE_RESET if reset else CeaseSubcode.ADMINISTRATIVE_SHUTDOWN
        return cls(ErrorCode.CEASE, sub, bytes([len(raw)]) + raw)

    @property
    def shutdown_message(self) -> str | None:
        """The RFC 9003 communication, or None when absent or not well formed."""
        if self.code != ErrorCode.CEASE or self.subcode not in _SHUTDOWN_SUBCODES:
            return None
        if not self.data or self.data[0] + 1 > len(self.data):
            return None
        try:
            return self.data[1 : 1 + self.data[0]].decode()
        except UnicodeDecodeError:
            return None

    def __str__(self) -> str:
        try:
            name = ErrorCode(self.code).name.lower()
        except ValueError:
            name = f"code {self.code}"
        text = f"NOTIFICATION {self.code}/{self.subcode} ({name})"
        msg = self.shutdown_message
        if msg is not None:
            text += f': "{msg}"'
        elif self.data:
            text += f" data {self.data.hex()}"
        return text

    def encode_body(self, ctx: CodecContext) -> bytes:
        return bytes([self.code, self.subcode]) + self.data

    @classmethod
    def decode_body(cls, body: bytes, ctx: CodecContext) -> Self:
        if len(body) < 2:
            raise BgpError(
                ErrorCode.MESSAGE_HEADER,
                HeaderSubcode.BAD_MESSAGE_LENGTH,
                f"NOTIFICATION body of {len(body)} octets",
                where="NOTIFICATION",
                data=(19 + len(body)).to_bytes(2, "big"),
            )
        return cls(body[0], body[1], body[2:])
