"""Encrypted (SK, RFC 7296 3.14) and Encrypted Fragment (SKF, RFC 7383 2.5) payloads.

    SK payload body:                      SKF payload body:
    ~ Initialization Vector      ~        |  Fragment Number  |  Total Fragments  |
    ~ Encrypted IKE Payloads     ~        ~ Initialization Vector                 ~
    ~ Padding | Pad Length       ~        ~ Encrypted content | Padding | Pad Len ~
    ~ Integrity Checksum Data    ~        ~ Integrity Checksum Data               ~

The generic header's Next Payload of SK (and of fragment 1 of SKF) names the first
payload inside; later fragments carry 0. These classes hold the sealed octets; the
message layer seals/opens them because the AAD spans the message header.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from controller.ipsec.ike.wire.consts import PayloadType
from controller.ipsec.ike.wire.payload import Payload, need, register


@register
@dataclass
class SkPayload(Payload):
    TYPE = PayloadType.SK
    sealed: bytes

    def encode_body(self) -> bytes:
        return self.sealed

    @classmethod
    def decode_body(cls, body: bytes) -> SkPayload:
        return cls(body)


@register
@dataclass
class SkfPayload(Payload):
    TYPE = PayloadType.SKF
    number: int
    total: int
    sealed: bytes

    def encode_body(self) -> bytes:
        return struct.pack("!HH", self.number, self.total) + self.sealed

    @classmethod
    def decode_body(cls, body: bytes) -> SkfPayload:
        need(body, 4, "SKF payload")
        number, total = struct.unpack_from("!HH", body)
        return cls(number, total, body[4:])
