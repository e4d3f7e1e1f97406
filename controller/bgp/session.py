"""One BGP session, sans I/O: bytes and time in; bytes, connection requests and events out.

``Session`` puts the wire codecs around the RFC 4271 FSM: it splits the TCP
stream into messages, decodes them with the context the OPEN exchange set,
feeds the FSM, and turns the FSM's actions into bytes. UPDATEs and
ROUTE-REFRESHes that arrive in Established go up as events for the speaker.

The adapter (``aio.py``) owns sockets and the clock: it calls the ``on_*``
methods and ``poll(now)``, then drains ``transport_ops()`` and ``events()``.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from controller.bgp import fsm as f
from controller.bgp.config import NeighborConfig, SpeakerConfig
from controller.bgp.negotiate import Negotiated, local_open, negotiate
from controller.bgp.path import Color, IPAddress
from controller.bgp.wire.constants import ErrorCode, MessageType
from controller.bgp.wire.context import PRE_OPEN_CONTEXT, CodecContext
from controller.bgp.wire.errors import BgpError
from controller.bgp.wire.keepalive import Keepalive
from controller.bgp.wire.message import HEADER_LEN, BgpMessage, FrameReader, decode_message
from controller.bgp.wire.notification import Notification
from controller.bgp.wire.open import Open
from controller.bgp.wire.route_refresh import RouteRefreshMessage

log = logging.getLogger(__name__)


# ---- what the transport must do --------------------------------------------------


@dataclass(frozen=True)
class Connect:
    """Open a TCP connection to the neighbour."""


@dataclass(frozen=True)
class Write:
    conn: int
    data: bytes


@dataclass(frozen=True)
class Close:
    conn: int


TransportOp = Connect | Write | Close

# ---- what the speaker learns ----------------------------------------------------


@dataclass(frozen=True)
class Up:
    negotiated: Negotiated


@dataclass(frozen=True)
class Down:
    reason: str
    # The session ended the way RFC 4724 covers (TCP loss, hold timer, transport
    # protection lost, the peer reconnecting): a graceful restart peer's routes stay.
    graceful: bool


@dataclass(frozen=True)
class Received:
    """An UPDATE or ROUTE-REFRESH received in Established."""

    message: BgpMessage


SessionEvent = Up | Down | Received


def describe(note: Notification) -> str:
    """A NOTIFICATION for logs and show output, with at most 8 octets of its data.

    The data often echoes an attribute, which may hold a Security Handle: enough
    to see which attribute it was, not the value.
    """
    if note.shutdown_message is not None or len(note.data) <= 8:
        return str(note)
    short = Notification(note.code, note.subcode, note.data[:8])
    return f"{short}... ({len(note.data)} octets)"


class Session:
    def __init__(self, neighbor: NeighborConfig, cfg: SpeakerConfig) -> None:
        self.neighbor = neighbor
        self.cfg = cfg
        self.fsm = f.Fsm(
            f.FsmConfig(
                local_as=cfg.local_as,
                peer_as=neighbor.remote_as,
                router_id=cfg.router_id,
                hold_time=neighbor.hold_time,
                connect_retry_time=neighbor.connect_retry_time,
                idle_hold_time=neighbor.idle_hold_time,
                passive=neighbor.passive,
                delay_open_time=neighbor.delay_open_time,
                needs_protection=neighbor.color is Color.RED,
            )
        )
        self.our_open = local_open(neighbor, cfg)
        self._readers: dict[int, FrameReader] = {}
        self._ctx: dict[int, CodecContext] = {}
        self._pending: dict[int, Negotiated] = {}
        self._ops: list[TransportOp] = []
        self._events: list[SessionEvent] = []
        self.negotiated: Negotiated | None = None
        # Kept after the session goes down: graceful restart needs the peer's capability.
        self.last_negotiated: Negotiated | None = None
        self.peer_open: Open | None = None
        self.conn: int | None = None
        # Our address on the established connection (as the adapter saw the socket).
        self.local_address: IPAddress | None = None
        self._local_addrs: dict[int, IPAddress | None] = {}
        self.counters: Counter[str] = Counter()

    # ---- queries ----

    @property
    def state(self) -> f.State:
        return self.fsm.state

    @property
    def established(self) -> bool:
        return self.conn is not None

    def transport_ops(self) -> list[TransportOp]:
        out, self._ops = self._ops, []
        return out

    def events(self) -> list[SessionEvent]:
        out, self._events = self._events, []
        return out

    def next_deadline(self) -> float | None:
        return self.fsm.next_deadline()

    # ---- inputs ----

    def start(self, now: float) -> None:
        self.fsm.start(now)
        self._run_fsm()

    def stop(self, now: float) -> None:
        self.fsm.stop(now)
        self._run_fsm()

    def set_protected(self, protected: bool, now: float) -> None:
        self.fsm.set_protected(protected, now)
        self._run_fsm()

    def set_restart_flags(self, restarting: bool, preserved: bool) -> None:
        """R and F bits of the Graceful Restart capability in the OPENs we send from now on."""
        self.our_open = local_open(self.neighbor, self.cfg, restarting, preserved)

    def poll(self, now: float) -> None:
        self.fsm.poll(now)
        self._run_fsm()

    def on_connection_made(
        self, conn: int, outbound: bool, now: float, local_address: IPAddress | None = None
    ) -> None:
        self._local_addrs[conn] = local_address
        self._readers[conn] = FrameReader(PRE_OPEN_CONTEXT)
        self._ctx[conn] = PRE_OPEN_CONTEXT
        self.fsm.connection_made(conn, outbound, now)
        self._run_fsm()

    def on_connection_failed(self, now: float) -> None:
        self.fsm.connection_failed(now)
        self._run_fsm()

    def on_connection_lost(self, conn: int, now: float) -> None:
        self._forget(conn)
        self.fsm.connection_lost(conn, now)
        self._run_fsm()

    def on_data(self, conn: int, data: bytes, now: float) -> None:
        reader = self._readers.get(conn)
        if reader is None:
            return
        reader.feed(data)
        while conn in self._readers:
            try:
                frame = reader.next_frame()
                if frame is None:
                    break
                msg = decode_message(frame, self._ctx[conn])
            except BgpError as err:
                self._error(conn, err, now)
                break
            self._dispatch(conn, msg, now)
            self._run_fsm()

    def send(self, msg: BgpMessage) -> None:
        """Send an UPDATE or ROUTE-REFRESH on the established connection."""
        if self.conn is None:
            return
        for data in self.encode_all([msg]):
            self.send_encoded(data, msg.TYPE.name.lower())

    def encode_all(self, msgs: list[BgpMessage]) -> list[bytes]:
        """``msgs`` encoded for this session, to be sent here or on sessions with the same
        codec (an update group); one that cannot be encoded is logged, counted and left out."""
        if self.conn is None:
            return []
        ctx = self._ctx[self.conn]
        out = []
        for msg in msgs:
            try:
                out.append(msg.encode(ctx))
            except ValueError as exc:  # MessageTooLong and values the codec cannot carry
                name = msg.TYPE.name
                log.warning("neighbor %s: %s not sent: %s", self.neighbor.address, name, exc)
                self.counters["send-errors"] += 1
        return out

    def send_encoded(self, data: bytes, kind: str) -> None:
        """Send a message ``encode_all`` made; ``kind`` names its type for the counters."""
        if self.conn is None:
            return
        self._ops.append(Write(self.conn, data))
        self.counters[f"out-{kind}"] += 1

    def reset(self, err: BgpError, now: float) -> None:
        """Tear the session down with the NOTIFICATION ``err`` names (RFC 7606 session reset)."""
        if self.conn is not None:
            self._error(self.conn, err, now)

    # ---- internals ----

    def _error(self, conn: int, err: BgpError, now: float) -> None:
        log.warning("neighbor %s: %s", self.neighbor.address, err)
        self.counters["errors"] += 1
        self.fsm.protocol_error(conn, err, now)
        self._run_fsm()

    def _dispatch(self, conn: int, msg: BgpMessage, now: float) -> None:
        self.counters[f"in-{msg.TYPE.name.lower()}"] += 1
        if isinstance(msg, Open):
            self._on_open(conn, msg, now)
        elif isinstance(msg, Keepalive):
            self.fsm.keepalive_received(conn, now)
        elif isinstance(msg, Notification):
            text = describe(msg)
            log.warning("neighbor %s sent %s", self.neighbor.address, text)
            self.fsm.notification_received(conn, text, now)
        elif msg.TYPE in (MessageType.UPDATE, MessageType.ROUTE_REFRESH):
            if not self.fsm.update_received(conn, now):
                return
            if isinstance(msg, RouteRefreshMessage) and not (
                self.negotiated and self.negotiated.route_refresh
            ):
                log.warning(
                    "neighbor %s: ROUTE-REFRESH without the capability, ignored",
                    self.neighbor.address,
                )
                return
            self._events.append(Received(msg))

    def _on_open(self, conn: int, msg: Open, now: float) -> None:
        if not self.fsm.accepts_open(conn):
            self.fsm.open_received(conn, f.PeerOpen(msg.asn, msg.hold_time, msg.bgp_id), now)
            return
        try:
            msg.validate()
            neg = negotiate(self.our_open, msg, self.cfg)
        except BgpError as err:
            self._error(conn, err, now)
            return
        self._pending[conn] = neg
        gr = neg.graceful_restart
        restarting = gr is not None and gr.restarting
        self.fsm.open_received(
            conn, f.PeerOpen(msg.asn, msg.hold_time, msg.bgp_id, restarting), now
        )
        if conn in self.fsm.conns:
            self._ctx[conn] = neg.codec
            self._readers[conn].ctx = neg.codec
            if self.peer_open is None or self.conn is None:
                self.peer_open = msg

    def _run_fsm(self) -> None:
        for act in self.fsm.take_actions():
            if isinstance(act, f.Connect):
                self._ops.append(Connect())
            elif isinstance(act, f.SendOpen):
                self._write(act.conn, self.our_open)
            elif isinstance(act, f.SendKeepalive):
                self._write(act.conn, Keepalive())
            elif isinstance(act, f.SendNotification):
                note = Notification(act.code, act.subcode, act.data)
                if act.code != ErrorCode.CEASE:
                    log.warning("neighbor %s: sending %s", self.neighbor.address, describe(note))
                self._write(act.conn, note)
            elif isinstance(act, f.Close):
                self._ops.append(Close(act.conn))
                self._forget(act.conn)
            elif isinstance(act, f.Established):
                self.conn = act.conn
                self.local_address = self._local_addrs.get(act.conn)
                self.negotiated = self._pending.pop(act.conn)
                self.last_negotiated = self.negotiated
                gr = self.negotiated.graceful_restart
                self.fsm.peer_restarts_gracefully = gr is not None
                self.counters["established"] += 1
                log.info("neighbor %s: Established", self.neighbor.address)
                self._events.append(Up(self.negotiated))
            elif isinstance(act, f.Down):
                log.info("neighbor %s: down: %s", self.neighbor.address, act.reason)
                self.conn = None
                self.negotiated = None
                self._events.append(Down(act.reason, act.graceful))

    def _write(self, conn: int, msg: BgpMessage) -> None:
        ctx = self._ctx.get(conn, PRE_OPEN_CONTEXT)
        if isinstance(msg, Notification):
            # The data may echo the peer's offending message, which can be as long as
            # a message may be: cut it so the NOTIFICATION itself fits (found by fuzzing).
            room = ctx.max_message_len - HEADER_LEN - 2
            if len(msg.data) > room:
                msg = Notification(msg.code, msg.subcode, msg.data[:room])
        self._ops.append(Write(conn, msg.encode(ctx)))

    def _forget(self, conn: int) -> None:
        self._readers.pop(conn, None)
        self._ctx.pop(conn, None)
        self._pending.pop(conn, None)
        self._local_addrs.pop(conn, None)
