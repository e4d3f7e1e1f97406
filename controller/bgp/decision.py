"""The BGP decision process: choose the best of several paths to one destination.

RFC 4271 9.1.2.2 with the route-reflection tie-breaks of RFC 4456 9, in this order:

  0. paths whose next hop does not resolve are not candidates (9.1.2.1)
  1. locally originated paths win (our own routes are authoritative; this is
     the usual "weight" step and keeps a reflected copy from replacing them)
  2. highest degree of preference: LOCAL_PREF (default 100)
  3. shortest AS_PATH (an AS_SET counts as one)
  4. lowest ORIGIN
  5. lowest MED, only among paths from the same neighbouring AS (missing = 0)
  6. EBGP-learned over IBGP-learned
  7. lowest interior cost to the next hop
  8. lowest BGP Identifier, using ORIGINATOR_ID when present (RFC 4456)
  9. shortest CLUSTER_LIST (RFC 4456)
 10. lowest peer address

Step 5 is not a total order, so the process eliminates in rounds as the RFC
describes instead of sorting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from controller.bgp.path import Path

DEFAULT_LOCAL_PREF = 100


def _local_pref(p: Path) -> int:
    lp = p.attrs.local_pref
    return DEFAULT_LOCAL_PREF if lp is None else lp


def _router_id(p: Path) -> int:
    rid = p.attrs.originator_id or p.source.router_id
    return int(rid)


def _peer_addr(p: Path) -> tuple[int, int]:
    peer = p.source.peer
    if peer is None:
        return (0, 0)
    return (peer.version, int(peer))


def _keep_min(paths: list[Path], key: Callable[[Path], object]) -> list[Path]:
    keys = [key(p) for p in paths]
    best = min(keys)  # type: ignore[type-var]
    return [p for p, k in zip(paths, keys, strict=True) if k == best]


def _med_filter(paths: list[Path]) -> list[Path]:
    """Remove each path that has a higher MED than another path from the same neighbour AS."""
    best_med: dict[int | None, int] = {}
    for p in paths:
        nas = p.attrs.neighbor_as()
        med = p.attrs.med or 0
        if nas not in best_med or med < best_med[nas]:
            best_med[nas] = med
    return [p for p in paths if (p.attrs.med or 0) == best_med[p.attrs.neighbor_as()]]


def best_path(candidates: Sequence[Path]) -> Path | None:
    """The best usable path, or None if none has a resolvable next hop."""
    if len(candidates) == 1:  # the common case, kept cheap
        only = candidates[0]
        return only if only.igp_cost is not None else None
    paths = [p for p in candidates if p.igp_cost is not None]
    if len(paths) <= 1:
        return paths[0] if paths else None
    steps: list[Callable[[list[Path]], list[Path]]] = [
        lambda ps: _keep_min(ps, lambda p: not p.source.local),
        lambda ps: _keep_min(ps, lambda p: -_local_pref(p)),
        lambda ps: _keep_min(ps, lambda p: p.attrs.as_path_length()),
        lambda ps: _keep_min(ps, lambda p: int(p.attrs.origin)),
        _med_filter,
        lambda ps: _keep_min(ps, lambda p: not p.source.ebgp),
        lambda ps: _keep_min(ps, lambda p: p.igp_cost),
        lambda ps: _keep_min(ps, _router_id),
        lambda ps: _keep_min(ps, lambda p: len(p.attrs.cluster_list)),
        lambda ps: _keep_min(ps, _peer_addr),
    ]
    for step in steps:
        paths = step(paths)
        if len(paths) == 1:
            return paths[0]
    return paths[0]


def explain(candidates: Sequence[Path]) -> str:
    """One line naming the best path, for show output and logs."""
    best = best_path(candidates)
    if best is None:
        return "no usable path"
    return f"best {best} of {len(candidates)}"
