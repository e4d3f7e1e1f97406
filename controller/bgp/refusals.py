"""Red routes kept in the RIB but refused for use, with the draft rule each one broke.

Some received red routes are not withdrawn at import but are never candidates
for best path: the rule that refuses them may stop applying (the route is
re-announced with the missing attribute, the rightful originator of a red
loopback withdraws). The RIB's next-hop cost function decides; this module
records its refusals so that they are reported:

* a warning naming the neighbour, the prefix and the reason, once per new refusal;
* a count per (neighbour, kind), ever (a route withdrawn and announced again
  while still refused counts again), for ``show bgp`` and the metrics;
* the refusals in force now, per neighbour, for ``show`` and the metrics.

Kinds: ``no-encap`` (draft 2: a VPN-IP route without an MPLS-in-IPsec Tunnel
Encapsulation attribute), ``duplicate-loopback`` (draft 3.1: a second
originator of a red loopback), ``identity`` (a red loopback route from a peer
whose IKE identity is not bound to that loopback).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from controller.bgp.path import IPAddress, Nlri, Path
from controller.bgp.rib import Rib

log = logging.getLogger(__name__)

KINDS = ("no-encap", "duplicate-loopback", "identity")


@dataclass
class Refusal:
    kind: str
    peer: IPAddress | None
    nlri: Nlri
    detail: str
    path: Path

    def describe(self) -> str:
        return f"{self.kind} {self.nlri.prefix if self.nlri.rd is None else self.nlri}"


class Refusals:
    """The refusals of the routes in one Loc-RIB (the red one)."""

    def __init__(self, rib: Rib) -> None:
        self.rib = rib
        self.ever: Counter[tuple[IPAddress | None, str]] = Counter()
        self._now: dict[tuple[str, IPAddress | None, Nlri], Refusal] = {}
        self._prune_at = 1024  # bounded memory even if nobody asks for show output

    def refuse(self, kind: str, path: Path, detail: str) -> None:
        """``path`` (already in the RIB) is not to be used; log and count it if new."""
        assert kind in KINDS
        key = (kind, path.source.peer, path.nlri)
        old = self._now.get(key)
        self._now[key] = Refusal(kind, path.source.peer, path.nlri, detail, path)
        if old is not None and old.detail == detail:
            return
        if old is None:
            self.ever[(path.source.peer, kind)] += 1
        log.warning(
            "neighbor %s: %s %s not used: %s",
            path.source.peer or "local",
            "VPN route" if path.nlri.rd is not None else "route",
            path.nlri,
            detail,
        )
        if len(self._now) > self._prune_at:
            self.current()
            self._prune_at = max(1024, 2 * len(self._now))

    def clear(self, kind: str, path: Path) -> None:
        """``path`` passes the ``kind`` rule now."""
        if self._now.pop((kind, path.source.peer, path.nlri), None) is not None:
            log.info("neighbor %s: %s %s: no longer refused", path.source.peer, kind, path.nlri)

    def current(self) -> list[Refusal]:
        """The refusals whose route is still in the RIB, in a stable order."""
        for key, r in list(self._now.items()):
            if not any(p is r.path for p in self.rib.paths(r.nlri)):
                del self._now[key]
        return sorted(self._now.values(), key=lambda r: (r.kind, str(r.peer), str(r.nlri)))

    def of_peer(self, peer: IPAddress) -> list[Refusal]:
        return [r for r in self.current() if r.peer == peer]

    def counts(self, peer: IPAddress) -> dict[str, int]:
        """Refusals ever recorded for ``peer``, per kind (kinds with none left out)."""
        return {k: n for (p, k), n in sorted(self.ever.items(), key=str) if p == peer and n}
