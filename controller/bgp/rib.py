"""Adj-RIB-In and Loc-RIB (RFC 4271 3.2), with per-destination best-path selection.

A ``Rib`` holds, per destination, the candidate paths keyed by where they came
from (a peer address, or None for our own routes). Every change re-runs the
decision process for that destination only and reports whether the best path
changed, so the speaker can update Adj-RIB-Out incrementally. The speaker keeps
one Rib per colour: red and black routes never compete with each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from controller.bgp.decision import best_path
from controller.bgp.path import Family, IPAddress, Nlri, Path

PeerKey = IPAddress | None
# Interior cost to reach a next hop, or None when it does not resolve (RFC 4271 9.1.2.1).
NextHopCost = Callable[[Path], int | None]


@dataclass(slots=True)
class Change:
    """The paths for ``nlri`` changed; the best went from ``old`` to ``new`` (maybe the same)."""

    nlri: Nlri
    old: Path | None
    new: Path | None

    @property
    def best_changed(self) -> bool:
        return self.old is not self.new


class _Dest:
    __slots__ = ("best", "paths")

    def __init__(self) -> None:
        self.paths: dict[PeerKey, Path] = {}
        self.best: Path | None = None


class Rib:
    """Candidate paths per destination, and the selected best path (Loc-RIB)."""

    def __init__(self, next_hop_cost: NextHopCost | None = None) -> None:
        self._dests: dict[Nlri, _Dest] = {}
        self._by_peer: dict[PeerKey, set[Nlri]] = {}
        self._cost = next_hop_cost or (lambda _p: 0)
        # Upper bound of stale paths per peer, so an End-of-RIB with none left is cheap.
        self._stale: dict[PeerKey, int] = {}

    def __len__(self) -> int:
        return len(self._dests)

    def update(self, path: Path) -> Change:
        """Insert or replace the path from ``path.source``; the change (best may be unchanged)."""
        key = path.source.peer
        nlri = path.nlri
        dest = self._dests.get(nlri)
        if dest is None:
            dest = self._dests[nlri] = _Dest()
        dest.paths[key] = path
        peer_set = self._by_peer.get(key)
        if peer_set is None:
            peer_set = self._by_peer[key] = set()
        peer_set.add(nlri)
        change = self._select(path.nlri, dest, always=True)
        assert change is not None  # always=True
        return change

    def withdraw(self, nlri: Nlri, peer: PeerKey) -> Change | None:
        """Remove a peer's path; the change, or None if there was no such path."""
        dest = self._dests.get(nlri)
        if dest is None or dest.paths.pop(peer, None) is None:
            return None
        peer_set = self._by_peer.get(peer)
        if peer_set is not None:
            peer_set.discard(nlri)
        change = self._select(nlri, dest, always=True)
        if not dest.paths:
            del self._dests[nlri]
        return change

    def withdraw_peer(
        self, peer: PeerKey, families: Iterable[Family] | None = None, stale_only: bool = False
    ) -> list[Change]:
        """Drop a peer's paths (all, or those of some families, or only the stale ones)."""
        fams = None if families is None else set(families)
        changes: list[Change] = []
        if stale_only and not self._stale.get(peer):
            return changes
        for nlri in list(self._by_peer.get(peer, ())):
            if fams is not None and nlri.family not in fams:
                continue
            if stale_only:
                p = self._dests[nlri].paths.get(peer)
                if p is None or not p.stale:
                    continue
            ch = self.withdraw(nlri, peer)
            if ch is not None:
                changes.append(ch)
        if families is None:
            self._stale.pop(peer, None)
        return changes

    def mark_stale(self, peer: PeerKey, families: Iterable[Family] | None = None) -> int:
        """Graceful restart / enhanced refresh: keep the paths but mark them stale."""
        fams = None if families is None else set(families)
        n = 0
        for nlri in self._by_peer.get(peer, ()):
            if fams is None or nlri.family in fams:
                self._dests[nlri].paths[peer].stale = True
                n += 1
        self._stale[peer] = self._stale.get(peer, 0) + n
        return n

    def reselect(self, nlris: Iterable[Nlri] | None = None) -> list[Change]:
        """Re-run selection (after next-hop reachability changed)."""
        changes = []
        for nlri in list(self._dests if nlris is None else nlris):
            dest = self._dests.get(nlri)
            if dest is not None:
                ch = self._select(nlri, dest)
                if ch is not None:
                    changes.append(ch)
        return changes

    def _select(self, nlri: Nlri, dest: _Dest, always: bool = False) -> Change | None:
        paths = dest.paths
        if len(paths) == 1:  # one candidate (most destinations): no list, no decision steps
            for only in paths.values():
                only.igp_cost = cost = self._cost(only)
                new = only if cost is not None else None
        else:
            for p in paths.values():
                p.igp_cost = self._cost(p)
            new = best_path(list(paths.values()))
        old = dest.best
        dest.best = new
        if old is new and not always:
            return None
        return Change(nlri, old, new)

    def best(self, nlri: Nlri) -> Path | None:
        dest = self._dests.get(nlri)
        return None if dest is None else dest.best

    def paths(self, nlri: Nlri) -> list[Path]:
        dest = self._dests.get(nlri)
        return [] if dest is None else list(dest.paths.values())

    def adj_in(self, peer: PeerKey) -> Iterator[Path]:
        """Adj-RIB-In of one peer (what it sent us and we accepted)."""
        for nlri in self._by_peer.get(peer, ()):
            yield self._dests[nlri].paths[peer]

    def best_paths(self, family: Family | None = None) -> Iterator[Path]:
        for nlri, dest in self._dests.items():
            if dest.best is not None and (family is None or nlri.family == family):
                yield dest.best

    def destinations(self) -> Iterator[Nlri]:
        return iter(self._dests)
