"""AUTH (3.8), CERT (3.6) and CERTREQ (3.7) payloads, RFC 7296.

AUTH:     | Auth Method   |                RESERVED                       |
          ~                      Authentication Data                      ~
CERT:     | Cert Encoding |                                               |
          ~                       Certificate Data                        ~
CERTREQ:  | Cert Encoding |                                               |
          ~                    Certification Authority                    ~
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.ipsec.ike.wire.consts import PayloadType
from controller.ipsec.ike.wire.payload import Payload, need, register


@register
@dataclass
class AuthPayload(Payload):
    TYPE = PayloadType.AUTH
    method: int
    data: bytes

    def encode_body(self) -> bytes:
        return bytes([self.method, 0, 0, 0]) + self.data

    @classmethod
    def decode_body(cls, body: bytes) -> AuthPayload:
        need(body, 4, "AUTH payload")
        return cls(body[0], body[4:])


@register
@dataclass
class CertPayload(Payload):
    TYPE = PayloadType.CERT
    encoding: int
    data: bytes

    def encode_body(self) -> bytes:
        return bytes([self.encoding]) + self.data

    @classmethod
    def decode_body(cls, body: bytes) -> CertPayload:
        need(body, 1, "CERT payload")
        return cls(body[0], body[1:])


@register
@dataclass
class CertReqPayload(Payload):
    """CA data is a concatenation of SHA-1 hashes of CA public keys (20 octets each)."""

    TYPE = PayloadType.CERTREQ
    encoding: int
    authorities: bytes

    def encode_body(self) -> bytes:
        return bytes([self.encoding]) + self.authorities

    @classmethod
    def decode_body(cls, body: bytes) -> CertReqPayload:
        need(body, 1, "CERTREQ payload")
        return cls(body[0], body[1:])
