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
    """A destination with two or more candidate paths, and the selected best.

    Most destinations have one candidate: the RIB keeps those as the bare ``Path``
    (no holder, no dict: ~290 octets less per route of a full table), and their
    best is that path if its next hop resolves (``igp_cost`` set by selection).
    """

    __slots__ = ("best", "paths")

    def __init__(self, paths: dict[PeerKey, Path], best: Path | None) -> None:
        self.paths = paths
        self.best = best


_Entry = Path | _Dest


def _usable(p: Path) -> Path | None:
    return p if p.igp_cost is not None else None


def _path_of(entry: _Entry, peer: PeerKey) -> Path | None:
    if isinstance(entry, _Dest):
        return entry.paths.get(peer)
    return entry if entry.source.peer == peer else None


class Rib:
    """Candidate paths per destination, and the selected best path (Loc-RIB)."""

    def __init__(self, next_hop_cost: NextHopCost | None = None) -> None:
        self._dests: dict[Nlri, _Entry] = {}
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
        peer_set = self._by_peer.get(key)
        if peer_set is None:
            peer_set = self._by_peer[key] = set()
        peer_set.add(nlri)
        entry = self._dests.get(nlri)
        if isinstance(entry, _Dest):
            entry.paths[key] = path
            return self._select(nlri, entry)
        if entry is None or entry.source.peer == key:  # the only candidate, new or replaced
            self._dests[nlri] = path
            old = None if entry is None else _usable(entry)
            path.igp_cost = self._cost(path)
            return Change(nlri, old, _usable(path))
        # a second candidate: the destination gets a holder
        dest = self._dests[nlri] = _Dest({entry.source.peer: entry, key: path}, _usable(entry))
        return self._select(nlri, dest)

    def withdraw(self, nlri: Nlri, peer: PeerKey) -> Change | None:
        """Remove a peer's path; the change, or None if there was no such path."""
        entry = self._dests.get(nlri)
        if entry is None or _path_of(entry, peer) is None:
            return None
        peer_set = self._by_peer.get(peer)
        if peer_set is not None:
            peer_set.discard(nlri)
        if not isinstance(entry, _Dest):
            del self._dests[nlri]
            return Change(nlri, _usable(entry), None)
        paths = entry.paths
        del paths[peer]
        change = self._select(nlri, entry)
        if len(paths) == 1:  # back to a bare path, whose best _select just chose
            for only in paths.values():
                self._dests[nlri] = only
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
                p = _path_of(self._dests[nlri], peer)
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
                p = _path_of(self._dests[nlri], peer)
                assert p is not None  # _by_peer follows the paths
                p.stale = True
                n += 1
        self._stale[peer] = self._stale.get(peer, 0) + n
        return n

    def reselect(self, nlris: Iterable[Nlri] | None = None) -> list[Change]:
        """Re-run selection (after next-hop reachability changed); the changed bests."""
        changes = []
        for nlri in list(self._dests if nlris is None else nlris):
            entry = self._dests.get(nlri)
            if entry is None:
                continue
            if isinstance(entry, _Dest):
                ch = self._select(nlri, entry)
            else:
                old = _usable(entry)
                entry.igp_cost = self._cost(entry)
                ch = Change(nlri, old, _usable(entry))
            if ch.best_changed:
                changes.append(ch)
        return changes

    def _select(self, nlri: Nlri, dest: _Dest) -> Change:
        paths = dest.paths
        for p in paths.values():
            p.igp_cost = self._cost(p)
        new = best_path(list(paths.values()))
        old, dest.best = dest.best, new
        return Change(nlri, old, new)

    def best(self, nlri: Nlri) -> Path | None:
        entry = self._dests.get(nlri)
        if entry is None:
            return None
        return entry.best if isinstance(entry, _Dest) else _usable(entry)

    def paths(self, nlri: Nlri) -> list[Path]:
        entry = self._dests.get(nlri)
        if entry is None:
            return []
        return list(entry.paths.values()) if isinstance(entry, _Dest) else [entry]

    def adj_in(self, peer: PeerKey) -> Iterator[Path]:
        """Adj-RIB-In of one peer (what it sent us and we accepted)."""
        for nlri in self._by_peer.get(peer, ()):
            p = _path_of(self._dests[nlri], peer)
            assert p is not None  # _by_peer follows the paths
            yield p

    def best_paths(self, family: Family | None = None) -> Iterator[Path]:
        for nlri, entry in self._dests.items():
            best = entry.best if isinstance(entry, _Dest) else _usable(entry)
            if best is not None and (family is None or nlri.family == family):
                yield best

    def destinations(self) -> Iterator[Nlri]:
        return iter(self._dests)
