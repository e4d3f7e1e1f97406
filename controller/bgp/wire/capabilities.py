"""OPEN capabilities (RFC 5492), one class per capability code.

Each capability is a TLV inside an OPEN optional parameter of type 2::

    +------------------------------+
    | Capability Code (1 octet)    |
    +------------------------------+
    | Capability Length (1 octet)  |
    +------------------------------+
    | Capability Value (variable)  |
    +------------------------------+

Unknown codes decode to :class:`UnknownCapability` and re-encode byte for byte
(RFC 5492 section 3: a speaker ignores capabilities it does not understand).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Self, TypeVar

from controller.bgp.wire.constants import ErrorCode, Family, family_of
from controller.bgp.wire.errors import BgpError
from controller.bgp.wire.reader import Reader


def capability_error(reason: str, code: int, data: bytes = b"") -> BgpError:
    # RFC 5492 names no subcode for a malformed capability; 0 is "unspecific".
    return BgpError(ErrorCode.OPEN_MESSAGE, 0, reason, where=f"OPEN capability {code}", data=data)


@dataclass(frozen=True, slots=True)
class Capability:
    """Base class: subclasses set ``CODE`` and implement the value codec."""

    CODE: ClassVar[int] = -1

    @property
    def code(self) -> int:
        return self.CODE

    def encode_value(self) -> bytes:
        raise NotImplementedError

    @classmethod
    def decode_value(cls, value: bytes) -> Self:
        raise NotImplementedError

    def encode(self) -> bytes:
        value = self.encode_value()
        if len(value) > 255:
            raise ValueError(f"capability {self.code} value of {len(value)} octets")
        return bytes([self.code, len(value)]) + value


_C = TypeVar("_C", bound=type[Capability])
_REGISTRY: dict[int, type[Capability]] = {}


def register_capability(cls: _C) -> _C:
    _REGISTRY[cls.CODE] = cls
    return cls


@dataclass(frozen=True, slots=True)
class UnknownCapability(Capability):
    """A capability we do not interpret, kept as its code and raw value."""

    unknown_code: int = 0
    value: bytes = b""

    @property
    def code(self) -> int:
        return self.unknown_code

    def encode_value(self) -> bytes:
        return self.value


def _empty(cls: type[Capability], value: bytes) -> None:
    if value:
        raise capability_error(f"value must be empty, got {len(value)} octets", cls.CODE, value)


@register_capability
@dataclass(frozen=True, slots=True)
class MultiProtocol(Capability):
    """Multiprotocol Extensions (RFC 4760 section 8): AFI(2), reserved(1), SAFI(1)."""

    CODE: ClassVar[int] = 1
    afi: int = 1
    safi: int = 1

    @property
    def family(self) -> Family:
        return family_of(self.afi, self.safi)

    def encode_value(self) -> bytes:
        return self.afi.to_bytes(2, "big") + b"\x00" + bytes([self.safi])

    @classmethod
    def decode_value(cls, value: bytes) -> Self:
        if len(value) != 4:
            raise capability_error(f"length {len(value)}, expected 4", cls.CODE, value)
        return cls(int.from_bytes(value[:2], "big"), value[3])


@register_capability
@dataclass(frozen=True, slots=True)
class RouteRefresh(Capability):
    """Route Refresh (RFC 2918 section 2): no value."""

    CODE: ClassVar[int] = 2

    def encode_value(self) -> bytes:
        return b""

    @classmethod
    def decode_value(cls, value: bytes) -> Self:
        _empty(cls, value)
        return cls()


@dataclass(frozen=True, slots=True)
class NextHopEncoding:
    """One entry of the Extended Next Hop Encoding capability."""

    afi: int
    safi: int
    next_hop_afi: int


@register_capability
@dataclass(frozen=True, slots=True)
class ExtendedNextHop(Capability):
    """Extended Next Hop Encoding (RFC 8950 4): NLRI AFI(2), SAFI(2), next hop AFI(2), repeated.

    Lets IPv4 routes carry IPv6 next hops; decoded so sessions can show and
    decline it (this product does not use IPv4 NLRI with IPv6 next hops).
    """

    CODE: ClassVar[int] = 5
    entries: tuple[NextHopEncoding, ...] = ()

    def encode_value(self) -> bytes:
        return b"".join(
            e.afi.to_bytes(2, "big") + e.safi.to_bytes(2, "big") + e.next_hop_afi.to_bytes(2, "big")
            for e in self.entries
        )

    @classmethod
    def decode_value(cls, value: bytes) -> Self:
        if len(value) % 6:
            raise capability_error(f"length {len(value)} is not a multiple of 6", cls.CODE, value)
        return cls(
            tuple(
                NextHopEncoding(
                    int.from_bytes(value[i : i + 2], "big"),
                    int.from_bytes(value[i + 2 : i + 4], "big"),
                    int.from_bytes(value[i + 4 : i + 6], "big"),
                )
                for i in range(0, len(value), 6)
            )
        )


@register_capability
@dataclass(frozen=True, slots=True)
class ExtendedMessage(Capability):
    """Extended Message (RFC 8654 section 3): no value; both sides must send it."""

    CODE: ClassVar[int] = 6

    def encode_value(self) -> bytes:
        return b""

    @classmethod
    def decode_value(cls, value: bytes) -> Self:
        _empty(cls, value)
        return cls()


@dataclass(frozen=True, slots=True)
class GracefulRestartFamily:
    """One AFI/SAFI entry of the Graceful Restart capability."""

    afi: int
    safi: int
    forwarding_preserved: bool = False


@register_capability
@dataclass(frozen=True, slots=True)
class GracefulRestart(Capability):
    """Graceful Restart (RFC 4724 section 3, N bit from RFC 8538)::

    +--------------------------------------------------+
    | Restart Flags (4 bits: R N 0 0)                  |
    +--------------------------------------------------+
    | Restart Time in seconds (12 bits)                |
    +--------------------------------------------------+
    | AFI (16 bits) | SAFI (8 bits) | Flags (8 bits: F)|  repeated
    +--------------------------------------------------+
    """

    CODE: ClassVar[int] = 64
    restart_time: int = 120
    restarting: bool = False
    notification: bool = False
    families: tuple[GracefulRestartFamily, ...] = ()
    reserved_flags: int = 0

    def encode_value(self) -> bytes:
        flags = (0x8 if self.restarting else 0) | (0x4 if self.notification else 0)
        flags |= self.reserved_flags & 0x3
        out = bytearray(((flags << 12) | (self.restart_time & 0xFFF)).to_bytes(2, "big"))
        for f in self.families:
            out += f.afi.to_bytes(2, "big") + bytes([f.safi, 0x80 if f.forwarding_preserved else 0])
        return bytes(out)

    @classmethod
    def decode_value(cls, value: bytes) -> Self:
        if len(value) < 2 or (len(value) - 2) % 4:
            raise capability_error(f"length {len(value)} is not 2 + 4n", cls.CODE, value)
        word = int.from_bytes(value[:2], "big")
        flags = word >> 12
        families = tuple(
            GracefulRestartFamily(
                int.from_bytes(value[i : i + 2], "big"), value[i + 2], bool(value[i + 3] & 0x80)
            )
            for i in range(2, len(value), 4)
        )
        return cls(
            restart_time=word & 0xFFF,
            restarting=bool(flags & 0x8),
            notification=bool(flags & 0x4),
            families=families,
            reserved_flags=flags & 0x3,
        )


@register_capability
@dataclass(frozen=True, slots=True)
class FourOctetAs(Capability):
    """Support for 4-octet AS numbers (RFC 6793 section 3): the speaker's AS, 4 octets."""

    CODE: ClassVar[int] = 65
    asn: int = 0

    def encode_value(self) -> bytes:
        return self.asn.to_bytes(4, "big")

    @classmethod
    def decode_value(cls, value: bytes) -> Self:
        if len(value) != 4:
            raise capability_error(f"length {len(value)}, expected 4", cls.CODE, value)
        return cls(int.from_bytes(value, "big"))


