"""One IKE SA: message IDs, retransmission, duplicate detection, task queue, timers.

Sans-I/O: :meth:`IkeSa.receive` takes a datagram and the time, :meth:`IkeSa.tick`
takes the time; results accumulate in ``outbox`` (datagrams to send) and
``events``. Window size 1 each way (RFC 7296 2.3): one request of ours in
flight, and the next request we accept from the peer is ``mid_in``; a copy of
``mid_in - 1`` gets the cached response again (2.1).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from typing import ClassVar, Protocol

from controller.ipsec.ike.child import ChildSa, ChildState
from controller.ipsec.ike.config import IkeConfig
from controller.ipsec.ike.crypto.cipher import SkCipher
from controller.ipsec.ike.crypto.keys import IkeKeys, IkeSuite
from controller.ipsec.ike.events import ChildDown, Event, IkeDown
from controller.ipsec.ike.state import (
    DONE,
    HALF_OPEN_TIMEOUT,
    RETRY,
    Addr,
    Datagram,
    IkeState,
)
from controller.ipsec.ike.wire.consts import ExchangeType
from controller.ipsec.ike.wire.errors import IkeError
from controller.ipsec.ike.wire.header import IkeHeader
from controller.ipsec.ike.wire.ident import Identity
from controller.ipsec.ike.wire.message import (
    Fragment,
    Message,
    Reassembler,
    decode_message,
    encode_message,
)

__all__ = ["Addr", "Datagram", "Exchanges", "IkeSa", "IkeState", "Task", "random_spi"]


def random_spi() -> int:
    """An inbound ESP SPI (>= 256, RFC 4303 2.1) when no installer allocates them."""
    while True:  # uniform over 256..2**32-1; one system call, retried 1 time in 2**24
        spi = int.from_bytes(os.urandom(4), "big")
        if spi >= 0x100:
            return spi


class Task:
    """An exchange as a task (``tasks/``). The initiator calls ``build(sa, request)`` then
    ``process(sa, response)``; the responder ``process(sa, request)`` then ``build(sa,
    response)``. ``process`` returns DONE, or RETRY to have the request built and sent
    again (COOKIE, INVALID_KE_PAYLOAD). Errors are :class:`IkeError`."""

    exchange: ClassVar[int]

    def __init__(self, initiator: bool) -> None:
        self.initiator = initiator

    def build(self, sa: IkeSa, msg: Message) -> None:
        raise NotImplementedError

    def process(self, sa: IkeSa, msg: Message) -> str:
        raise NotImplementedError

    def obsolete(self, sa: IkeSa) -> bool:
        """True if there is no longer any point in sending this request."""
        return False

    def responded(self, sa: IkeSa) -> None:
        """Responder side: our response has been sent (e.g. now drop a deleted SA)."""

    def failed(self, sa: IkeSa, reason: str) -> None:
        """The exchange could not complete (error notify, timeout); default: nothing."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({'i' if self.initiator else 'r'})"


class Exchanges(Protocol):
    """The exchanges an IKE SA runs on its own (``exchanges.py``), given to it by whoever
    makes it: every task works on an IkeSa, so this module drives them but imports none."""

    def on_request(
        self, sa: IkeSa, msg: Message, raw: bytes, src: Addr, dst: Addr, now: float
    ) -> None: ...

    def refuse(self, sa: IkeSa, data: bytes, exc: IkeError) -> None: ...

    def timers_due(self, sa: IkeSa, now: float) -> None: ...

    def rekey_child(self, sa: IkeSa, child: ChildSa, now: float) -> None: ...

    def move(self, sa: IkeSa, local_ip: str | None, remote_ip: str | None, now: float) -> bool: ...


