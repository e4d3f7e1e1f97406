"""Many IKE SAs behind one address: dispatch by SPI, half-open SAs, cookies (RFC 7296 2.6).

Sans-I/O like :class:`IkeSa`: datagrams and time in; datagrams and (sa, event)
pairs out via :meth:`IkeDaemon.drain`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from collections.abc import Callable

from controller.ipsec.ike.child import ChildSa, ChildState
from controller.ipsec.ike.config import IkeConfig
from controller.ipsec.ike.events import Event
from controller.ipsec.ike.exchanges import EXCHANGES
from controller.ipsec.ike.sa import Addr, Datagram, IkeSa, IkeState, random_spi
from controller.ipsec.ike.tasks.child_create import ChildCreate
from controller.ipsec.ike.tasks.ike_auth import IkeAuth
from controller.ipsec.ike.tasks.ike_init import IkeInit
from controller.ipsec.ike.tasks.ike_rekey import IkeRekey
from controller.ipsec.ike.tasks.informational import Informational
from controller.ipsec.ike.wire.consts import ExchangeType, Notify
from controller.ipsec.ike.wire.errors import IkeError
from controller.ipsec.ike.wire.header import HEADER_LEN, IkeHeader
from controller.ipsec.ike.wire.ident import Identity
from controller.ipsec.ike.wire.message import (
    Message,
    decode_message,
    encode_message,
    error_response,
)
from controller.ipsec.ike.wire.notify import NotifyPayload
from controller.ipsec.ike.wire.simple import NoncePayload

# Why the SAs of a peer that sent INITIAL_CONTACT go down (ChildDown/IkeDown reason).
PEER_RESTARTED = "peer restarted (INITIAL_CONTACT)"


class IkeDaemon:
    def __init__(
        self,
        configs: list[IkeConfig],
        spi_alloc: Callable[[], int] = random_spi,
        cookie_threshold: int = 64,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.configs = configs
        self.spi_alloc = spi_alloc
        self.cookie_threshold = cookie_threshold
        self.log = log
        self.sas: dict[bytes, IkeSa] = {}  # by our own SPI
        self._half_open: dict[tuple[bytes, Addr], IkeSa] = {}
        self._secret = os.urandom(32)
        self._out: list[Datagram] = []
        self._events: list[tuple[IkeSa, Event]] = []
        self._soonest: float | None = None  # of the SAs changed since touched_deadline()
        # a peer authenticated from another address than its config says (it moved)
        self.on_readdressed: Callable[[IkeSa, str], None] | None = None
        # a peer authenticated (either role): see IkeSa.on_authenticated
        self.on_authenticated: Callable[[IkeSa], None] | None = None
        # a request on an IKE SA we do not know came from this address (RFC 7296 2.21.4)
        self.on_unknown_sa: Callable[[str, float], object] | None = None

    # -- the app's calls ----------------------------------------------------------------

    def initiate(
        self, name: str, local: Addr, remote: Addr, now: float, child: str | None = None
    ) -> IkeSa:
        cfg = self.config(name)
        sa = IkeSa(cfg, True, local, remote, now, spi_alloc=self.spi_alloc, exchanges=EXCHANGES)
        sa.log = self.log
        sa.first_contact = self._first_contact
        sa.on_authenticated = self.on_authenticated
        self.sas[sa.spi_i] = sa
        first_child = cfg.child(child) if child else (cfg.children[0] if cfg.children else None)
        sa.queue(IkeInit(True), now)
        sa.queue(IkeAuth(True, first_child), now)
        self._collect(sa)
        return sa

    def config(self, name: str) -> IkeConfig:
        for c in self.configs:
            if c.name == name:
                return c
        raise KeyError(f"no IKE config named {name!r}")

    def find_child(self, spi_in: int) -> tuple[IkeSa, ChildSa] | None:
        for sa in self.sas.values():
            child = sa.find_child(spi_in, inbound=True)
            if child is not None:
                return sa, child
        return None

    def rekey_child(self, spi_in: int, now: float) -> bool:
        """Rekey the CHILD_SA with this inbound SPI (soft expiry); False if unknown."""
        found = self.find_child(spi_in)
        if found is None:
            return False
        found[0].rekey_child(found[1], now)
        self._collect(found[0])
        return True

    def delete_child(self, spi_in: int, now: float) -> bool:
        found = self.find_child(spi_in)
        if found is None:
            return False
        found[0].queue(Informational(True, children=[found[1]]), now)
        self._collect(found[0])
        return True

    def add_child(self, sa: IkeSa, child: str, now: float) -> None:
        """Another CHILD_SA on an established IKE SA (e.g. one per tenant)."""
        sa.queue(ChildCreate(True, sa.cfg.child(child)), now)
        self._collect(sa)

    def has_child(self, sa: IkeSa, name: str) -> bool:
        """A CHILD_SA of config ``name`` is up on ``sa``, or our request for one is queued or
        in flight there (its ChildUp is still to come: asking again would make a second)."""
        gone = (ChildState.DELETING, ChildState.DELETED)
        if any(c.name == name and c.state not in gone for c in sa.children):
            return True
        for task in (sa.active, *sa.pending):
            if isinstance(task, ChildCreate) and task.old is None:
                asked = task.cfg
            elif isinstance(task, IkeAuth) and task.initiator:
                asked = task.child_cfg
            else:
                continue
            if asked is not None and asked.name == name:
                return True
        return False

    def rekey_ike(self, sa: IkeSa, now: float) -> None:
        sa.queue(IkeRekey(True), now)
        self._collect(sa)

    def delete_ike(self, sa: IkeSa, now: float) -> None:
        sa.queue(Informational(True, delete_ike=True), now)
        self._collect(sa)

    def abandon(self, sa: IkeSa, reason: str) -> None:
        """Drop ``sa`` here without a word to the peer (one it never answered)."""
        sa.fail(reason)
        self._collect(sa)

    def move(
        self, sa: IkeSa, now: float, local_ip: str | None = None, remote_ip: str | None = None
    ) -> bool:
        """Mobility: new addresses for ``sa``; True if MOBIKE tells the peer (RFC 4555)."""
        told = sa.move(now, local_ip, remote_ip)
        self._collect(sa)
        return told

    def established(self) -> list[IkeSa]:
        return [sa for sa in self.sas.values() if sa.state == IkeState.ESTABLISHED]

    # -- I/O in ---------------------------------------------------------------------------

    def receive(self, data: bytes, src: Addr, dst: Addr, now: float) -> None:
        try:
            hdr = IkeHeader.decode(data)
        except IkeError as exc:
            self.log(f"IKE datagram from {src[0]}:{src[1]} dropped: {exc}")
            if exc.notify == Notify.INVALID_MAJOR_VERSION and len(data) >= HEADER_LEN:
                self._wrong_version(data, src, dst)
            return
        ours = hdr.spi_r if hdr.from_initiator else hdr.spi_i
        sa = self.sas.get(ours)
        first: Message | None = None  # a new SA's request, decoded once
        if sa is None and hdr.exchange == ExchangeType.IKE_SA_INIT and not hdr.is_response:
            if hdr.message_id != 0 or hdr.spi_r != bytes(8):
                return
            sa = self._half_open.get((hdr.spi_i, src))
            if sa is None:
                sa, first = self._new_responder(data, hdr, src, dst, now) or (None, None)
        if sa is None:
            self.log(f"IKE message for unknown SPI {ours.hex()} from {src[0]} dropped")
            if not hdr.is_response and self.on_unknown_sa is not None:
                self.on_unknown_sa(src[0], now)  # a hint only: nothing here is authenticated
            return
        sa.receive(data, src, dst, now, first, hdr)
        self._collect(sa)

    def _new_responder(
        self, data: bytes, hdr: IkeHeader, src: Addr, dst: Addr, now: float
    ) -> tuple[IkeSa, Message] | None:
        cfg = next((c for c in self.configs if c.remote_addr in (None, src[0])), None)
        by_identity = cfg is None
        if cfg is None:
            # A known peer at a new address (mobility) or behind a NAT (RFC 7296 2.23):
            # IKE_AUTH picks the config by the authenticated identity (IDi), never by
            # the source address.
            cfg = next((c for c in self.configs if c.any_address or c.remote_id), None)
        if cfg is None:
            self.log(f"IKE_SA_INIT from {src[0]} matches no config, dropped")
            return None
        try:
            msg = decode_message(data, header=hdr)
        except IkeError as exc:
            self.log(f"IKE_SA_INIT from {src[0]} refused: {exc}")
            if exc.notify is not None:  # IKE_SA_INIT needs no keys: answer in the clear
                req = Message(ExchangeType.IKE_SA_INIT, 0, hdr.spi_i, bytes(8), False, True)
                resp = error_response(req, exc.notify, exc.data)
                self._out.extend(Datagram(d, dst, src) for d in encode_message(resp))
            return None
        assert isinstance(msg, Message)
        if len(self._half_open) >= self.cookie_threshold and not self._cookie_ok(msg, src):
            self._send_cookie(msg, src, dst)
            return None
        sa = IkeSa(
            cfg,
            False,
            dst,
            src,
            now,
            spi_i=msg.spi_i,
            spi_alloc=self.spi_alloc,
            exchanges=EXCHANGES,
        )
        sa.log = self.log
        sa.on_initial_contact = self._initial_contact
        sa.on_readdressed = self.on_readdressed
        sa.on_authenticated = self.on_authenticated
        if len(self.configs) > 1 or by_identity:
            sa.lookup = lambda ident: self._lookup(ident, src[0])
        self.sas[sa.spi_r] = sa
        self._half_open[(sa.spi_i, src)] = sa
        return sa, msg

    def _first_contact(self, sa: IkeSa) -> bool:
        """No other SA with this peer, in any state (checked as IKE_AUTH is built)."""
        return not any(
            o is not sa
            and (o.remote[0] == sa.remote[0] or o.cfg is sa.cfg)  # same peer, maybe moved
            and o.state != IkeState.DELETED
            for o in self.sas.values()
        )

    def _initial_contact(self, new: IkeSa) -> None:
        """RFC 7296 2.4: the peer has no other SA with us, so ours with it are stale."""
        for old in list(self.sas.values()):
            same_peer = old.remote_id == new.remote_id and old.cfg.name == new.cfg.name
            if old is not new and same_peer and old.state != IkeState.CONNECTING:
                self.log(f"{new.remote_id} sent INITIAL_CONTACT: dropping IKE SA {old.spi_i.hex()}")
                old.fail(PEER_RESTARTED)
                self._collect(old)

    def _lookup(self, ident: Identity, src: str) -> IkeConfig | None:
        """The config for an authenticated identity; a catch-all one only from ``src``.

        A peer that names its identity may come from a new address (it moved, or a
        NAT maps it): the identity was authenticated, the address never is.
        """

        def from_here(c: IkeConfig) -> bool:
            return c.any_address or c.remote_addr in (None, src)

        for c in self.configs:
            if c.remote_id is not None and Identity.from_str(c.remote_id) == ident:
                return c
        return next((c for c in self.configs if c.remote_id is None and from_here(c)), None)

    def _wrong_version(self, data: bytes, src: Addr, dst: Addr) -> None:
        """RFC 7296 2.5: answer an IKE_SA_INIT of another major version with the highest we do."""
        hdr = IkeHeader(
            data[:8], data[8:16], 0, data[18], data[19], int.from_bytes(data[20:24], "big")
        )
        if hdr.exchange != ExchangeType.IKE_SA_INIT or hdr.is_response:
            return
        req = Message(ExchangeType.IKE_SA_INIT, hdr.message_id, hdr.spi_i, hdr.spi_r, False, True)
        resp = error_response(req, Notify.INVALID_MAJOR_VERSION)
        self._out.extend(Datagram(d, dst, src) for d in encode_message(resp))

    # RFC 7296 2.6: Cookie = <VersionIDofSecret> | Hash(Ni | IPi | SPIi | <secret>)
    def _cookie(self, msg: Message, src: Addr) -> bytes:
        nonce = msg.get(NoncePayload)
        ni = nonce.nonce if nonce else b""
        ip = ipaddress.ip_address(src[0]).packed
        return b"\x01" + hmac.new(self._secret, ni + ip + msg.spi_i, hashlib.sha256).digest()

    def _cookie_ok(self, msg: Message, src: Addr) -> bool:
        n = msg.notify(Notify.COOKIE)
        return n is not None and hmac.compare_digest(n.data, self._cookie(msg, src))

    def _send_cookie(self, msg: Message, src: Addr, dst: Addr) -> None:
        resp = Message(
            ExchangeType.IKE_SA_INIT,
            0,
            msg.spi_i,
            bytes(8),
            True,
            False,
            [NotifyPayload(Notify.COOKIE, self._cookie(msg, src))],
        )
        self._out.extend(Datagram(d, dst, src) for d in encode_message(resp))

    # -- time and outputs -------------------------------------------------------------------

    def tick(self, now: float) -> None:
        for sa in list(self.sas.values()):
            due = sa.next_deadline()
            if due is not None and now >= due:
                sa.tick(now)
                self._collect(sa)

    def next_deadline(self) -> float | None:
        times = [t for t in (sa.next_deadline() for sa in self.sas.values()) if t is not None]
        return min(times) if times else None

    def touched_deadline(self) -> float | None:
        """The earliest deadline of the SAs that changed since the last call.

        Costs what those SAs cost, not a scan of all: an adapter arms its timer at
        the earlier of this and what it armed before, and calls next_deadline()
        again after each tick (a deadline that moved later only fires early).
        """
        soonest, self._soonest = self._soonest, None
        return soonest

    def drain(self) -> tuple[list[Datagram], list[tuple[IkeSa, Event]]]:
        out, ev = self._out, self._events
        self._out, self._events = [], []
        return out, ev

    def _collect(self, sa: IkeSa) -> None:
        due = sa.next_deadline()
        if due is not None and (self._soonest is None or due < self._soonest):
            self._soonest = due
        if sa.outbox:
            self._out += sa.outbox
            sa.outbox = []
        if sa.events:
            self._events += [(sa, e) for e in sa.events]
            sa.events = []
        if sa.state != IkeState.CONNECTING and self._half_open:
            self._half_open.pop((sa.spi_i, sa.remote), None)
            for key in [k for k, v in self._half_open.items() if v is sa]:
                del self._half_open[key]
        for new in sa.spawned:
            our = new.spi_i if new.initiator else new.spi_r
            if our not in self.sas and new.state != IkeState.DELETED:
                self.sas[our] = new
            self._collect(new)
        if sa.state == IkeState.DELETED:
            our = sa.spi_i if sa.initiator else sa.spi_r
            self.sas.pop(our, None)
