"""A minimal test-side BGP speaker: a socket driven with our own codecs, no FSM.

It sends OPEN, answers with KEEPALIVE, sends whatever UPDATEs a test gives it
and collects what the peer sends, keeping every received frame's bytes (these
double as captures of the peer's encoding for the golden vectors).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from controller.bgp.wire import (
    IPV4_UNICAST,
    BgpMessage,
    Capability,
    CodecContext,
    EnhancedRouteRefresh,
    ExtendedMessage,
    Family,
    FourOctetAs,
    FrameReader,
    Keepalive,
    MultiProtocol,
    Notification,
    Open,
    RouteRefresh,
    Update,
    decode_message,
)
from controller.bgp.wire.attributes import MpUnreachNlri
from controller.bgp.wire.context import PRE_OPEN_CONTEXT


class PeerClosed(AssertionError):
    """The peer closed the connection or sent a NOTIFICATION (message says which)."""


@dataclass
class Received:
    raw: bytes
    message: BgpMessage


@dataclass
class RawSpeaker:
    sock: socket.socket
    asn: int
    router_id: str
    families: tuple[Family, ...]
    hold_time: int = 90
    ctx: CodecContext = PRE_OPEN_CONTEXT
    received: list[Received] = field(default_factory=list)
    peer_open: Open | None = None
    _reader: FrameReader = field(default_factory=lambda: FrameReader(PRE_OPEN_CONTEXT))

    def send(self, msg: BgpMessage) -> bytes:
        data = msg.encode(self.ctx)
        self.sock.sendall(data)
        return data

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _recv_one(self, deadline: float) -> Received:
        while True:
            frame = self._reader.next_frame()
            if frame is not None:
                msg = decode_message(frame, self.ctx)
                rec = Received(frame, msg)
                self.received.append(rec)
                if isinstance(msg, Notification):
                    raise PeerClosed(f"peer sent {msg}")
                if isinstance(msg, Keepalive) and self.peer_open is not None:
                    self.send(Keepalive())
                return rec
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no complete BGP message from the peer in time")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise PeerClosed("peer closed the TCP connection")
            self._reader.feed(chunk)

    def establish(
        self, extra: Iterable[Capability] = (), timeout: float = 15, *, four_octet: bool = True
    ) -> Open:
        """OPEN/KEEPALIVE exchange; returns the peer's OPEN and sets the session context.

        ``four_octet=False`` plays an old (RFC 4271-only) speaker: no 4-octet AS
        capability, so the peer must send AS_PATH with AS_TRANS plus AS4_PATH.
        """
        caps: list[Capability] = [MultiProtocol(f.afi, f.safi) for f in self.families]
        caps += [RouteRefresh(), EnhancedRouteRefresh(), *extra]
        self.send(
            Open.create(self.asn, self.hold_time, self.router_id, caps, four_octet=four_octet)
        )
        deadline = time.monotonic() + timeout
        rec = self._recv_one(deadline)
        if not isinstance(rec.message, Open):
            raise AssertionError(f"expected OPEN, got {rec.message}")
        self.peer_open = rec.message
        both = four_octet and rec.message.find(FourOctetAs) is not None
        # RFC 8654: large messages only once both sides offered Extended Message.
        extended = any(isinstance(c, ExtendedMessage) for c in caps) and (
            rec.message.find(ExtendedMessage) is not None
        )
        self.ctx = CodecContext(four_octet_as=both, extended_message=extended)
        self._reader.ctx = self.ctx
        self.send(Keepalive())
        while not isinstance(self._recv_one(deadline).message, Keepalive):
            pass
        return rec.message

    def wait_update(self, predicate: Callable[[Update], bool], timeout: float = 20) -> Update:
        """The first UPDATE (new or already received) for which ``predicate`` is true."""
        for rec in self.received:
            if isinstance(rec.message, Update) and predicate(rec.message):
                return rec.message
        deadline = time.monotonic() + timeout
        while True:
            rec = self._recv_one(deadline)
            if isinstance(rec.message, Update) and predicate(rec.message):
                return rec.message

    def send_end_of_rib(self) -> None:
        """End-of-RIB for every family we offered (RFC 4724 2): FRR, for one, ignores
        ROUTE-REFRESH requests from a peer that has not sent them yet."""
        for fam in self.families:
            if fam == IPV4_UNICAST:
                self.send(Update())
            else:
                self.send(Update(attributes=(MpUnreachNlri(fam.afi, fam.safi),)))

    def collect(self, done: Callable[[], bool], timeout: float = 20) -> None:
        """Receive (into ``received``) until ``done()`` holds; TimeoutError if it never does."""
        deadline = time.monotonic() + timeout
        while not done():
            self._recv_one(deadline)

    def raw_of(self, update: Update) -> bytes:
        for rec in self.received:
            if rec.message is update:
                return rec.raw
        raise KeyError("update not received by this speaker")

    def updates(self) -> list[Update]:
        return [r.message for r in self.received if isinstance(r.message, Update)]

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the peer may be gone already
            self.send(Notification.shutdown("test done"))
        self.sock.close()