class IkeSa:
    def __init__(
        self,
        cfg: IkeConfig,
        initiator: bool,
        local: Addr,
        remote: Addr,
        now: float,
        spi_i: bytes | None = None,
        spi_r: bytes | None = None,
        spi_alloc: Callable[[], int] = random_spi,
        *,
        exchanges: Exchanges,
    ) -> None:
        self.cfg = cfg
        self.exchanges = exchanges
        self.initiator = initiator  # original initiator (the I flag we send)
        self.local, self.remote = local, remote
        self.spi_i = spi_i if spi_i is not None else os.urandom(8)
        self.spi_r = spi_r if spi_r is not None else (bytes(8) if initiator else os.urandom(8))
        self.spi_alloc = spi_alloc
        self.state = IkeState.CONNECTING
        self.suite: IkeSuite | None = None
        self.keys: IkeKeys | None = None
        self.cipher_out: SkCipher | None = None
        self.cipher_in: SkCipher | None = None
        self.ni = self.nr = b""
        self.init_request = self.init_response = b""  # RealMessage1/2 for AUTH
        self.peer_fragments = False
        self.nat_here = self.nat_there = False
        self.peer_mobike = False  # both ends said MOBIKE_SUPPORTED (RFC 4555)
        self.remote_id = ""
        self.peer_cert: object | None = None  # the peer's validated end certificate (x509)
        self.children: list[ChildSa] = []
        self.mid_out = self.mid_in = 0
        self.pending: deque[Task] = deque()
        self.active: Task | None = None
        self._sent: list[bytes] = []
        self._tries = 0
        self._retransmit_at: float | None = None
        self.last_response: tuple[int, list[bytes]] | None = None
        self._reasm = Reassembler()
        self.outbox: list[Datagram] = []
        self.events: list[Event] = []
        self.successor: IkeSa | None = None  # the SA an IKE rekey replaced this one with
        self.spawned: list[IkeSa] = []  # every SA a rekey created here (the daemon adopts them)
        self.collision: tuple[IkeSa, bytes] | None = None  # peer's rekey during ours, its nonce
        self.created = now
        self.last_heard = now
        self.last_sent = now
        self.rekey_at: float | None = None
        self.expire_at: float | None = None
        self.log: Callable[[str], None] = lambda line: None
        # responder: find the config for the identity in IDi (several peers, one daemon)
        self.lookup: Callable[[Identity], IkeConfig | None] | None = None
        # initiator: asked when IKE_AUTH is built; True = no other SA with this peer, so
        # send INITIAL_CONTACT
        self.first_contact: Callable[[IkeSa], bool] | None = None
        # responder: the peer sent INITIAL_CONTACT; the daemon drops its older SAs
        self.on_initial_contact: Callable[[IkeSa], None] | None = None
        # responder: an authenticated peer came from another address than its config's
        # remote_addr (it moved); called with that old address before CHILD_SAs are chosen
        self.on_readdressed: Callable[[IkeSa, str], None] | None = None
        # the peer has just authenticated (identity, certificate); the app may refuse it
        # by raising IkeError, and as responder replace ``cfg`` with one made for this
        # peer (a peer discovered by its certificate) before its CHILD_SA is chosen
        self.on_authenticated: Callable[[IkeSa], None] | None = None

    def __repr__(self) -> str:
        return (
            f"IkeSa({self.cfg.name}, {self.spi_i.hex()}_i {self.spi_r.hex()}_r, {self.state.value})"
        )

    @property
    def spis(self) -> tuple[bytes, bytes]:
        return (self.spi_i, self.spi_r)

    @property
    def encap(self) -> bool:
        return self.nat_here or self.nat_there or self.cfg.force_encap

    # -- requests we send ---------------------------------------------------------

    def queue(self, task: Task, now: float) -> None:
        self.pending.append(task)
        self.start_next(now)

    def start_next(self, now: float) -> None:
        if self.active is not None or not self.pending or self.state == IkeState.DELETED:
            return
        while self.pending:
            task = self.pending.popleft()
            if not task.obsolete(self):
                self.active = task
                self._send_request(now)
                return

    def _send_request(self, now: float) -> None:
        assert self.active is not None
        req = Message(
            self.active.exchange, self.mid_out, self.spi_i, self.spi_r, False, self.initiator
        )
        req.encrypted = self.active.exchange != ExchangeType.IKE_SA_INIT
        self.active.build(self, req)
        self._sent = self.encode(req)
        if req.exchange == ExchangeType.IKE_SA_INIT:
            self.init_request = self._sent[0]
        self._tries = 0
        self._retransmit_at = now + self.cfg.retransmit_base
        self.emit(self._sent, now)

    def encode(self, msg: Message) -> list[bytes]:
        frag = self.cfg.fragment_size if self.peer_fragments else None
        return encode_message(msg, self.cipher_out if msg.encrypted else None, frag)

    def emit(self, packets: list[bytes], now: float | None = None) -> None:
        self.outbox += [Datagram(p, self.local, self.remote) for p in packets]
        if now is not None:
            self.last_sent = now

    # -- datagrams we receive -------------------------------------------------------

    def receive(
        self,
        data: bytes,
        src: Addr,
        dst: Addr,
        now: float,
        decoded: Message | None = None,
        header: IkeHeader | None = None,
    ) -> None:
        """One datagram for this SA; never raises for anything the peer sent.

        ``decoded``: the datagram already decoded (an IKE_SA_INIT request, in the clear);
        ``header``: its IKE header, already decoded (by the daemon, to find this SA).
        """
        try:
            got = decoded
            if got is None:
                one = decode_message(data, self.cipher_in, header)
                got = self._reasm.add(one) if isinstance(one, Fragment) else one
                if got is None:
                    return
        except IkeError as exc:
            self.log(f"{self.cfg.name}: dropped message from {src[0]}:{src[1]}: {exc}")
            if exc.authenticated and exc.notify is not None:
                self.exchanges.refuse(self, data, exc)
            return
        self.last_heard = now
        self._reasm.forget_below(min(self.mid_in, self.mid_out))  # stale partial messages
        got_raw = data
        if got.response:
            self._on_response(got, got_raw, now)
        else:
            self.exchanges.on_request(self, got, got_raw, src, dst, now)

    def _on_response(self, msg: Message, raw: bytes, now: float) -> None:
        task = self.active
        if task is None or msg.message_id != self.mid_out or msg.exchange != task.exchange:
            self.log(f"{self.cfg.name}: unexpected response {msg.message_id}, dropped")
            return
        if msg.exchange == ExchangeType.IKE_SA_INIT:
            self.init_response = raw
        try:
            result = task.process(self, msg)
        except IkeError as exc:
            self.log(f"{self.cfg.name}: {task!r} failed: {exc}")
            self._finish_request(now)
            task.failed(self, str(exc))
            if msg.exchange in (ExchangeType.IKE_SA_INIT, ExchangeType.IKE_AUTH):
                self.fail(f"{ExchangeType(msg.exchange).name} failed: {exc}")
            self.start_next(now)
            return
        if result == RETRY:
            if msg.exchange != ExchangeType.IKE_SA_INIT:
                self.mid_out += 1  # that exchange is over; the retry is a new request
            self._send_request(now)
            return
        assert result == DONE
        self._finish_request(now)
        self.start_next(now)

    def _finish_request(self, now: float) -> None:
        self.active = None
        self._sent = []
        self._retransmit_at = None
        self.mid_out += 1

    # -- timers ---------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        times = [t for t in (self._retransmit_at, self.rekey_at, self.expire_at) if t is not None]
        state = self.state
        if state == IkeState.CONNECTING and not self.initiator:
            times.append(self.created + HALF_OPEN_TIMEOUT)
        elif state == IkeState.ESTABLISHED:
            if self.cfg.dpd_seconds:
                times.append(self.last_heard + self.cfg.dpd_seconds)
            if self.nat_here:
                times.append(self.last_sent + self.cfg.nat_keepalive)
        for c in self.children:
            if c.rekey_at is not None:
                times.append(c.rekey_at)
            if c.expire_at is not None:
                times.append(c.expire_at)
        return min(times) if times else None

    def tick(self, now: float) -> None:
        if self.state == IkeState.DELETED:
            return
        half_open = self.state == IkeState.CONNECTING and not self.initiator
        if half_open and now >= self.created + HALF_OPEN_TIMEOUT:
            self.fail("half-open: the initiator never completed IKE_AUTH")
            return
        if self._retransmit_at is not None and now >= self._retransmit_at:
            self._tries += 1
            if self._tries > self.cfg.retransmit_tries:
                self.fail(f"no response after {self.cfg.retransmit_tries} retransmissions")
                return
            self._retransmit_at = now + self.cfg.retransmit_base * 2**self._tries
            self.emit(self._sent, now)
        self.exchanges.timers_due(self, now)
        self.start_next(now)
        natted = self.state == IkeState.ESTABLISHED and self.nat_here
        if natted and now >= self.last_sent + self.cfg.nat_keepalive:
            self.outbox.append(Datagram(b"\xff", self.local, self.remote, keepalive=True))
            self.last_sent = now

    # -- endings --------------------------------------------------------------------

    def move(self, now: float, local_ip: str | None = None, remote_ip: str | None = None) -> bool:
        """Mobility: new addresses; True if MOBIKE tells the peer (RFC 4555 3.5)."""
        return self.exchanges.move(self, local_ip, remote_ip, now)

    def rekey_child(self, child: ChildSa, now: float) -> None:
        """Rekey now (e.g. the ESP engine's soft lifetime fired)."""
        self.exchanges.rekey_child(self, child, now)

    def fail(self, reason: str) -> None:
        """Tear down locally (no message): children down, SA down."""
        if self.state == IkeState.DELETED:
            return
        for child in list(self.children):
            self.remove_child(child, reason)
        self.state = IkeState.DELETED
        self.active = None
        self.pending.clear()
        self._retransmit_at = None
        self.events.append(IkeDown(self.cfg.name, self.spis, reason))

    def remove_child(self, child: ChildSa, reason: str) -> None:
        if child in self.children:
            self.children.remove(child)
            child.state = ChildState.DELETED
            self.events.append(ChildDown(self.cfg.name, child, reason))

    def find_child(self, spi: int, inbound: bool) -> ChildSa | None:
        for c in self.children:
            if (c.spi_in if inbound else c.spi_out) == spi:
                return c
        return None