@dataclass(frozen=True, slots=True)
class AddPathFamily:
    """One AFI/SAFI of the ADD-PATH capability; mode 1 receive, 2 send, 3 both."""

    afi: int
    safi: int
    mode: int


@register_capability
@dataclass(frozen=True, slots=True)
class AddPath(Capability):
    """ADD-PATH (RFC 7911 4): AFI(2), SAFI(1), Send/Receive(1), repeated.

    Decoded so the session can see it was offered; this product never
    advertises it, so no path identifiers ever appear on our sessions.
    """

    CODE: ClassVar[int] = 69
    families: tuple[AddPathFamily, ...] = ()

    def encode_value(self) -> bytes:
        return b"".join(f.afi.to_bytes(2, "big") + bytes([f.safi, f.mode]) for f in self.families)

    @classmethod
    def decode_value(cls, value: bytes) -> Self:
        if len(value) % 4:
            raise capability_error(f"length {len(value)} is not a multiple of 4", cls.CODE, value)
        return cls(
            tuple(
                AddPathFamily(int.from_bytes(value[i : i + 2], "big"), value[i + 2], value[i + 3])
                for i in range(0, len(value), 4)
            )
        )


@register_capability
@dataclass(frozen=True, slots=True)
class EnhancedRouteRefresh(Capability):
    """Enhanced Route Refresh (RFC 7313 section 3.1): no value."""

    CODE: ClassVar[int] = 70

    def encode_value(self) -> bytes:
        return b""

    @classmethod
    def decode_value(cls, value: bytes) -> Self:
        _empty(cls, value)
        return cls()


def decode_capabilities(data: bytes) -> tuple[Capability, ...]:
    """Decode the capability TLVs packed in one optional parameter of type 2."""
    r = Reader(data, lambda why: capability_error(f"truncated: {why}", -1, data))
    caps: list[Capability] = []
    while r.remaining:
        code = r.u8("capability code")
        value = r.take(r.u8("capability length"), f"capability {code} value")
        cls = _REGISTRY.get(code)
        caps.append(cls.decode_value(value) if cls else UnknownCapability(code, value))
    return tuple(caps)
