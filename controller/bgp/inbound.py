"""Received UPDATEs to Loc-RIB changes, sans I/O: decoding, import checks, rejects.

``Importer`` decodes an UPDATE with its session's negotiated context, applies
the import rules (families not negotiated, VPN-IP on a black session, the
draft's red/black policy in ``policy.import_reject``), tells the spoof watch
what black routes went, and counts every rejected route per neighbour and
reason. It changes the Loc-RIB; the speaker propagates the changes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from controller.bgp import convert
from controller.bgp import session as s
from controller.bgp.config import SpeakerConfig
from controller.bgp.path import Color, Family, IPAddress, Source, is_vpn_family
from controller.bgp.policy import import_reject
from controller.bgp.rib import Change, Rib
from controller.bgp.spoofwatch import SpoofWatch

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Importer:
    """``counters`` is the speaker's; ``known_red_loopbacks`` gives ours and those learnt."""

    cfg: SpeakerConfig
    spoof_watch: SpoofWatch
    counters: Counter[str]
    known_red_loopbacks: Callable[[], set[IPAddress]]
    rejects: Counter[tuple[IPAddress, str]] = field(default_factory=Counter, init=False)

    def update(
        self, peer: IPAddress, sess: s.Session, msg: object, rib: Rib, now: float
    ) -> tuple[list[Change | None], Family | None] | None:
        """The Loc-RIB changes and End-of-RIB family; None if the session is gone.

        An UPDATE and an error may arrive in one read: the session is down by the
        time the UPDATE is handled, and its routes go with it (found by fuzzing).
        """
        neg = sess.negotiated
        if neg is None or sess.peer_open is None:
            self.counters["update-after-session-end"] += 1
            return None
        n = sess.neighbor
        src = Source(
            n.color,
            peer,
            n.remote_as,
            sess.peer_open.bgp_id,
            ebgp=n.remote_as != self.cfg.local_as,
            rr_client=n.rr_client,
        )
        try:
            upd = convert.decode_update(msg, src, neg)
        except convert.SessionReset as exc:
            sess.reset(exc.error, now)
            return None
        for note in upd.notes:
            self.reject(peer, note)
        changes: list[Change | None] = []
        for nlri in upd.withdrawn:
            changes.append(rib.withdraw(nlri, peer))
            if n.color is Color.BLACK:
                self.spoof_watch.withdrawn(peer, nlri)
        red_loopbacks = self.known_red_loopbacks()
        for path in upd.announced:
            reason: str | None
            if path.nlri.family not in neg.families:
                reason = f"{path.nlri.family} was not negotiated"
                if is_vpn_family(path.nlri.family) and n.color is Color.BLACK:
                    reason = "VPN-IP route received on a black session (draft 2, 3.3)"
            else:
                reason = import_reject(path, n, self.cfg, red_loopbacks)
            if reason is not None:
                self.reject(peer, f"{path.nlri}: {reason}")
                changes.append(rib.withdraw(path.nlri, peer))
                if n.color is Color.BLACK and not is_vpn_family(path.nlri.family):
                    self.spoof_watch.rejected(peer, path.nlri)
                continue
            changes.append(rib.update(path))
        return changes, upd.eor

    def reject(self, peer: IPAddress, reason: str) -> None:
        key = reason.split(": ", 1)[-1]
        self.rejects[(peer, key)] += 1
        self.counters["rejected"] += 1
        log.warning("neighbor %s: %s", peer, reason)
