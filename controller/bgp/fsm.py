"""The BGP finite state machine of RFC 4271 section 8, sans I/O.

One ``Fsm`` per configured peer. It is driven by the RFC's events (start,
stop, TCP connection up/failed/lost, a received message, a timer) and answers
with actions for the layer below (open a TCP connection, send an OPEN, a
KEEPALIVE or a NOTIFICATION, close a connection) and events for the layer
above (session established / down), all defined in ``fsmtypes.py``. Time is
an explicit ``now`` argument; the caller asks ``next_deadline()`` and calls
``poll(now)`` when it passes.

A peer may briefly have two TCP connections (one we opened, one it opened);
connection collision detection (RFC 4271 6.8) keeps the one opened by the
speaker with the higher BGP Identifier and closes the other with Cease /
Connection Collision Resolution (RFC 4486).

Red sessions (draft 3.2) carry a gate: until the IPsec layer reports that the
transport is protected, the FSM stays in Idle, refuses incoming connections
and opens none, and says why in ``idle_reason``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.bgp.fsmtypes import (
    Action,
    Close,
    Conn,
    Connect,
    Down,
    Established,
    FsmConfig,
    PeerOpen,
    SendKeepalive,
    SendNotification,
    SendOpen,
    State,
    check_open,
)
from controller.bgp.wire.constants import CeaseSubcode, ErrorCode
from controller.bgp.wire.errors import BgpError

# Importers (session.py) take the FSM's inputs and outputs from here.
__all__ = [
    "Action",
    "Close",
    "Connect",
    "Down",
    "Established",
    "Fsm",
    "FsmConfig",
    "PeerOpen",
    "SendKeepalive",
    "SendNotification",
    "SendOpen",
    "State",
]

# RFC 6608: FSM Error subcodes name the state the unexpected message arrived in.
FSM_UNEXPECTED_IN_OPENSENT = 1
FSM_UNEXPECTED_IN_OPENCONFIRM = 2
FSM_UNEXPECTED_IN_ESTABLISHED = 3

LARGE_HOLD_TIME = 240.0  # RFC 4271 8.2.2: "suggested default value ... is 4 minutes"
# Sooner after Established, a second connection's OPEN without the R bit is the other
# end of a simultaneous connect, not a restart (taken for one, it reset every red
# session at a common start).
COLLISION_WINDOW = 10.0


@dataclass
class Fsm:
    config: FsmConfig
    base_state: State = State.IDLE
    protected: bool = False
    started: bool = False
    idle_reason: str = "not started"
    last_error: str = ""
    conns: dict[int, Conn] = field(default_factory=dict)
    connect_retry_deadline: float | None = None
    idle_hold_deadline: float | None = None
    actions: list[Action] = field(default_factory=list)
    established_conn: int | None = None
    # Set while Established with a peer that announced Graceful Restart: a new
    # connection from it means it restarted (RFC 4724 4.2), so it replaces the old.
    peer_restarts_gracefully: bool = False

    # ---- state ----

    @property
    def state(self) -> State:
        if self.conns:
            return max(c.state for c in self.conns.values())
        return self.base_state

    def take_actions(self) -> list[Action]:
        out, self.actions = self.actions, []
        return out

    def next_deadline(self) -> float | None:
        times = [self.connect_retry_deadline, self.idle_hold_deadline]
        for c in self.conns.values():
            times += [c.hold_deadline, c.keepalive_deadline, c.delay_open_deadline]
        live = [t for t in times if t is not None]
        return min(live) if live else None

    # ---- administrative events ----

    def start(self, now: float) -> None:
        """ManualStart (RFC 4271 8.1.2 events 1 and 4)."""
        self.started = True
        self._try_start(now)

    def stop(self, now: float, subcode: int = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN) -> None:
        """ManualStop: Cease every connection and stay Idle."""
        self.started = False
        self._drop_all(ErrorCode.CEASE, subcode, "stopped by operator")
        self._idle("stopped by operator")

    def set_protected(self, protected: bool, now: float) -> None:
        """The IPsec layer's verdict on this session's transport (draft 3.2)."""
        was = self.protected
        self.protected = protected
        if not self.config.needs_protection or was == protected:
            return
        if protected:
            self._try_start(now)
        else:
            # The transport broke (e.g. the peer restarted and renegotiated its SAs):
            # like a lost TCP connection, graceful restart keeps the peer's routes.
            self._drop_all(
                ErrorCode.CEASE,
                CeaseSubcode.OTHER_CONFIGURATION_CHANGE,
                "IPsec protection of the transport was withdrawn",
                graceful=True,
            )
            self._idle("transport not IPsec-protected")

    def _try_start(self, now: float) -> None:
        if not self.started or self.base_state is not State.IDLE or self.conns:
            return
        if self.config.needs_protection and not self.protected:
            self._idle("transport not IPsec-protected")
            return
        self.idle_hold_deadline = None
        self.idle_reason = ""
        self.connect_retry_deadline = now + self.config.connect_retry_time
        if self.config.passive:
            self.base_state = State.ACTIVE
        else:
            self.base_state = State.CONNECT
            self.actions.append(Connect())

    def _idle(self, reason: str) -> None:
        self.base_state = State.IDLE
        self.idle_reason = reason
        self.connect_retry_deadline = None
        self.idle_hold_deadline = None

    # ---- transport events ----

    def connection_made(self, conn: int, outbound: bool, now: float) -> None:
        """TcpConnectionConfirmed / Tcp_CR_Acked: send our OPEN."""
        if not self.started or (self.config.needs_protection and not self.protected):
            # Refuse: not configured to run, or the red session's transport is not protected.
            self.actions.append(Close(conn))
            return
        if self.config.passive and outbound:
            self.actions.append(Close(conn))
            return
        self.connect_retry_deadline = None
        delay = self.config.delay_open_time
        if delay > 0:
            # DelayOpen: stay in Connect/Active with the connection up, OPEN not yet sent.
            state = State.CONNECT if outbound else State.ACTIVE
            self.conns[conn] = Conn(
                outbound,
                state,
                hold_deadline=now + LARGE_HOLD_TIME,
                delay_open_deadline=now + delay,
            )
            return
        self.conns[conn] = Conn(outbound, hold_deadline=now + LARGE_HOLD_TIME)
        self.actions.append(SendOpen(conn))

    def accepts_open(self, conn: int) -> bool:
        """Whether an OPEN on ``conn`` is expected now (OpenSent, or DelayOpen running)."""
        c = self.conns.get(conn)
        return c is not None and (c.state is State.OPEN_SENT or c.delay_open_deadline is not None)

    def connection_failed(self, now: float) -> None:
        """TcpConnectionFails on an outbound attempt: wait in Active for ConnectRetry."""
        if self.base_state is State.CONNECT:
            self.base_state = State.ACTIVE
            if self.connect_retry_deadline is None:
                self.connect_retry_deadline = now + self.config.connect_retry_time

    def connection_lost(self, conn: int, now: float) -> None:
        c = self.conns.pop(conn, None)
        if c is None:
            return
        if c.state is State.ESTABLISHED or not self.conns:
            self._after_loss(c, "connection closed by peer", now, graceful=True)

    # ---- messages ----

    def open_received(self, conn: int, peer: PeerOpen, now: float) -> None:
        c = self.conns.get(conn)
        if c is None:
            return
        if c.delay_open_deadline is not None:
            # RFC 4271 8.2.2: OPEN while DelayOpenTimer runs: send ours now, then confirm.
            c.delay_open_deadline = None
            c.state = State.OPEN_SENT
            self.actions.append(SendOpen(conn))
        if c.state is not State.OPEN_SENT:
            self._fsm_error(conn, c, now)
            return
        try:
            check_open(self.config, peer)
        except BgpError as err:
            self._fail(conn, err.code, err.subcode, str(err), now, err.data)
            return
        c.peer_open = peer
        if self._collision(conn, c, peer, now):
            return
        c.state = State.OPEN_CONFIRM
        c.hold_time = min(self.config.hold_time, peer.hold_time)
        self._arm(c, now)
        self.actions.append(SendKeepalive(conn))

    def _collision(self, conn: int, c: Conn, peer: PeerOpen, now: float) -> bool:
        """RFC 4271 6.8; True when ``conn`` itself was closed."""
        for other_id, other in list(self.conns.items()):
            if other_id == conn:
                continue
            if other.state is State.ESTABLISHED and self._peer_restarted(other, peer, now):
                # RFC 4724 4.2: the peer restarted; drop the old session as if its TCP
                # connection had failed (its routes are kept stale by the speaker).
                del self.conns[other_id]
                self.established_conn = None
                self.actions += [Close(other_id), Down("peer restarted (new connection)", True)]
                continue
            if other.state is State.ESTABLISHED:
                loser = conn  # the established session stands
            elif other.state is State.OPEN_CONFIRM or other.peer_open is not None:
                # Keep the connection opened by the side with the higher BGP Identifier.
                we_win = int(self.config.router_id) > int(peer.router_id)
                keep_outbound = we_win
                loser = other_id if other.outbound != keep_outbound else conn
            else:
                continue
            lc = self.conns.pop(loser)
            self.actions += [
                SendNotification(
                    loser, ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION
                ),
                Close(loser),
            ]
            del lc
            if loser == conn:
                return True
        return False

    def _peer_restarted(self, est: Conn, peer: PeerOpen, now: float) -> bool:
        """A new connection's OPEN while ``est`` is Established: the peer's restart
        (RFC 4724 4.2: R bit set, or well after Established, e.g. its host rebooted), or
        the second half of a simultaneous connect, where ``est`` stands (RFC 4271 6.8)."""
        if not self.peer_restarts_gracefully:
            return False
        since = est.established_at
        return peer.restarting or since is None or now - since >= COLLISION_WINDOW

    def keepalive_received(self, conn: int, now: float) -> None:
        c = self.conns.get(conn)
        if c is None:
            return
        if c.state is State.OPEN_CONFIRM:
            c.state = State.ESTABLISHED
            c.established_at = now
            self.established_conn = conn
            self.base_state = State.IDLE
            self.last_error = ""
            self._arm(c, now)
            assert c.peer_open is not None
            self.actions.append(Established(conn, c.peer_open, c.hold_time))
        elif c.state is State.ESTABLISHED:
            self._arm_hold(c, now)
        else:
            self._fsm_error(conn, c, now)

    def update_received(self, conn: int, now: float) -> bool:
        """An UPDATE or ROUTE-REFRESH arrived; False if it was not acceptable in this state."""
        c = self.conns.get(conn)
        if c is None:
            return False
        if c.state is not State.ESTABLISHED:
            self._fsm_error(conn, c, now)
            return False
        self._arm_hold(c, now)
        return True

    def notification_received(self, conn: int, reason: str, now: float) -> None:
        c = self.conns.pop(conn, None)
        if c is None:
            return
        self.actions.append(Close(conn))
        self.last_error = f"received NOTIFICATION: {reason}"
        if c.state is State.ESTABLISHED or not self.conns:
            self._after_loss(c, self.last_error, now, graceful=False)

    def protocol_error(self, conn: int, err: BgpError, now: float) -> None:
        """A decode error whose RFC 7606 action is a session reset."""
        self._fail(conn, err.code, err.subcode, f"sent NOTIFICATION: {err}", now, err.data)

    # ---- timers ----

    def poll(self, now: float) -> None:
        if self.idle_hold_deadline is not None and now >= self.idle_hold_deadline:
            self.idle_hold_deadline = None
            self._try_start(now)
        if self.connect_retry_deadline is not None and now >= self.connect_retry_deadline:
            self.connect_retry_deadline = now + self.config.connect_retry_time
            if self.base_state in (State.CONNECT, State.ACTIVE) and not self.config.passive:
                self.base_state = State.CONNECT
                self.actions.append(Connect())
        for conn, c in list(self.conns.items()):
            if c.delay_open_deadline is not None and now >= c.delay_open_deadline:
                c.delay_open_deadline = None
                c.state = State.OPEN_SENT
                self.actions.append(SendOpen(conn))
            if c.hold_deadline is not None and now >= c.hold_deadline:
                # A dead peer (its process restarting) is what graceful restart is for.
                self._fail(
                    conn, ErrorCode.HOLD_TIMER_EXPIRED, 0, "hold timer expired", now, graceful=True
                )
                continue
            if c.keepalive_deadline is not None and now >= c.keepalive_deadline:
                self.actions.append(SendKeepalive(conn))
                c.keepalive_deadline = now + c.hold_time / 3

    def _arm(self, c: Conn, now: float) -> None:
        self._arm_hold(c, now)
        c.keepalive_deadline = now + c.hold_time / 3 if c.hold_time else None

    def _arm_hold(self, c: Conn, now: float) -> None:
        c.hold_deadline = now + c.hold_time if c.hold_time else None

    # ---- failures ----

    def _fsm_error(self, conn: int, c: Conn, now: float) -> None:
        sub = {
            State.OPEN_SENT: FSM_UNEXPECTED_IN_OPENSENT,
            State.OPEN_CONFIRM: FSM_UNEXPECTED_IN_OPENCONFIRM,
            State.ESTABLISHED: FSM_UNEXPECTED_IN_ESTABLISHED,
        }.get(c.state, 0)
        self._fail(conn, ErrorCode.FSM, sub, f"unexpected message in {c.state}", now)

    def _fail(
        self,
        conn: int,
        code: int,
        subcode: int,
        reason: str,
        now: float,
        data: bytes = b"",
        graceful: bool = False,
    ) -> None:
        c = self.conns.pop(conn, None)
        if c is None:
            return
        self.actions += [SendNotification(conn, code, subcode, data), Close(conn)]
        self.last_error = reason
        if c.state is State.ESTABLISHED or not self.conns:
            self._after_loss(c, reason, now, graceful=graceful)

    def _drop_all(self, code: int, subcode: int, reason: str, graceful: bool = False) -> None:
        had_session = any(c.state is State.ESTABLISHED for c in self.conns.values())
        for conn in list(self.conns):
            self.actions += [SendNotification(conn, code, subcode), Close(conn)]
        self.conns.clear()
        self.established_conn = None
        if had_session:
            self.actions.append(Down(reason, graceful=graceful))

    def _after_loss(self, c: Conn, reason: str, now: float, graceful: bool) -> None:
        if c.state is State.ESTABLISHED:
            self.established_conn = None
            self.actions.append(Down(reason, graceful=graceful))
        if self.conns:
            return
        self._idle(reason)
        if self.started:
            # AutomaticStart after IdleHoldTimer (RFC 4271 8.1.1 optional attributes).
            self.idle_hold_deadline = now + self.config.idle_hold_time
