"""Notify (3.10) and Delete (3.11) payloads, RFC 7296.

Notify:
|  Protocol ID  |   SPI Size    |      Notify Message Type      |
~                Security Parameter Index (SPI)                 ~
~                       Notification Data                       ~

Delete:
| Protocol ID   |   SPI Size    |          Num of SPIs          |
~               Security Parameter Index(es) (SPI)              ~
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from controller.ipsec.ike.wire.consts import ERROR_NOTIFY_MAX, PayloadType
from controller.ipsec.ike.wire.errors import syntax
from controller.ipsec.ike.wire.payload import Payload, need, register

_HEAD = struct.Struct("!BBH")


@register
@dataclass
class NotifyPayload(Payload):
    TYPE = PayloadType.NOTIFY
    notify_type: int
    data: bytes = b""
    protocol: int = 0
    spi: bytes = b""

    @property
    def is_error(self) -> bool:
        return self.notify_type <= ERROR_NOTIFY_MAX

    def encode_body(self) -> bytes:
        head = _HEAD.pack(self.protocol, len(self.spi), self.notify_type)
        return head + self.spi + self.data

    @classmethod
    def decode_body(cls, body: bytes) -> NotifyPayload:
        need(body, 4, "NOTIFY payload")
        proto, spi_size, ntype = _HEAD.unpack_from(body)
        if spi_size:
            need(body, 4 + spi_size, "NOTIFY SPI")
            return cls(ntype, body[4 + spi_size :], proto, body[4 : 4 + spi_size])
        return cls(ntype, body[4:], proto)


@register
@dataclass
class DeletePayload(Payload):
    TYPE = PayloadType.DELETE
    protocol: int
    spis: list[bytes] = field(default_factory=list)
    spi_size: int = 4

    def encode_body(self) -> bytes:
        size = 0 if self.protocol == 1 else self.spi_size  # IKE SA deletes carry no SPI
        return struct.pack("!BBH", self.protocol, size, len(self.spis)) + b"".join(self.spis)

    @classmethod
    def decode_body(cls, body: bytes) -> DeletePayload:
        need(body, 4, "DELETE payload")
        proto, size, count = struct.unpack_from("!BBH", body)
        if len(body) != 4 + size * count:
            raise syntax(f"DELETE: {count} SPIs of {size} octets do not fill {len(body) - 4}")
        spis = [body[4 + i * size : 4 + (i + 1) * size] for i in range(count)]
        return cls(proto, spis, size)
