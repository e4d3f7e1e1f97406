"""The UPDATE message (RFC 4271 section 4.3) with RFC 7606 error handling.

::

    +-----------------------------------------------------+
    |   Withdrawn Routes Length (2 octets)                |
    +-----------------------------------------------------+
    |   Withdrawn Routes (variable)                       |
    +-----------------------------------------------------+
    |   Total Path Attribute Length (2 octets)            |
    +-----------------------------------------------------+
    |   Path Attributes (variable)                        |
    +-----------------------------------------------------+
    |   Network Layer Reachability Information (variable) |
    +-----------------------------------------------------+

Decoding follows RFC 7606: errors that call for a session reset raise
:class:`BgpError`; milder ones (treat-as-withdraw, attribute-discard) are
collected in ``Update.errors`` while decoding goes on, the discarded
attributes are left out, and ``Update.action`` says what the receiver must do.
Semantic checks that need no session state live in :mod:`validate`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import ClassVar, Self, TypeVar, cast

from controller.bgp.wire.attributes.base import (
    ATTRIBUTE_CLASSES,
    EXTENDED_LENGTH,
    OPTIONAL,
    PathAttribute,
    UnknownAttribute,
    canonical_flags,
)
from controller.bgp.wire.attributes.mp import MpReachNlri, MpUnreachNlri, Nlri
from controller.bgp.wire.constants import IPV4_UNICAST, Family, MessageType, UpdateSubcode
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.errors import BgpError, ErrorAction, update_error
from controller.bgp.wire.message import BgpMessage, register_message
from controller.bgp.wire.nlri.prefix import decode_prefixes, encode_prefix

_A = TypeVar("_A", bound=PathAttribute)
_MP_CODES = (MpReachNlri.TYPE_CODE, MpUnreachNlri.TYPE_CODE)
_AS4_CODES = (17, 18)  # AS4_PATH, AS4_AGGREGATOR


def _list_error(reason: str) -> BgpError:
    return update_error(
        UpdateSubcode.MALFORMED_ATTRIBUTE_LIST,
        reason,
        where="UPDATE",
        action=ErrorAction.SESSION_RESET,
    )


def _nlri_error(field_name: str) -> Callable[[str], BgpError]:
    """Malformed withdrawn routes or NLRI cannot be withdrawn safely: reset (RFC 7606 5.3)."""
    return lambda reason: update_error(
        UpdateSubcode.INVALID_NETWORK_FIELD,
        reason,
        where=f"UPDATE {field_name}",
        action=ErrorAction.SESSION_RESET,
    )


@register_message
@dataclass(frozen=True, slots=True)
class Update(BgpMessage):
    """UPDATE: IPv4 withdrawn routes, path attributes in order, IPv4 NLRI."""

    TYPE: ClassVar[MessageType] = MessageType.UPDATE
    withdrawn: tuple[ipaddress.IPv4Network, ...] = ()
    attributes: tuple[PathAttribute, ...] = ()
    nlri: tuple[ipaddress.IPv4Network, ...] = ()
    # RFC 7606 errors handled without a reset while decoding (not part of equality).
    errors: tuple[BgpError, ...] = field(default=(), compare=False, repr=False)

    @property
    def action(self) -> ErrorAction | None:
        """The most severe RFC 7606 action the errors call for, or None."""
        return max((e.action for e in self.errors), default=None)

    def get(self, kind: type[_A]) -> _A | None:
        """The attribute of this class, or None."""
        for a in self.attributes:
            if isinstance(a, kind):
                return a
        return None

    def attribute(self, type_code: int) -> PathAttribute | None:
        for a in self.attributes:
            if a.type_code == type_code:
                return a
        return None

    @property
    def end_of_rib(self) -> Family | None:
        """The family this UPDATE is the End-of-RIB marker of (RFC 4724 2), or None."""
        if not self.withdrawn and not self.nlri and not self.attributes:
            return IPV4_UNICAST
        if not self.withdrawn and not self.nlri and len(self.attributes) == 1:
            only = self.attributes[0]
            if isinstance(only, MpUnreachNlri) and not only.nlri and not only.raw_nlri:
                return only.family
        return None

    def announced(self) -> list[tuple[Family, Nlri]]:
        """Every (family, route) reachable by this UPDATE: NLRI field and MP_REACH_NLRI."""
        out: list[tuple[Family, Nlri]] = [(IPV4_UNICAST, n) for n in self.nlri]
        mp = self.get(MpReachNlri)
        if mp is not None:
            fam = mp.family
            out += [(fam, n) for n in mp.nlri]
        return out

    def withdrawals(self) -> list[tuple[Family, Nlri]]:
        """Every (family, route) withdrawn: Withdrawn Routes and MP_UNREACH_NLRI."""
        out: list[tuple[Family, Nlri]] = [(IPV4_UNICAST, n) for n in self.withdrawn]
        mp = self.get(MpUnreachNlri)
        if mp is not None:
            fam = mp.family
            out += [(fam, n) for n in mp.nlri]
        return out

    def encode_body(self, ctx: CodecContext) -> bytes:
        wd = b"".join(encode_prefix(p) for p in self.withdrawn)
        attrs = b"".join(a.encode(ctx) for a in self.attributes)
        nlri = b"".join(encode_prefix(p) for p in self.nlri)
        return len(wd).to_bytes(2, "big") + wd + len(attrs).to_bytes(2, "big") + attrs + nlri

    @classmethod
    def decode_body(cls, body: bytes, ctx: CodecContext) -> Self:
        if len(body) < 4:
            raise _list_error(f"body of {len(body)} octets")
        wlen = int.from_bytes(body[:2], "big")
        if 2 + wlen + 2 > len(body):
            raise _list_error(f"withdrawn routes length {wlen} overruns the message")
        alen = int.from_bytes(body[2 + wlen : 4 + wlen], "big")
        astart = 4 + wlen
        if astart + alen > len(body):
            raise _list_error(f"total path attribute length {alen} overruns the message")
        withdrawn = decode_prefixes(body[2 : 2 + wlen], 32, _nlri_error("withdrawn routes"))
        attributes, errors = decode_attributes(body[astart : astart + alen], ctx)
        nlri = decode_prefixes(body[astart + alen :], 32, _nlri_error("NLRI"))
        return cls(
            cast(tuple[ipaddress.IPv4Network, ...], withdrawn),
            attributes,
            cast(tuple[ipaddress.IPv4Network, ...], nlri),
            errors=errors,
        )


def decode_attributes(
    data: bytes, ctx: CodecContext
) -> tuple[tuple[PathAttribute, ...], tuple[BgpError, ...]]:
    """Decode the path attribute field; see the module docstring for error handling."""
    attrs: list[PathAttribute] = []
    errors: list[BgpError] = []
    seen: set[int] = set()
    i = 0
    while i < len(data):
        flags = data[i]
        ext = bool(flags & EXTENDED_LENGTH)
        hlen = 4 if ext else 3
        if i + hlen > len(data):
            # RFC 7606 4: too few octets left for an attribute header.
            errors.append(
                update_error(
                    UpdateSubcode.MALFORMED_ATTRIBUTE_LIST,
                    f"{len(data) - i} trailing octets in the attribute field",
                    where="UPDATE path attributes",
                )
            )
            break
        code = data[i + 1]
        vlen = int.from_bytes(data[i + 2 : i + 4], "big") if ext else data[i + 2]
        end = i + hlen + vlen
        raw = data[i:end]
        if end > len(data):
            # RFC 7606 4: the last attribute overruns the Total Path Attribute Length.
            errors.append(
                update_error(
                    UpdateSubcode.ATTRIBUTE_LENGTH_ERROR,
                    f"attribute type {code} length {vlen} overruns the attribute field",
                    where="UPDATE path attributes",
                    data=data[i:],
                )
            )
            break
        value = data[i + hlen : end]
        i = end
        if code in seen:
            # RFC 7606 3.g: repeated MP attributes reset the session; others are discarded.
            err = update_error(
                UpdateSubcode.MALFORMED_ATTRIBUTE_LIST,
                f"attribute type {code} repeated",
                where="UPDATE path attributes",
                data=raw,
                action=ErrorAction.ATTRIBUTE_DISCARD,
            )
            if code in _MP_CODES:
                raise err.with_action(ErrorAction.SESSION_RESET)
            errors.append(err)
            continue
        seen.add(code)
        if ctx.four_octet_as and code in _AS4_CODES:
            # RFC 6793 4.1: between 4-octet speakers AS4_PATH/AS4_AGGREGATOR are discarded.
            errors.append(
                update_error(
                    UpdateSubcode.OPTIONAL_ATTRIBUTE_ERROR,
                    f"attribute type {code} from a 4-octet AS speaker discarded (RFC 6793 4.1)",
                    where="UPDATE path attributes",
                    data=raw,
                    action=ErrorAction.ATTRIBUTE_DISCARD,
                )
            )
            continue
        memo = code not in _MP_CODES and len(raw) <= _MEMO_MAX_LEN
        if memo:
            known = _MEMO.get((raw, ctx))
            if known is not None:
                attrs.append(known)
                continue
        before = len(errors)
        attr = _decode_one(flags, code, value, raw, ctx, errors)
        if attr is not None:
            attrs.append(attr)
            if memo and len(errors) == before:
                if len(_MEMO) >= _MEMO_SIZE:
                    _MEMO.clear()
                _MEMO[(raw, ctx)] = attr
    return tuple(attrs), tuple(errors)


# Attributes decoded without error, by their bytes and the session's codec settings.
# The UPDATEs of one burst mostly repeat their attributes (one per route, when the
# sender does not pack them); the objects are immutable, so one decode serves all,
# and shared objects let later stages (convert.py) recognise a repeated set at once.
# MP_REACH/MP_UNREACH carry the routes themselves, never the same twice.
_MEMO: dict[tuple[bytes, CodecContext], PathAttribute] = {}
_MEMO_SIZE = 4096
_MEMO_MAX_LEN = 1024


def _decode_one(
    flags: int,
    code: int,
    value: bytes,
    raw: bytes,
    ctx: CodecContext,
    errors: list[BgpError],
) -> PathAttribute | None:
    cls = ATTRIBUTE_CLASSES.get(code)
    if cls is None:
        if not flags & OPTIONAL:
            raise update_error(
                UpdateSubcode.UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE,
                f"unrecognized well-known attribute type {code}",
                where="UPDATE path attributes",
                data=raw,
                action=ErrorAction.SESSION_RESET,
            )
        return UnknownAttribute(code=code, value=value, flags=flags & 0xF0)
    try:
        if (flags & 0xC0) != (cls.FLAGS & 0xC0):
            # RFC 7606 3.c: wrong O/T bits make the attribute malformed.
            raise cls.malformed(
                f"flags 0x{flags:02x}, expected 0x{cls.FLAGS:02x}",
                UpdateSubcode.ATTRIBUTE_FLAGS_ERROR,
            )
        attr = cls.decode_value(value, ctx)
    except BgpError as err:
        if not err.data:
            err.data = raw
        if err.action >= ErrorAction.AFI_SAFI_DISABLE:
            raise
        errors.append(err)
        if err.action == ErrorAction.ATTRIBUTE_DISCARD:
            return None
        # Treat-as-withdraw: keep the attribute raw so the UPDATE still shows what came.
        return UnknownAttribute(code=code, value=value, flags=flags & 0xF0)
    stored = canonical_flags(cls, flags, len(value))
    if stored is not None:
        attr = replace(attr, flags=stored)
    return attr
