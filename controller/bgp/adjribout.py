"""Adj-RIB-Out (RFC 4271 3.2), sans I/O: what we advertised to each neighbour.

``AdjRibOut`` keeps, per neighbour, the attributes and labels last sent for each
NLRI and the NLRIs whose best path changed since the last flush. Flushing runs
export policy on the current best path of each pending NLRI and sends the
difference as UPDATEs; nothing is resent unchanged.

Update groups (as FRR and GoBGP have them): neighbours whose outbound treatment
is the same (``update_group_key``: colour, AS, client or not, next hop handling,
negotiated families and codec) are flushed together. Export policy runs once
per NLRI for the whole group and each distinct set of changes is encoded once;
per neighbour only the split horizon and ORIGINATOR_ID checks
(``policy.peer_may_get``), the RT-Constrain filter (``rtc.py``), the diff
against what it holds, and the write.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from controller.bgp import convert
from controller.bgp import session as s
from controller.bgp.config import SpeakerConfig
from controller.bgp.path import RTC, Attrs, Color, Family, IPAddress, Nlri, Path, is_vpn_family
from controller.bgp.policy import group_export, peer_may_get
from controller.bgp.rib import Rib
from controller.bgp.rtc import RtConstrain, route_targets
from controller.bgp.wire.route_refresh import RefreshSubtype, RouteRefreshMessage

Sent = dict[Nlri, tuple[Attrs, tuple[int, ...]]]


@dataclass(frozen=True, slots=True)
class _Export:
    """A best path as the group would send it, and what the per-peer checks need."""

    path: Path
    src: IPAddress | None  # the neighbour it came from, for the split horizon
    entry: tuple[Attrs, tuple[int, ...]]
    rts: frozenset[int] | None  # route targets of a VPN-IP route (RT-Constrain), else None


def _client_path(rib: Rib, best: Path) -> Path:
    """RFC 4684 3.2: to a non-client, a membership goes with a client's path when the best
    came from a non-client, so the other RR learns what our clients want."""
    if best.source.peer is None or best.source.rr_client:
        return best
    return next((p for p in rib.paths(best.nlri) if p.source.rr_client), best)


def update_group_key(sess: s.Session, cfg: SpeakerConfig) -> Hashable | None:
    """What ``policy.group_export`` and the encoder depend on; None before the OPENs."""
    neg = sess.negotiated
    if neg is None or sess.peer_open is None:
        return None
    n = sess.neighbor
    black_hop = (sess.local_address, n.local_address) if n.color is Color.BLACK else None
    return (n.color, n.remote_as, n.rr_client, black_hop, neg.families, neg.codec)


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
        # End-of-RIB owed after the initial send, sent once that send is flushed; the
        # VPN ones of a peer whose VPN routes wait for its RT memberships wait too.
        self.eor_due: dict[IPAddress, list[Family]] = {}
        self.eor_held: dict[IPAddress, list[Family]] = {}
        self.rtc = RtConstrain(red.best_paths)
        # Bumped whenever the set of peers, their sessions or their ``sent`` dicts change:
        # the propagator keeps its per-peer lists until then (``pending`` sets stay the
        # same objects for a peer's life), which spares an RR with many peers hashing
        # every peer address on every UPDATE.
        self.version = 0

    def add_peer(self, peer: IPAddress) -> None:
        self.sent[peer] = {}
        self.pending[peer] = set()
        self.version += 1

    def session_up(self, peer: IPAddress, families: frozenset[Family]) -> None:
        self.sent[peer] = {}
        self.rtc.session_up(peer, families)
        self.version += 1

    def session_down(self, peer: IPAddress) -> None:
        self.sent[peer] = {}
        self.pending[peer].clear()
        self._forget(peer)
        self.version += 1

    def remove_peer(self, peer: IPAddress) -> None:
        self.sent.pop(peer, None)
        self.pending.pop(peer, None)
        self._forget(peer)
        self.version += 1

    def _forget(self, peer: IPAddress) -> None:
        self.eor_due.pop(peer, None)
        self.eor_held.pop(peer, None)
        self.rtc.session_down(peer)

    def rtc_opened(self, peer: IPAddress) -> None:
        """The peer's RT memberships are in (End-of-RIB or a first one): its VPN routes go."""
        self.rtc_wants(peer, None)
        held = self.eor_held.pop(peer, None)
        if held:
            self.eor_due.setdefault(peer, []).extend(held)

    def rtc_wants(self, peer: IPAddress, rt: int | None) -> None:
        """The peer's interest changed (in route target ``rt``; None: anything)."""
        pending = self.pending.get(peer)
        if pending is None:
            return
        if rt is None:
            pending |= self.rtc.matching(peer, (p.nlri for p in self.red.best_paths()))
            pending.update(n for n in self.sent[peer] if is_vpn_family(n.family))
        else:
            pending |= self.rtc.with_rt(rt)

    def mark(self, peer: IPAddress, nlri: Nlri) -> None:
        """The best path of ``nlri`` changed: look at it again on the next flush."""
        self.pending[peer].add(nlri)

    def _rib(self, color: Color) -> Rib:
        return self.red if color is Color.RED else self.black

    def send_initial(self, peer: IPAddress, sess: s.Session) -> None:
        """Our whole Adj-RIB-Out for a new session, then End-of-RIB per family (RFC 4724 2).

        Sent on the next ``flush``, so peers that come up together share the work."""
        neg = sess.negotiated
        if neg is None:
            return
        rib = self._rib(sess.neighbor.color)
        pending = self.pending[peer]
        for p in rib.best_paths():
            if p.nlri.family in neg.families:
                pending.add(p.nlri)
        fams = sorted(neg.families)
        interest = self.rtc.interest(peer)
        if interest is not None and not interest.open:
            self.eor_held[peer] = [f for f in fams if is_vpn_family(f)]
            fams = [f for f in fams if not is_vpn_family(f)]
        self.eor_due[peer] = fams

    def send_memberships(self, peer: IPAddress, sess: s.Session) -> None:
        """Our RT memberships and their End-of-RIB now, even while our restart defers the
        rest (RFC 4724 4.1): the peer holds our VPN routes back until it has them (RFC
        4684 6), and we wait for those before our deferral ends."""
        neg = sess.negotiated
        if neg is None or RTC not in neg.families:
            return
        self.pending[peer].update(p.nlri for p in self.red.best_paths(RTC))
        self.eor_due[peer] = [RTC]
        self.flush_peer(peer)

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
        groups: dict[Hashable, list[IPAddress]] = {}
        eor_due = self.eor_due
        for peer, pending in self.pending.items():
            if pending or (eor_due and peer in eor_due):
                groups.setdefault(update_group_key(self.sessions[peer], self.cfg), []).append(peer)
        for key, peers in groups.items():
            if key is None:  # not up: nothing can go out, as before the OPENs
                for peer in peers:
                    self.pending[peer].clear()
                continue
            self._flush_group(peers)

    def flush_peer(self, peer: IPAddress) -> None:
        if update_group_key(self.sessions[peer], self.cfg) is None:
            self.pending[peer].clear()
            return
        self._flush_group([peer])

    def _flush_group(self, peers: list[IPAddress]) -> None:
        """Flush peers that share one update group key."""
        first = self.sessions[peers[0]]
        neg = first.negotiated
        assert neg is not None
        rib = self._rib(first.neighbor.color)
        todo = {}
        for peer in peers:
            pending = self.pending[peer]
            todo[peer] = pending.copy()
            pending.clear()
        # One order for the whole group, so peers with the same changes send the same bytes.
        union = set().union(*todo.values())
        order = list(union)
        exports = self._exports(order, rib, first)
        encoded: dict[tuple[tuple[Nlri, ...], tuple[Nlri, ...]], list[bytes]] = {}
        for peer in peers:
            sess = self.sessions[peer]
            pending = todo[peer]
            mine = order if len(pending) == len(union) else [n for n in order if n in pending]
            announce, withdraw = self._diff(peer, sess, mine, exports)
            if announce or withdraw:
                key = (tuple(n for n, _, _ in announce), tuple(withdraw))
                msgs = encoded.get(key)
                if msgs is None:
                    updates = convert.encode_updates(announce, withdraw, neg)
                    msgs = encoded[key] = sess.encode_all(updates)
                for data in msgs:
                    sess.send_encoded(data, "update")
            for fam in self.eor_due.pop(peer, ()):
                sess.send(convert.end_of_rib(fam))

    def _exports(self, nlris: list[Nlri], rib: Rib, first: s.Session) -> dict[Nlri, _Export]:
        """Export policy once per NLRI for the group; absent = nothing to send."""
        dst = first.neighbor
        out: dict[Nlri, _Export] = {}
        families = first.negotiated.families if first.negotiated else frozenset()
        for nlri in nlris:
            if nlri.family not in families:
                continue
            best = rib.best(nlri)
            if best is None:
                continue
            if nlri.family == RTC and not dst.rr_client:
                best = _client_path(rib, best)
            src = self.sessions[best.source.peer].neighbor if best.source.peer else None
            attrs = group_export(best, src, dst, self.cfg, first.local_address)
            if attrs is not None and attrs.next_hop is not None:
                rts = route_targets(best.attrs) if is_vpn_family(nlri.family) else None
                out[nlri] = _Export(best, src.address if src else None, (attrs, best.labels), rts)
        return out

    def _diff(
        self, peer: IPAddress, sess: s.Session, nlris: list[Nlri], exports: dict[Nlri, _Export]
    ) -> tuple[list[tuple[Nlri, Attrs, tuple[int, ...]]], list[Nlri]]:
        """What this peer must be sent for ``nlris`` given what it holds."""
        assert sess.negotiated is not None and sess.peer_open is not None
        families = sess.negotiated.families
        router_id = sess.peer_open.bgp_id
        interest = self.rtc.interest(peer)
        out = self.sent[peer]
        announce: list[tuple[Nlri, Attrs, tuple[int, ...]]] = []
        withdraw: list[Nlri] = []
        for nlri in nlris:
            if nlri.family not in families:
                continue
            ex = exports.get(nlri)
            if ex is not None and not peer_may_get(ex.path, ex.src, peer, router_id):
                ex = None
            elif ex is not None and interest and ex.rts is not None and not interest.allows(ex.rts):
                ex = None  # RFC 4684: not asked for
            if ex is None:
                if out.pop(nlri, None) is not None:
                    withdraw.append(nlri)
                continue
            entry = ex.entry
            if out.get(nlri) == entry:
                continue
            out[nlri] = entry
            announce.append((nlri, entry[0], entry[1]))
        return announce, withdraw
