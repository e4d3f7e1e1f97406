"""Tunnel Encapsulation attribute (23): RFC 9012, with the draft's code points.

The attribute is a run of Tunnel TLVs, each a run of sub-TLVs::

    Tunnel TLV                             Sub-TLV
    +-------------------------------+      +--------------+-------------------+
    | Tunnel Type (2 octets)        |      | Type (1)     | Length: 1 octet   |
    +-------------------------------+      |              | for types 0-127,  |
    | Length (2 octets)             |      |              | 2 for 128-255     |
    +-------------------------------+      +--------------+-------------------+
    | Sub-TLVs (Length octets)      |      | Value (Length octets)            |
    +-------------------------------+      +----------------------------------+

    Tunnel Egress Endpoint sub-TLV (type 6, RFC 9012 3.1)
    +-------------------------------+-----------+------------------------+
    | Reserved (4 octets)           | AFI (2)   | Address (4, 16 or 0)   |
    +-------------------------------+-----------+------------------------+

    Security Handle sub-TLV (draft-rosen-bess-secure-l3vpn 6; type from
    configuration, default 126, one-octet length): opaque value, e.g. an SPI.

The draft's MPLS-in-IPsec tunnel type has no IANA value: it is
``CodecContext.mpls_in_ipsec_tunnel_type`` (default 0xFFFE, see context.py).
Unknown tunnel types and sub-TLVs are kept byte for byte. A structural error
(a length overrunning its container) makes the attribute malformed:
treat-as-withdraw (RFC 9012 13). A sub-TLV 6 whose content does not parse is
kept raw, and :func:`tunnel_problems` reports it (the TLV is then unusable).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import ClassVar, Self

from controller.bgp.wire.attributes.base import (
    OPTIONAL_TRANSITIVE,
    PathAttribute,
    register_attribute,
)
from controller.bgp.wire.constants import AFI_IPV4, AFI_IPV6
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.nlri.prefix import IPAddress

EGRESS_ENDPOINT_SUBTLV = 6


@dataclass(frozen=True, slots=True)
class SubTlv:
    """Base class of sub-TLVs: ``code`` and the value codec."""

    @property
    def code(self) -> int:
        raise NotImplementedError

    def encode_value(self) -> bytes:
        raise NotImplementedError

    def encode(self) -> bytes:
        value = self.encode_value()
        if self.code < 128:
            if len(value) > 255:
                raise ValueError(f"sub-TLV {self.code} value of {len(value)} octets")
            return bytes([self.code, len(value)]) + value
        return bytes([self.code]) + len(value).to_bytes(2, "big") + value


@dataclass(frozen=True, slots=True)
class UnknownSubTlv(SubTlv):
    """A sub-TLV we do not interpret (or whose content did not parse), kept raw."""

    type: int
    value: bytes = b""

    @property
    def code(self) -> int:
        return self.type

    def encode_value(self) -> bytes:
        return self.value


@dataclass(frozen=True, slots=True)
class TunnelEgressEndpoint(SubTlv):
    """Tunnel Egress Endpoint (RFC 9012 3.1): where the tunnel ends; None is AFI 0."""

    address: IPAddress | None
    reserved: int = 0

    @property
    def code(self) -> int:
        return EGRESS_ENDPOINT_SUBTLV

    def encode_value(self) -> bytes:
        head = self.reserved.to_bytes(4, "big")
        if self.address is None:
            return head + b"\x00\x00"
        afi = AFI_IPV4 if self.address.version == 4 else AFI_IPV6
        return head + afi.to_bytes(2, "big") + self.address.packed

    @classmethod
    def decode_value(cls, value: bytes) -> TunnelEgressEndpoint | None:
        """None when the content is not a valid endpoint (caller keeps it raw)."""
        if len(value) < 6:
            return None
        reserved = int.from_bytes(value[:4], "big")
        afi = int.from_bytes(value[4:6], "big")
        addr = value[6:]
        if afi == 0 and not addr:
            return cls(None, reserved)
        if afi == AFI_IPV4 and len(addr) == 4:
            return cls(ipaddress.IPv4Address(addr), reserved)
        if afi == AFI_IPV6 and len(addr) == 16:
            return cls(ipaddress.IPv6Address(addr), reserved)
        return None


@dataclass(frozen=True, slots=True)
class SecurityHandle(SubTlv):
    """The draft's Security Handle (section 6): opaque, deployment-specific octets."""

    handle: bytes
    type: int = 126

    @property
    def code(self) -> int:
        return self.type

    def encode_value(self) -> bytes:
        return self.handle


