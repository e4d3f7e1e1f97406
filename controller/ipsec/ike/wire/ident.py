"""Identification payloads IDi/IDr, RFC 7296 section 3.5.

|   ID Type     |                 RESERVED                      |
~                   Identification Data                         ~
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

from controller.ipsec.ike.wire.consts import IdType, PayloadType
from controller.ipsec.ike.wire.payload import Payload, need, register


@dataclass(frozen=True)
class Identity:
    """An IKE identity: type + data, with helpers to build from meaning."""

    id_type: int
    data: bytes

    @classmethod
    def from_str(cls, text: str) -> Identity:
        """IP address, ``user@fqdn``, DN (``CN=...``) or FQDN, like swanctl's ``id``."""
        if cls is Identity:  # immutable: the configured identities are parsed once
            return _identity_from_str(text)
        return cls._parse(text)

    @classmethod
    def _parse(cls, text: str) -> Identity:
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            pass
        else:
            kind = IdType.IPV4_ADDR if addr.version == 4 else IdType.IPV6_ADDR
            return cls(kind, addr.packed)
        if "=" in text:
            return cls(IdType.DER_ASN1_DN, dn_der(text))
        if "@" in text:
            return cls(IdType.RFC822_ADDR, text.encode())
        return cls(IdType.FQDN, text.encode())

    def body(self) -> bytes:
        """ID type, 3 reserved octets, data: what RFC 7296 2.15 MACs (RestOfIDPayload)."""
        return _identity_body(self)

    def _body(self) -> bytes:
        return bytes([self.id_type, 0, 0, 0]) + self.data

    def __str__(self) -> str:
        return _identity_text(self)

    def _text(self) -> str:
        if self.id_type in (IdType.IPV4_ADDR, IdType.IPV6_ADDR):
            return str(ipaddress.ip_address(self.data))
        if self.id_type in (IdType.FQDN, IdType.RFC822_ADDR):
            return self.data.decode(errors="replace")
        kind = IdType(self.id_type).name if self.id_type in set(IdType) else str(self.id_type)
        return f"{kind}:{self.data.hex()}"


def dn_der(text: str) -> bytes:
    """RFC 4514 text (``CN=cpe1,O=Example``) to DER, for ID_DER_ASN1_DN identities."""
    from cryptography import x509  # only needed for DN identities

    return x509.Name.from_rfc4514_string(text).public_bytes()


@functools.lru_cache(maxsize=256)
def _identity_from_str(text: str) -> Identity:
    return Identity._parse(text)


# every IKE_AUTH names the peer by its identity's text: the same few peers, again and again
_identity_text = functools.lru_cache(maxsize=1024)(Identity._text)
_identity_body = functools.lru_cache(maxsize=1024)(Identity._body)


class _IdPayload(Payload):
    identity: Identity

    def encode_body(self) -> bytes:
        return self.identity.body()

    @classmethod
    def decode_body(cls, body: bytes) -> Payload:
        need(body, 4, "ID payload")
        return cls(Identity(body[0], body[4:]))  # type: ignore[call-arg]


@register
@dataclass
class IdiPayload(_IdPayload):
    TYPE = PayloadType.IDI
    identity: Identity


@register
@dataclass
class IdrPayload(_IdPayload):
    TYPE = PayloadType.IDR
    identity: Identity
