"""Path attribute framing (RFC 4271 section 4.3) and the type-code registry.

::

     0                   1
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |O|T|P|E|0 0 0 0|  Type Code    |   O optional, T transitive,
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   P partial, E extended length
    | Length (1 octet, 2 if E set)  |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  Value ...                    |

Each attribute class declares its canonical ``FLAGS`` (O and T bits) and its
RFC 7606 handling when malformed (``MALFORMED``). An instance keeps the flags
it was received with in ``flags`` only when they differ from the canonical
ones (a Partial bit, an Extended Length bit on a short value), so a decoded
attribute re-encodes byte for byte and a built one is canonical.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar, Self, TypeVar

from controller.bgp.wire.constants import UpdateSubcode
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.errors import BgpError, ErrorAction, update_error

OPTIONAL = 0x80
TRANSITIVE = 0x40
PARTIAL = 0x20
EXTENDED_LENGTH = 0x10
WELL_KNOWN = TRANSITIVE
OPTIONAL_TRANSITIVE = OPTIONAL | TRANSITIVE


@dataclass(frozen=True, slots=True)
class PathAttribute:
    """Base class of every path attribute."""

    TYPE_CODE: ClassVar[int] = -1
    NAME: ClassVar[str] = "UNKNOWN"
    FLAGS: ClassVar[int] = OPTIONAL_TRANSITIVE
    # RFC 7606 handling when the value is malformed or the O/T flags are wrong.
    MALFORMED: ClassVar[ErrorAction] = ErrorAction.TREAT_AS_WITHDRAW
    # Received flags when not canonical; None means canonical.
    flags: int | None = field(default=None, kw_only=True)

    @property
    def type_code(self) -> int:
        return self.TYPE_CODE

    @property
    def name(self) -> str:
        return self.NAME

    def encode_value(self, ctx: CodecContext) -> bytes:
        raise NotImplementedError

    @classmethod
    def decode_value(cls, value: bytes, ctx: CodecContext) -> Self:
        raise NotImplementedError

    def wire_flags(self, value_len: int) -> int:
        base = self.FLAGS if self.flags is None else self.flags
        base &= 0xF0
        if value_len > 255:
            base |= EXTENDED_LENGTH
        return base

    def encode(self, ctx: CodecContext) -> bytes:
        value = self.encode_value(ctx)
        if len(value) > 0xFFFF:
            raise ValueError(f"{self.name} value of {len(value)} octets")
        flags = self.wire_flags(len(value))
        if flags & EXTENDED_LENGTH:
            head = bytes([flags, self.type_code]) + len(value).to_bytes(2, "big")
        else:
            head = bytes([flags, self.type_code, len(value)])
        return head + value

    @classmethod
    def malformed(
        cls,
        reason: str,
        subcode: UpdateSubcode = UpdateSubcode.ATTRIBUTE_LENGTH_ERROR,
        *,
        action: ErrorAction | None = None,
    ) -> BgpError:
        """The error this attribute raises; the UPDATE decoder fills in the data field."""
        return update_error(
            subcode,
            reason,
            where=f"UPDATE attribute {cls.NAME}",
            action=cls.MALFORMED if action is None else action,
        )

    def with_partial(self) -> Self:
        """This attribute as passed on by a speaker that did not interpret it (RFC 4271 5)."""
        base = self.FLAGS if self.flags is None else self.flags
        return replace(self, flags=base | PARTIAL)


def canonical_flags(cls: type[PathAttribute], received: int, value_len: int) -> int | None:
    """What to store in ``flags``: None when ``received`` is what encode would produce."""
    expected = cls.FLAGS | (EXTENDED_LENGTH if value_len > 255 else 0)
    return None if (received & 0xF0) == expected else received & 0xF0


_A = TypeVar("_A", bound=type[PathAttribute])
ATTRIBUTE_CLASSES: dict[int, type[PathAttribute]] = {}


def register_attribute(cls: _A) -> _A:
    """Class decorator: dispatch this type code to ``cls`` when decoding UPDATEs."""
    ATTRIBUTE_CLASSES[cls.TYPE_CODE] = cls
    return cls


@dataclass(frozen=True, slots=True)
class UnknownAttribute(PathAttribute):
    """An attribute we do not interpret, kept byte for byte with its received flags.

    RFC 4271 5: an unrecognized optional transitive attribute is passed on with
    the Partial bit set (see :meth:`PathAttribute.with_partial`); an optional
    non-transitive one is quietly ignored by the receiver and not passed on.
    """

    code: int = 0
    value: bytes = b""

    @property
    def type_code(self) -> int:
        return self.code

    @property
    def name(self) -> str:
        return f"type {self.code}"

    def wire_flags(self, value_len: int) -> int:
        base = (self.flags if self.flags is not None else OPTIONAL_TRANSITIVE) & 0xF0
        if value_len > 255:
            base |= EXTENDED_LENGTH
        return base

    @property
    def transitive(self) -> bool:
        return bool(self.wire_flags(len(self.value)) & TRANSITIVE)

    def encode_value(self, ctx: CodecContext) -> bytes:
        return self.value
