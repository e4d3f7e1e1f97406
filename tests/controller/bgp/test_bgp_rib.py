"""The Rib against a plain model: per destination a dict of candidates, best by best_path.

The Rib keeps a destination with one candidate as the bare Path and gives it a
holder only while it has more; every answer it gives must be the model's.
"""

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.bgp.decision import best_path
from controller.bgp.path import IPV4_UNICAST, VPNV4, Attrs, Color, Nlri, Path, Source
from controller.bgp.rib import Change, Rib
from controller.bgp.wire.nlri.rd import RouteDistinguisher

pytestmark = pytest.mark.unit

PEERS = [None, *(ipaddress.ip_address(f"10.0.0.{i}") for i in range(1, 4))]
NLRIS = [
    Nlri(IPV4_UNICAST, ipaddress.ip_network("203.0.113.0/24")),
    Nlri(IPV4_UNICAST, ipaddress.ip_network("198.51.100.0/24")),
    Nlri(VPNV4, ipaddress.ip_network("203.0.113.0/24"), RouteDistinguisher.parse("65000:1")),
]
HOPS = [ipaddress.ip_address(f"192.0.2.{i}") for i in range(1, 4)]

# (op, peer index, nlri index, local_pref / next-hop index)
OPS = st.lists(
    st.tuples(
        st.sampled_from(["update", "update", "update", "withdraw", "peer", "stale", "flip"]),
        st.integers(0, len(PEERS) - 1),
        st.integers(0, len(NLRIS) - 1),
        st.integers(0, len(HOPS) - 1),
    ),
    max_size=40,
)


class Model:
    def __init__(self) -> None:
        self.down: set[object] = set()  # next hops that do not resolve
        self.paths: dict[Nlri, dict[object, Path]] = {}
        self.best: dict[Nlri, Path | None] = {}

    def cost(self, p: Path) -> int | None:
        return None if p.attrs.next_hop in self.down else 1

    def select(self, nlri: Nlri) -> tuple[Path | None, Path | None]:
        old = self.best.get(nlri)
        paths = list(self.paths.get(nlri, {}).values())
        for p in paths:
            p.igp_cost = self.cost(p)
        self.best[nlri] = new = best_path(paths) if paths else None
        if not paths:
            self.paths.pop(nlri, None)
        return old, new


def source(i: int) -> Source:
    peer = PEERS[i]
    return Source(Color.RED, peer, 65000, ipaddress.IPv4Address(i + 1))


def same(ch: Change | None, nlri: Nlri, old_new: tuple[Path | None, Path | None]) -> None:
    assert ch is not None and ch.nlri is nlri
    assert (ch.old, ch.new) == old_new


def check(rib: Rib, m: Model) -> None:
    assert len(rib) == len(m.paths)
    assert set(rib.destinations()) == set(m.paths)
    for nlri in NLRIS:
        assert rib.best(nlri) is m.best.get(nlri)
        assert sorted(map(id, rib.paths(nlri))) == sorted(map(id, m.paths.get(nlri, {}).values()))
    assert {id(p) for p in rib.best_paths()} == {id(b) for b in m.best.values() if b is not None}
    assert {id(p) for p in rib.best_paths(VPNV4)} == {
        id(b) for n, b in m.best.items() if b is not None and n.family == VPNV4
    }
    for peer in PEERS:
        held = [ps[peer] for ps in m.paths.values() if peer in ps]
        assert sorted(map(id, rib.adj_in(peer))) == sorted(map(id, held))


@settings(max_examples=300, deadline=None)
@given(OPS)
def test_rib_agrees_with_the_model(ops: list[tuple[str, int, int, int]]) -> None:
    m = Model()
    rib = Rib(m.cost)
    for op, pi, ni, k in ops:
        peer, nlri = PEERS[pi], NLRIS[ni]
        if op == "update":
            p = Path(nlri, Attrs(next_hop=HOPS[k], local_pref=100 + k), source(pi))
            m.paths.setdefault(nlri, {})[peer] = p
            same(rib.update(p), nlri, m.select(nlri))
        elif op == "withdraw":
            ch = rib.withdraw(nlri, peer)
            if peer in m.paths.get(nlri, {}):
                del m.paths[nlri][peer]
                same(ch, nlri, m.select(nlri))
            else:
                assert ch is None
        elif op == "peer":  # all of a peer's paths, or only the stale ones
            stale_only = k == 0
            gone = [
                n for n, ps in m.paths.items() if peer in ps and (ps[peer].stale or not stale_only)
            ]
            changes = rib.withdraw_peer(peer, stale_only=stale_only)
            assert sorted(id(ch.nlri) for ch in changes) == sorted(map(id, gone))
            for n in gone:
                del m.paths[n][peer]
                m.select(n)
        elif op == "stale":
            n_stale = rib.mark_stale(peer)
            assert n_stale == sum(peer in ps for ps in m.paths.values())
            for ps in m.paths.values():
                if peer in ps:
                    ps[peer].stale = True
        else:  # a next hop stops (or starts) resolving: selection again everywhere
            # (the Rib first: the model's selection sets the shared paths' igp_cost)
            m.down ^= {HOPS[k]}
            got = {ch.nlri: (ch.old, ch.new) for ch in rib.reselect()}
            before = dict(m.best)
            changed = {n for n in list(m.paths) if m.select(n)[1] is not before.get(n)}
            assert set(got) == changed
            assert all(got[n] == (before.get(n), m.best[n]) for n in changed)
        check(rib, m)


def test_second_candidate_and_back() -> None:
    """One path, then two (the better wins), then the better withdrawn: the first is best again."""
    m = Model()
    rib = Rib(m.cost)
    n = NLRIS[0]
    low = Path(n, Attrs(next_hop=HOPS[0], local_pref=100), source(1))
    high = Path(n, Attrs(next_hop=HOPS[1], local_pref=200), source(2))
    assert rib.update(low).new is low
    ch = rib.update(high)
    assert (ch.old, ch.new) == (low, high)
    ch2 = rib.withdraw(n, PEERS[2])
    assert ch2 is not None and (ch2.old, ch2.new) == (high, low)
    m.down.add(HOPS[0])
    assert [(c.old, c.new) for c in rib.reselect()] == [(low, None)]
    assert rib.best(n) is None and rib.paths(n) == [low]
