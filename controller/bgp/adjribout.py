"""Adj-RIB-Out (RFC 4271 3.2), sans I/O: what we advertised to each neighbour.

``AdjRibOut`` keeps, per neighbour, the attributes and labels last sent for each
NLRI and the NLRIs whose best path changed since the last flush. Flushing one
neighbour runs export policy on the current best path of each pending NLRI and
sends the difference as UPDATEs on its session; nothing is resent unchanged.
"""

from __future__ import annotations

from controller.bgp import convert
from controller.bgp import session as s
from controller.bgp.config import SpeakerConfig
from controller.bgp.path import Attrs, Color, Family, IPAddress, Nlri
from controller.bgp.policy import export_attrs
from controller.bgp.rib import Rib
from controller.bgp.wire.route_refresh import RefreshSubtype, RouteRefreshMessage

Sent = dict[Nlri, tuple[Attrs, tuple[int, ...]]]


class AdjRibOut:
    def __init__(
        self, cfg: SpeakerConfig, sessions: dict[IPAddress, s.Session], red: Rib, black: Rib
    ) -> None:
        """``sessions`` is the speaker's own dict: neighbours added later are seen here."""
        self.cfg = cfg
        self.sessions = sessions
        self.red = red
        self.black = black
        self.sent: dict[IPAddress, Sent] = {}
        self.pending: dict[IPAddress, set[Nlri]] = {}

    def add_peer(self, peer: IPAddress) -> None:
        self.sent[peer] = {}
        self.pending[peer] = set()

    def session_up(self, peer: IPAddress) -> None:
        self.sent[peer] = {}

    def session_down(self, peer: IPAddress) -> None:
        self.sent[peer] = {}
        self.pending[peer].clear()

    def mark(self, peer: IPAddress, nlri: Nlri) -> None:
        """The best path of ``nlri`` changed: look at it again on the next flush."""
        self.pending[peer].add(nlri)

    def _rib(self, color: Color) -> Rib:
        return self.red if color is Color.RED else self.black

    def send_initial(self, peer: IPAddress, sess: s.Session) -> None:
        """Our whole Adj-RIB-Out for a new session, then End-of-RIB per family (RFC 4724 2)."""
        neg = sess.negotiated
        if neg is None:
            return
        rib = self._rib(sess.neighbor.color)
        for p in rib.best_paths():
            if p.nlri.family in neg.families:
                self.pending[peer].add(p.nlri)
        self.flush_peer(peer)
        for fam in sorted(neg.families):
            sess.send(convert.end_of_rib(fam))

    def resend(self, peer: IPAddress, sess: s.Session, fam: Family, enhanced: bool) -> None:
        """RFC 2918 / RFC 7313 4: resend the whole Adj-RIB-Out, bracketed by BoRR/EoRR."""
        rib = self._rib(sess.neighbor.color)
        if enhanced:
            sess.send(RouteRefreshMessage(fam.afi, fam.safi, RefreshSubtype.BORR))
        out = self.sent[peer]
        for nlri in [n for n in out if n.family == fam]:
            del out[nlri]
        for p in rib.best_paths(fam):
            self.pending[peer].add(p.nlri)
        self.flush_peer(peer)
        if enhanced:
            sess.send(RouteRefreshMessage(fam.afi, fam.safi, RefreshSubtype.EORR))

    def flush(self) -> None:
        for peer in self.sessions:
            if self.pending[peer]:
                self.flush_peer(peer)

    def flush_peer(self, peer: IPAddress) -> None:
        sess = self.sessions[peer]
        pending, self.pending[peer] = self.pending[peer], set()
        neg = sess.negotiated
        if neg is None or sess.peer_open is None:
            return
        dst = sess.neighbor
        rib = self._rib(dst.color)
        out = self.sent[peer]
        announce: list[tuple[Nlri, Attrs, tuple[int, ...]]] = []
        withdraw: list[Nlri] = []
        for nlri in pending:
            if nlri.family not in neg.families:
                continue
            best = rib.best(nlri)
            attrs = None
            if best is not None:
                src = self.sessions[best.source.peer].neighbor if best.source.peer else None
                attrs = export_attrs(
                    best, src, dst, self.cfg, sess.peer_open.bgp_id, sess.local_address
                )
                if attrs is not None and attrs.next_hop is None:
                    attrs = None
            if attrs is None:
                if out.pop(nlri, None) is not None:
                    withdraw.append(nlri)
                continue
            assert best is not None
            entry = (attrs, best.labels)
            if out.get(nlri) == entry:
                continue
            out[nlri] = entry
            announce.append((nlri, attrs, best.labels))
        for msg in convert.encode_updates(announce, withdraw, neg):
            sess.send(msg)
