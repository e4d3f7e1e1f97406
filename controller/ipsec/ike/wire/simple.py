"""Small fixed-layout payloads: KE (3.4), Nonce (3.9), Vendor ID (3.12).

Key Exchange payload body:
|   Diffie-Hellman Group Num    |           RESERVED            |
~                       Key Exchange Data                       ~

Nonce payload body:            Vendor ID payload body:
~            Nonce Data        ~  ~            Vendor ID           ~
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from controller.ipsec.ike.wire.consts import PayloadType
from controller.ipsec.ike.wire.errors import syntax
from controller.ipsec.ike.wire.payload import Payload, need, register


@register
@dataclass
class KePayload(Payload):
    TYPE = PayloadType.KE
    group: int
    data: bytes

    def encode_body(self) -> bytes:
        return struct.pack("!HH", self.group, 0) + self.data

    @classmethod
    def decode_body(cls, body: bytes) -> KePayload:
        need(body, 4, "KE payload")
        (group,) = struct.unpack_from("!H", body)
        return cls(group, body[4:])

    def __repr__(self) -> str:
        return f"KePayload(group={self.group}, {len(self.data)} octets)"


@register
@dataclass
class NoncePayload(Payload):
    TYPE = PayloadType.NONCE
    nonce: bytes

    def encode_body(self) -> bytes:
        return self.nonce

    @classmethod
    def decode_body(cls, body: bytes) -> NoncePayload:
        # RFC 7296 2.10: between 16 and 256 octets
        if not 16 <= len(body) <= 256:
            raise syntax(f"nonce of {len(body)} octets (16..256 allowed)")
        return cls(body)


@register
@dataclass
class VendorPayload(Payload):
    TYPE = PayloadType.VENDOR
    vendor_id: bytes

    def encode_body(self) -> bytes:
        return self.vendor_id

    @classmethod
    def decode_body(cls, body: bytes) -> VendorPayload:
        return cls(body)
