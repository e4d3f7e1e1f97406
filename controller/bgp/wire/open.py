"""The OPEN message (RFC 4271 section 4.2, RFC 9072 extended parameters).

::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+
    |    Version    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     My Autonomous System      |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |           Hold Time           |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                         BGP Identifier                        |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    | Opt Parm Len  |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |             Optional Parameters (variable)                    |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Each optional parameter is Type(1) Length(1) Value. RFC 9072: if Opt Parm Len
is 255 and the next octet (the first parameter type) is 255, the real length
follows in 2 octets and each parameter has a 2-octet length.

The BGP Identifier must be non-zero, hold time 0 or >= 3 (RFC 4271 6.2); those
checks live in :meth:`Open.validate`, since decoding is permissive.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import ClassVar, Self, TypeVar

from controller.bgp.wire.capabilities import (
    Capability,
    FourOctetAs,
    MultiProtocol,
    decode_capabilities,
)
from controller.bgp.wire.constants import AS_TRANS, BGP_VERSION, ErrorCode, Family, MessageType
from controller.bgp.wire.constants import OpenSubcode as Sub
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.errors import BgpError
from controller.bgp.wire.message import BgpMessage, register_message
from controller.bgp.wire.reader import Reader

PARAM_CAPABILITIES = 2
_C = TypeVar("_C", bound=Capability)


def _open_error(subcode: int, reason: str, data: bytes = b"") -> BgpError:
    return BgpError(ErrorCode.OPEN_MESSAGE, subcode, reason, where="OPEN", data=data)


@dataclass(frozen=True, slots=True)
class OptionalParameter:
    """One optional parameter. Type 2 holds capabilities; others are kept raw."""

    type: int
    value: bytes = b""
    capabilities: tuple[Capability, ...] = ()

    @classmethod
    def of(cls, *caps: Capability) -> OptionalParameter:
        return cls(PARAM_CAPABILITIES, capabilities=caps)

    def encoded_value(self) -> bytes:
        if self.type == PARAM_CAPABILITIES:
            return b"".join(c.encode() for c in self.capabilities)
        return self.value


@register_message
@dataclass(frozen=True, slots=True)
class Open(BgpMessage):
    """OPEN; build one from meaning with :meth:`create`."""

    TYPE: ClassVar[MessageType] = MessageType.OPEN
    my_as: int
    hold_time: int
    bgp_id: ipaddress.IPv4Address
    parameters: tuple[OptionalParameter, ...] = ()
    version: int = BGP_VERSION
    extended_parameters: bool = field(default=False, kw_only=True)

    @classmethod
    def create(
        cls,
        asn: int,
        hold_time: int,
        router_id: str | ipaddress.IPv4Address,
        capabilities: tuple[Capability, ...] | list[Capability] = (),
        *,
        four_octet: bool = True,
    ) -> Open:
        """An OPEN for ``asn``; adds the 4-octet AS capability unless told not to."""
        caps = list(capabilities)
        if four_octet and not any(isinstance(c, FourOctetAs) for c in caps):
            caps.append(FourOctetAs(asn))
        if asn > 0xFFFF and not four_octet:
            raise ValueError(f"AS {asn} needs the 4-octet AS capability")
        my_as = asn if asn <= 0xFFFF else AS_TRANS
        # One capability per parameter, as most speakers send them.
        params = tuple(OptionalParameter.of(c) for c in caps)
        return cls(my_as, hold_time, ipaddress.IPv4Address(router_id), params)

    @property
    def capabilities(self) -> tuple[Capability, ...]:
        return tuple(c for p in self.parameters for c in p.capabilities)

    def find(self, kind: type[_C]) -> _C | None:
        """The first capability of this class, or None."""
        for c in self.capabilities:
            if isinstance(c, kind):
                return c
        return None

    @property
    def asn(self) -> int:
        """The speaker's AS: from the 4-octet capability if present (RFC 6793 4.1)."""
        four = self.find(FourOctetAs)
        return four.asn if four is not None else self.my_as

    @property
    def families(self) -> tuple[Family, ...]:
        """Advertised AFI/SAFIs; none advertised means IPv4 unicast (RFC 4760 8)."""
        return tuple(c.family for c in self.capabilities if isinstance(c, MultiProtocol))

    def encode_body(self, ctx: CodecContext) -> bytes:
        chunks = [(p.type, p.encoded_value()) for p in self.parameters]
        extended = self.extended_parameters or self._needs_extended()
        if extended:
            params = b"".join(bytes([t]) + len(v).to_bytes(2, "big") + v for t, v in chunks)
            plen = b"\xff\xff" + len(params).to_bytes(2, "big")
        else:
            params = b"".join(bytes([t, len(v)]) + v for t, v in chunks)
            plen = bytes([len(params)])
        return (
            bytes([self.version])
            + self.my_as.to_bytes(2, "big")
            + self.hold_time.to_bytes(2, "big")
            + self.bgp_id.packed
            + plen
            + params
        )

    @classmethod
    def decode_body(cls, body: bytes, ctx: CodecContext) -> Self:
        r = Reader(body, lambda why: _open_error(0, f"truncated: {why}"))
        version = r.u8("version")
        my_as = r.u16("my AS")
        hold = r.u16("hold time")
        bgp_id = ipaddress.IPv4Address(r.take(4, "BGP identifier"))
        plen = r.u8("optional parameters length")
        extended = False
        if plen == 255 and r.remaining and body[r.offset] == 255:
            r.u8("extended parameters marker")
            plen = r.u16("extended parameters length")
            extended = True
        if plen != r.remaining:
            raise _open_error(
                0, f"optional parameters length {plen} but {r.remaining} octets follow"
            )
        params: list[OptionalParameter] = []
        while r.remaining:
            ptype = r.u8("parameter type")
            vlen = r.u16("parameter length") if extended else r.u8("parameter length")
            value = r.take(vlen, f"parameter {ptype}")
            if ptype == PARAM_CAPABILITIES:
                params.append(OptionalParameter(ptype, capabilities=decode_capabilities(value)))
            else:
                params.append(OptionalParameter(ptype, value))
        msg = cls(my_as, hold, bgp_id, tuple(params), version=version)
        # Keep the flag only when the encoder would not pick the RFC 9072 form by itself,
        # so an OPEN re-encodes byte for byte and built OPENs compare equal to decoded ones.
        if extended and not msg._needs_extended():
            msg = cls(my_as, hold, bgp_id, tuple(params), version=version, extended_parameters=True)
        return msg

    def _needs_extended(self) -> bool:
        values = [p.encoded_value() for p in self.parameters]
        return any(len(v) > 255 for v in values) or sum(2 + len(v) for v in values) > 255

    def validate(self) -> None:
        """RFC 4271 6.2 checks that need no configuration (peer AS is the session's job)."""
        if self.version != BGP_VERSION:
            raise _open_error(
                Sub.UNSUPPORTED_VERSION, f"version {self.version}", BGP_VERSION.to_bytes(2, "big")
            )
        if self.hold_time in (1, 2):
            raise _open_error(Sub.UNACCEPTABLE_HOLD_TIME, f"hold time {self.hold_time}")
        if int(self.bgp_id) == 0:
            raise _open_error(Sub.BAD_BGP_IDENTIFIER, "BGP identifier 0.0.0.0")
        for p in self.parameters:
            if p.type != PARAM_CAPABILITIES:
                raise _open_error(
                    Sub.UNSUPPORTED_OPTIONAL_PARAMETER, f"optional parameter type {p.type}"
                )
