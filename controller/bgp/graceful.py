"""BGP Graceful Restart (RFC 4724), sans I/O: both roles' bookkeeping and timers.

Receiving speaker (RFC 4724 4.2): when the session with a peer that sent the
capability ends without a NOTIFICATION deciding it, the peer's routes of the
families it listed stay in the RIB marked stale; they keep being used and
reflected. If the session is not back within the peer's Restart Time they go.
Once it is back, families the new OPEN no longer lists or lists without the F
bit lose their stale routes at once; the others are flushed family by family
when the peer's End-of-RIB arrives, or when our stale timer runs out.

Restarting speaker (RFC 4724 4.1): after our own restart with the forwarding
state preserved, our OPENs carry the R bit and the F bit for every family, and
the decision process output (UPDATEs to peers, route events to the app) waits
until every peer sent its End-of-RIB or the Selection_Deferral_Timer expires.
Peers that did not send the capability, or sent it with the R bit set (they
restarted too), are not waited for; peers whose session is not up are, until
the timer. The same condition, without holding anything back, tells the app
after an ordinary start when the initial RIB is complete.

The speaker core owns the RIBs and applies what this module decides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from controller.bgp.config import GracefulRestartConfig
from controller.bgp.negotiate import Negotiated
from controller.bgp.path import Family, IPAddress
from controller.bgp.rib import Change, Rib

S = TypeVar("S")

log = logging.getLogger(__name__)


@dataclass
class PeerGr:
    """What graceful restart remembers about one peer."""

    # Families whose stale routes we keep; set while the peer is restarting.
    retained: frozenset[Family] = frozenset()
    restart_deadline: float | None = None  # session must be back by then
    stale_deadline: float | None = None  # End-of-RIB must arrive by then
    awaiting_eor: set[Family] = field(default_factory=set)  # for the initial RIB
    restarts: int = 0


class GracefulRestart:
    def __init__(self, cfg: GracefulRestartConfig, restarted: bool = False) -> None:
        self.cfg = cfg
        # Restarting Speaker: R bit and deferral until the initial RIB is complete.
        self.restarting = restarted and cfg.enabled
        self.preserved = self.restarting
        self.initial_rib_complete = False
        self.deferral_deadline: float | None = None
        self.peers: dict[IPAddress, PeerGr] = {}
        self.completed_at: float | None = None
        self.completed_by = ""
        self._waiting_hint: IPAddress | None = None

    def peer(self, peer: IPAddress) -> PeerGr:
        p = self.peers.get(peer)
        if p is None:
            p = self.peers[peer] = PeerGr()
        return p

    @property
    def deferring(self) -> bool:
        return self.restarting and not self.initial_rib_complete

    def start(self, now: float) -> None:
        self.deferral_deadline = now + self.cfg.deferral_time

    # ---- receiving speaker ----------------------------------------------------------

    def session_down(
        self, peer: IPAddress, graceful: bool, neg: Negotiated | None, rib: Rib, now: float
    ) -> list[Change]:
        """Keep (stale) or drop the peer's routes; the changes to apply."""
        st = self.peer(peer)
        st.awaiting_eor.clear()
        gr = neg.graceful_restart if neg is not None else None
        if not (graceful and gr is not None and gr.families):
            st.retained = frozenset()
            st.restart_deadline = st.stale_deadline = None
            return rib.withdraw_peer(peer)
        fams = frozenset(Family(x.afi, x.safi) for x in gr.families)
        others = {p.nlri.family for p in rib.adj_in(peer)} - fams
        n = rib.mark_stale(peer, fams)
        st.retained = fams
        st.restart_deadline = now + gr.restart_time
        st.stale_deadline = None
        st.restarts += 1
        log.info(
            "neighbor %s: graceful restart, keeping %d routes stale for up to %ds",
            peer,
            n,
            gr.restart_time,
        )
        return rib.withdraw_peer(peer, others)

    def session_up(self, peer: IPAddress, neg: Negotiated, rib: Rib, now: float) -> list[Change]:
        """RFC 4724 4.2 on re-establishment: drop what the new OPEN does not preserve."""
        st = self.peer(peer)
        gr = neg.graceful_restart
        # Initial RIB: wait for End-of-RIB from GR peers that did not restart themselves.
        st.awaiting_eor = set(neg.families) if gr is not None and not gr.restarting else set()
        changes: list[Change] = []
        if st.restart_deadline is not None or st.stale_deadline is not None:
            st.restart_deadline = None
            kept = set()
            if gr is not None:
                kept = {Family(f.afi, f.safi) for f in gr.families if f.forwarding_preserved}
            drop = [f for f in st.retained if f not in kept or f not in neg.families]
            if drop:
                log.info(
                    "neighbor %s: forwarding state not preserved for %s, stale routes dropped",
                    peer,
                    ", ".join(map(str, sorted(drop))),
                )
                changes += rib.withdraw_peer(peer, drop, stale_only=True)
            st.retained = frozenset(f for f in st.retained if f not in drop)
            st.stale_deadline = now + self.cfg.stale_time if st.retained else None
        return changes

    def end_of_rib(self, peer: IPAddress, family: Family, rib: Rib) -> list[Change]:
        """The peer finished sending ``family``: its routes not refreshed are gone."""
        st = self.peer(peer)
        st.awaiting_eor.discard(family)
        changes = rib.withdraw_peer(peer, [family], stale_only=True)
        if family in st.retained:
            st.retained = frozenset(f for f in st.retained if f != family)
            if not st.retained:
                st.stale_deadline = None
        return changes

    def stale_families(self, peer: IPAddress) -> frozenset[Family]:
        st = self.peers.get(peer)
        return st.retained if st is not None else frozenset()

    # ---- timers ---------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        times = [
            t
            for st in self.peers.values()
            for t in (st.restart_deadline, st.stale_deadline)
            if t is not None
        ]
        if not self.initial_rib_complete and self.deferral_deadline is not None:
            times.append(self.deferral_deadline)
        return min(times, default=None)

    def expired(self, now: float) -> list[IPAddress]:
        """Peers whose stale routes must go now (restart or stale timer ran out)."""
        out = []
        for peer, st in self.peers.items():
            for what, t in (("restart", st.restart_deadline), ("stale", st.stale_deadline)):
                if t is not None and now >= t:
                    log.info("neighbor %s: graceful restart %s timer expired", peer, what)
                    st.restart_deadline = st.stale_deadline = None
                    st.retained = frozenset()
                    out.append(peer)
                    break
        return out

    # ---- initial RIB / restarting speaker ---------------------------------------------

    def check_complete(
        self, sessions: Mapping[IPAddress, S], established: Callable[[S], bool], now: float
    ) -> bool:
        """True once, when the initial RIB becomes complete (End-of-RIBs in, or timer).

        Called after every input: the peer found waiting last time is looked at first,
        so an RR with many peers does not scan them all on every UPDATE."""
        if self.initial_rib_complete:
            return False
        timed_out = self.deferral_deadline is not None and now >= self.deferral_deadline
        if not timed_out:
            hint = self._waiting_hint
            sess = sessions.get(hint) if hint is not None else None
            if hint is not None and sess is not None and self._waits(hint, established(sess)):
                return False
            self._waiting_hint = next(
                (p for p, x in sessions.items() if self._waits(p, established(x))), None
            )
            if self._waiting_hint is not None:
                return False
        waiting = [p for p, x in sessions.items() if self._waits(p, established(x))]
        self.initial_rib_complete = True
        self.completed_at = now
        self.completed_by = (
            f"deferral timer ({len(waiting)} peers not done)" if waiting else "End-of-RIB"
        )
        log.info("initial RIB complete (%s)", self.completed_by)
        return True

    def _waits(self, peer: IPAddress, up: bool) -> bool:
        st = self.peers.get(peer)
        return not up or (st is not None and bool(st.awaiting_eor))

    def status(self, now: float) -> dict[str, object]:
        return {
            "enabled": self.cfg.enabled,
            "restart_time": self.cfg.restart_time,
            "restarted": self.preserved,
            "deferring": self.deferring,
            "initial_rib_complete": self.initial_rib_complete,
            "completed_by": self.completed_by or None,
            "deferral_left": None
            if self.initial_rib_complete or self.deferral_deadline is None
            else max(0.0, round(self.deferral_deadline - now, 1)),
        }

    def peer_status(self, peer: IPAddress, now: float) -> dict[str, object]:
        st = self.peers.get(peer, PeerGr())

        def left(t: float | None) -> float | None:
            return None if t is None else max(0.0, round(t - now, 1))

        return {
            "stale_families": sorted(str(f) for f in st.retained),
            "restart_timer": left(st.restart_deadline),
            "stale_timer": left(st.stale_deadline),
            "awaiting_eor": sorted(str(f) for f in st.awaiting_eor),
            "restarts": st.restarts,
        }