def _decode_sub_tlvs(
    cls: type[PathAttribute], data: bytes, ctx: CodecContext
) -> tuple[SubTlv, ...]:
    out: list[SubTlv] = []
    i = 0
    while i < len(data):
        code = data[i]
        hlen = 2 if code < 128 else 3
        if i + hlen > len(data):
            raise cls.malformed(f"sub-TLV {code} header truncated")
        vlen = data[i + 1] if code < 128 else int.from_bytes(data[i + 1 : i + 3], "big")
        start, end = i + hlen, i + hlen + vlen
        if end > len(data):
            raise cls.malformed(f"sub-TLV {code} length {vlen} overruns its tunnel TLV")
        value = data[start:end]
        sub: SubTlv | None = None
        if code == EGRESS_ENDPOINT_SUBTLV:
            sub = TunnelEgressEndpoint.decode_value(value)
        elif code == ctx.security_handle_subtlv:
            sub = SecurityHandle(value, code)
        out.append(sub if sub is not None else UnknownSubTlv(code, value))
        i = end
    return tuple(out)


@dataclass(frozen=True, slots=True)
class TunnelTlv:
    """One tunnel: its type and sub-TLVs in received order."""

    tunnel_type: int
    sub_tlvs: tuple[SubTlv, ...] = ()

    @property
    def egress_endpoint(self) -> TunnelEgressEndpoint | None:
        for s in self.sub_tlvs:
            if isinstance(s, TunnelEgressEndpoint):
                return s
        return None

    @property
    def security_handle(self) -> SecurityHandle | None:
        for s in self.sub_tlvs:
            if isinstance(s, SecurityHandle):
                return s
        return None

    def encode(self) -> bytes:
        body = b"".join(s.encode() for s in self.sub_tlvs)
        if len(body) > 0xFFFF:
            raise ValueError(f"tunnel TLV of {len(body)} octets")
        return self.tunnel_type.to_bytes(2, "big") + len(body).to_bytes(2, "big") + body


@register_attribute
@dataclass(frozen=True, slots=True)
class TunnelEncapsulation(PathAttribute):
    """Tunnel Encapsulation attribute: any number of tunnel TLVs."""

    TYPE_CODE: ClassVar[int] = 23
    NAME: ClassVar[str] = "TUNNEL_ENCAPSULATION"
    FLAGS: ClassVar[int] = OPTIONAL_TRANSITIVE
    tunnels: tuple[TunnelTlv, ...] = ()

    @classmethod
    def mpls_in_ipsec(
        cls,
        endpoint: IPAddress,
        security_handle: bytes | None = None,
        ctx: CodecContext | None = None,
    ) -> TunnelEncapsulation:
        """The red loopback route's attribute (draft section 3.3): one MPLS-in-IPsec tunnel."""
        ctx = ctx or CodecContext()
        return cls((tunnel_tlv(ctx.mpls_in_ipsec_tunnel_type, endpoint, security_handle, ctx),))

    def encode_value(self, ctx: CodecContext) -> bytes:
        return b"".join(t.encode() for t in self.tunnels)

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        tunnels: list[TunnelTlv] = []
        i = 0
        while i < len(value):
            if i + 4 > len(value):
                raise cls.malformed("tunnel TLV header truncated")
            ttype = int.from_bytes(value[i : i + 2], "big")
            tlen = int.from_bytes(value[i + 2 : i + 4], "big")
            if i + 4 + tlen > len(value):
                raise cls.malformed(f"tunnel TLV type {ttype} length {tlen} overruns the attribute")
            subs = _decode_sub_tlvs(cls, value[i + 4 : i + 4 + tlen], ctx)
            tunnels.append(TunnelTlv(ttype, subs))
            i += 4 + tlen
        if not tunnels:
            raise cls.malformed("no tunnel TLV")
        return cls(tuple(tunnels))


def tunnel_tlv(
    tunnel_type: int,
    endpoint: IPAddress | None,
    security_handle: bytes | None = None,
    ctx: CodecContext | None = None,
) -> TunnelTlv:
    """One tunnel TLV: Tunnel Egress Endpoint (AFI 0 when None), then the Security Handle."""
    ctx = ctx or CodecContext()
    subs: list[SubTlv] = [TunnelEgressEndpoint(endpoint)]
    if security_handle is not None:
        subs.append(SecurityHandle(security_handle, ctx.security_handle_subtlv))
    return TunnelTlv(tunnel_type, tuple(subs))


def tunnel_problems(tlv: TunnelTlv) -> list[str]:
    """Why a decoded tunnel TLV cannot be used (RFC 9012 3.1, 13); empty when usable."""
    problems = []
    ends = [s for s in tlv.sub_tlvs if s.code == EGRESS_ENDPOINT_SUBTLV]
    if any(isinstance(s, UnknownSubTlv) for s in ends):
        problems.append("malformed Tunnel Egress Endpoint sub-TLV")
    if len(ends) > 1:
        problems.append(f"{len(ends)} Tunnel Egress Endpoint sub-TLVs")
    if not ends:
        problems.append("no Tunnel Egress Endpoint sub-TLV")
    return problems
