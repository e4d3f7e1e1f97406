"""What the speaker does with its sessions' events: Up, Down, UPDATE, ROUTE-REFRESH.

``SpeakerCore`` pumps every session's events through here after each input. An event
changes a Loc-RIB (through ``apply``, the propagator, which also tells the
Adj-RIBs-Out and the VRFs), graceful restart's state (RFC 4724) and the
Adj-RIB-Out of that neighbour; nothing here sends except by ``out``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from controller.bgp import session as s
from controller.bgp.adjribout import AdjRibOut
from controller.bgp.graceful import GracefulRestart
from controller.bgp.inbound import Importer
from controller.bgp.path import RTC, Color, Family, IPAddress
from controller.bgp.rib import Change, Rib
from controller.bgp.spoofwatch import SpoofWatch
from controller.bgp.wire.route_refresh import RefreshSubtype, RouteRefreshMessage

Apply = Callable[[Rib, Sequence[Change | None]], None]


def _established(sess: s.Session) -> bool:
    return sess.established


class SessionEvents:
    def __init__(
        self,
        sessions: dict[IPAddress, s.Session],
        gr: GracefulRestart,
        out: AdjRibOut,
        spoof_watch: SpoofWatch,
        importer: Importer,
        ribs: tuple[Rib, Rib],
        apply: Apply,
    ) -> None:
        self.sessions, self.gr, self.out = sessions, gr, out
        self.spoof_watch, self.importer = spoof_watch, importer
        self.red, self.black = ribs
        self.apply = apply

    def rib(self, color: Color) -> Rib:
        return self.red if color is Color.RED else self.black

    def pump(self, now: float) -> list[tuple[IPAddress, s.TransportOp]]:
        """Handle session events until none are left, then send what changed; the
        transport operations the sessions want done."""
        busy = True
        while busy:
            busy = False
            for peer, sess in self.sessions.items():
                for ev in sess.events():
                    busy = True
                    self.handle(peer, sess, ev, now)
        self.check_initial_rib(now)
        if not self.gr.deferring:
            self.out.flush()
        return [(peer, op) for peer, sess in self.sessions.items() for op in sess.transport_ops()]

    def handle(self, peer: IPAddress, sess: s.Session, ev: s.SessionEvent, now: float) -> None:
        if isinstance(ev, s.Up):
            self.out.session_up(peer, ev.negotiated.families)
            rib = self.rib(sess.neighbor.color)
            self.apply(rib, self.gr.session_up(peer, ev.negotiated, rib, now))
            if not self.gr.deferring:
                self.out.send_initial(peer, sess)
            else:
                self.out.send_memberships(peer, sess)
        elif isinstance(ev, s.Down):
            self._on_down(peer, sess, ev, now)
        elif isinstance(ev.message, RouteRefreshMessage):
            self._on_refresh(peer, sess, ev.message)
        else:
            self._on_update(peer, sess, ev.message, now)

    def check_initial_rib(self, now: float) -> None:
        if self.gr.initial_rib_complete:
            return
        deferring = self.gr.deferring
        if not self.gr.check_complete(self.sessions, _established, now) or not deferring:
            return
        # Restart over: selection runs, the app and the peers get its outcome.
        for peer, sess in self.sessions.items():
            sess.set_restart_flags(False, self.gr.preserved)
            if sess.established:
                self.out.send_initial(peer, sess)

    def _on_down(self, peer: IPAddress, sess: s.Session, ev: s.Down, now: float) -> None:
        self.out.session_down(peer)
        self.spoof_watch.peer_down(peer)
        rib = self.rib(sess.neighbor.color)
        neg = sess.last_negotiated
        self.apply(rib, self.gr.session_down(peer, ev.graceful, neg, rib, now))

    def purge_stale(self, peer: IPAddress, family: Family | None) -> None:
        sess = self.sessions[peer]
        rib = self.rib(sess.neighbor.color)
        fams = None if family is None else [family]
        self.apply(rib, rib.withdraw_peer(peer, fams, stale_only=True))

    def _on_refresh(self, peer: IPAddress, sess: s.Session, msg: RouteRefreshMessage) -> None:
        fam = msg.family
        neg = sess.negotiated
        if neg is None or fam not in neg.families:
            return
        rib = self.rib(sess.neighbor.color)
        if msg.subtype == RefreshSubtype.REQUEST:
            if self.gr.deferring:
                return  # everything goes out with End-of-RIB once the deferral ends
            self.out.resend(peer, sess, fam, neg.enhanced_route_refresh)
        elif msg.subtype == RefreshSubtype.BORR:
            rib.mark_stale(peer, [fam])
        elif msg.subtype == RefreshSubtype.EORR:
            self.purge_stale(peer, fam)

    def _on_update(self, peer: IPAddress, sess: s.Session, msg: object, now: float) -> None:
        rib = self.rib(sess.neighbor.color)
        imported = self.importer.update(peer, sess, msg, rib, now)
        if imported is None:
            return
        changes, eor = imported
        self.apply(rib, changes)
        if eor is not None:
            self.apply(rib, self.gr.end_of_rib(peer, eor, rib))
            if eor == RTC and self.out.rtc.end_of_rib(peer):
                self.out.rtc_opened(peer)
