"""IKE messages: header + payloads, sealed in SK or split into SKF fragments.

A :class:`Message` carries payloads by meaning; ``encrypted`` says whether they go
inside an SK payload (everything after IKE_SA_INIT) or travel in the clear.
:func:`encode_message` yields one datagram or, when fragmentation is on and the
message is too big, RFC 7383 fragments. :func:`decode_message` opens SK; SKF
fragments come back as :class:`Fragment` for a :class:`Reassembler`.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from controller.ipsec.ike.wire import auth, ident, notify, sa, simple, sk, ts  # noqa: F401 (registry)
from controller.ipsec.ike.wire.consts import Flag, Notify, PayloadType
from controller.ipsec.ike.wire.errors import IkeError, syntax
from controller.ipsec.ike.wire.header import HEADER_LEN, IkeHeader
from controller.ipsec.ike.wire.notify import NotifyPayload
from controller.ipsec.ike.wire.payload import (
    GENERIC_LEN,
    Payload,
    decode_chain,
    decode_raws,
    encode_chain,
    split_chain,
)

if TYPE_CHECKING:
    from controller.ipsec.ike.crypto.cipher import SkCipher

T = TypeVar("T", bound=Payload)
_ENCRYPTED = (PayloadType.SK, PayloadType.SKF)
_RESPONSE, _INITIATOR = int(Flag.RESPONSE), int(Flag.INITIATOR)
_GENERIC = struct.Struct("!BBH")
MAX_FRAGMENTS = 64  # bound on reassembly state a peer can make us hold


@dataclass
class Message:
    exchange: int
    message_id: int
    spi_i: bytes
    spi_r: bytes
    response: bool
    initiator: bool  # the I flag: sent by the original initiator of the IKE SA
    payloads: list[Payload] = field(default_factory=list)
    encrypted: bool = False

    def get(self, cls: type[T]) -> T | None:
        for p in self.payloads:
            if isinstance(p, cls):
                return p
        return None

    def all(self, cls: type[T]) -> list[T]:
        return [p for p in self.payloads if isinstance(p, cls)]

    def notify(self, ntype: int) -> NotifyPayload | None:
        for p in self.payloads:
            if isinstance(p, NotifyPayload) and p.notify_type == ntype:
                return p
        return None

    def error_notify(self) -> NotifyPayload | None:
        for p in self.payloads:
            if isinstance(p, NotifyPayload) and p.is_error:
                return p
        return None

    @property
    def flags(self) -> int:
        return (_RESPONSE if self.response else 0) | (_INITIATOR if self.initiator else 0)

    def header(self, next_payload: int, length: int) -> IkeHeader:
        return IkeHeader(
            self.spi_i, self.spi_r, next_payload, self.exchange, self.flags, self.message_id, length
        )

    def encoded_header(self, next_payload: int, length: int) -> bytes:
        return IkeHeader.pack(
            self.spi_i, self.spi_r, next_payload, self.exchange, self.flags, self.message_id, length
        )


def encode_message(
    msg: Message, cipher: SkCipher | None = None, fragment_size: int | None = None
) -> list[bytes]:
    """Datagrams for ``msg``; ``fragment_size`` (max datagram octets) enables RFC 7383."""
    if not msg.encrypted:
        first, body = encode_chain(msg.payloads)
        return [msg.encoded_header(first, HEADER_LEN + len(body)) + body]
    if cipher is None:
        raise ValueError("an encrypted message needs an SK cipher")
    first, inner = encode_chain(msg.payloads)
    whole = HEADER_LEN + GENERIC_LEN + cipher.sealed_len(len(inner))
    if fragment_size is None or whole <= fragment_size:
        head = msg.encoded_header(PayloadType.SK, whole)
        head += _GENERIC.pack(first, 0, whole - HEADER_LEN)
        return [head + cipher.seal(head, inner)]
    overhead = HEADER_LEN + GENERIC_LEN + 4 + cipher.sealed_len(0)
    room = max(fragment_size - overhead - 16, 16)  # 16: worst-case CBC padding
    chunks = [inner[i : i + room] for i in range(0, len(inner), room)]
    out = []
    for n, chunk in enumerate(chunks, 1):
        length = HEADER_LEN + GENERIC_LEN + 4 + cipher.sealed_len(len(chunk))
        head = msg.encoded_header(PayloadType.SKF, length)
        gen = struct.pack("!BBH", first if n == 1 else 0, 0, length - HEADER_LEN)
        gen += struct.pack("!HH", n, len(chunks))
        out.append(head + gen + cipher.seal(head + gen, chunk))
    return out


def _authenticated(
    decode: Callable[[int, bytes], list[Payload]], first: int, data: bytes
) -> list[Payload]:
    """Decode verified plaintext; errors from here may be answered with a NOTIFY."""
    try:
        return decode(first, data)
    except IkeError as exc:
        exc.authenticated = True
        raise


@dataclass
class Fragment:
    """One opened RFC 7383 fragment, waiting for its siblings."""

    header: IkeHeader
    number: int
    total: int
    first_inner: int
    plain: bytes


def decode_message(
    data: bytes, cipher: SkCipher | None = None, header: IkeHeader | None = None
) -> Message | Fragment:
    """Parse (and open) one datagram. Raises only :class:`IkeError`.

    ``header``: ``IkeHeader.decode(data)`` when the caller has it already.
    """
    hdr = header if header is not None else IkeHeader.decode(data)
    msg = Message(
        hdr.exchange, hdr.message_id, hdr.spi_i, hdr.spi_r, hdr.is_response, hdr.from_initiator
    )
    raws = split_chain(hdr.next_payload, data, HEADER_LEN)
    if not raws or raws[-1][0] not in _ENCRYPTED:
        msg.payloads = decode_raws(raws)
        return msg
    if len(raws) > 1:
        # RFC 7296 3.14: nothing may precede SK except in IKE_SA_INIT (not encrypted)
        raise syntax("payloads in the clear before the encrypted payload")
    if cipher is None:
        raise IkeError(None, "encrypted payload but no keys for this IKE SA yet")
    msg.encrypted = True
    kind, _, body = raws[0]
    # the only payload, so its generic header sits right after the IKE header
    (first_inner,) = struct.unpack_from("!B", data, HEADER_LEN)
    aad_end = HEADER_LEN + GENERIC_LEN
    if kind == PayloadType.SK:
        plain = cipher.open(data[:aad_end], body)
        msg.payloads = _authenticated(decode_chain, first_inner, plain)
        return msg
    if len(body) < 4:
        raise syntax("SKF payload truncated")
    number, total = struct.unpack_from("!HH", body)
    if not 1 <= number <= total or total > MAX_FRAGMENTS:
        raise IkeError(None, f"fragment {number} of {total} is out of range")
    if (number == 1) == (first_inner == 0):
        raise IkeError(None, f"fragment {number} has next payload {first_inner}")
    plain = cipher.open(data[: aad_end + 4], body[4:])
    return Fragment(hdr, number, total, first_inner, plain)


class Reassembler:
    """Collects SKF fragments per message ID (RFC 7383 2.6)."""

    def __init__(self) -> None:
        self._parts: dict[tuple[int, bool], dict[int, Fragment]] = {}

    def add(self, frag: Fragment) -> Message | None:
        key = (frag.header.message_id, frag.header.is_response)
        parts = self._parts.setdefault(key, {})
        if parts and next(iter(parts.values())).total != frag.total:
            raise IkeError(None, f"fragment total changed to {frag.total} mid-message")
        parts[frag.number] = frag
        if len(parts) < frag.total:
            return None
        del self._parts[key]
        ordered = [parts[n] for n in range(1, frag.total + 1)]
        hdr = frag.header
        msg = Message(
            hdr.exchange,
            hdr.message_id,
            hdr.spi_i,
            hdr.spi_r,
            hdr.is_response,
            hdr.from_initiator,
            encrypted=True,
        )
        whole = b"".join(f.plain for f in ordered)
        msg.payloads = _authenticated(decode_chain, ordered[0].first_inner, whole)
        return msg

    def forget_below(self, message_id: int) -> None:
        for key in [k for k in self._parts if k[0] < message_id]:
            del self._parts[key]


def error_response(request: Message, ntype: Notify, data: bytes = b"") -> Message:
    """A response carrying only one error NOTIFY."""
    return Message(
        request.exchange,
        request.message_id,
        request.spi_i,
        request.spi_r,
        True,
        not request.initiator,
        [NotifyPayload(ntype, data)],
        request.encrypted,
    )
