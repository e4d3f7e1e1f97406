"""RFC 4271 9.1.2.2 decision process with the RFC 4456 tie-breaks, one step per case."""

import ipaddress

import pytest

from controller.bgp.decision import best_path
from controller.bgp.path import IPV4_UNICAST, Attrs, Color, Nlri, Origin, Path, Source
from controller.bgp.rib import Rib

pytestmark = pytest.mark.unit
N = Nlri(IPV4_UNICAST, ipaddress.ip_network("203.0.113.0/24"))


def path(
    peer: str, rid: str | None = None, ebgp: bool = False, cost: int | None = 0, **attrs
) -> Path:
    attrs.setdefault("next_hop", ipaddress.ip_address("192.0.2.254"))
    src = Source(
        Color.BLACK,
        ipaddress.ip_address(peer),
        65001 if ebgp else 65000,
        ipaddress.ip_address(rid or peer),
        ebgp=ebgp,
    )
    p = Path(N, Attrs(**attrs), src)
    p.igp_cost = cost
    return p


def pick(*paths: Path) -> str:
    best = best_path(list(paths))
    assert best is not None
    return str(best.source.peer)


def seq(*asns: int) -> tuple:
    return ((2, asns),)


def test_unresolvable_next_hop_is_not_a_candidate() -> None:
    assert pick(path("10.0.0.1", cost=None, local_pref=500), path("10.0.0.2")) == "10.0.0.2"
    assert best_path([path("10.0.0.1", cost=None)]) is None


def test_local_route_beats_learned() -> None:
    local = Path(N, Attrs(next_hop=ipaddress.ip_address("192.0.2.1")), Source(Color.BLACK))
    assert best_path([path("10.0.0.1", local_pref=900), local]) is local


def test_highest_local_pref() -> None:
    assert pick(path("10.0.0.1", local_pref=100), path("10.0.0.2", local_pref=200)) == "10.0.0.2"
    # Missing LOCAL_PREF counts as the default 100.
    assert pick(path("10.0.0.1"), path("10.0.0.2", local_pref=99)) == "10.0.0.1"


def test_shortest_as_path_with_set_counting_one() -> None:
    assert (
        pick(path("10.0.0.1", as_path=seq(1, 2, 3)), path("10.0.0.2", as_path=seq(1, 2)))
        == "10.0.0.2"
    )
    with_set = ((2, (1,)), (1, (7, 8, 9, 10)))  # length 2
    assert (
        pick(path("10.0.0.1", as_path=seq(1, 2, 3)), path("10.0.0.2", as_path=with_set))
        == "10.0.0.2"
    )


def test_lowest_origin() -> None:
    assert (
        pick(path("10.0.0.1", origin=Origin.INCOMPLETE), path("10.0.0.2", origin=Origin.EGP))
        == "10.0.0.2"
    )


def test_med_only_between_same_neighbour_as() -> None:
    # Same neighbour AS 1: lower MED wins.
    assert (
        pick(
            path("10.0.0.1", as_path=seq(1, 9), med=50), path("10.0.0.2", as_path=seq(1, 8), med=10)
        )
        == "10.0.0.2"
    )
    # Different neighbour ASes: MED ignored, falls through to router id.
    assert (
        pick(
            path("10.0.0.1", as_path=seq(1, 9), med=50), path("10.0.0.2", as_path=seq(2, 8), med=10)
        )
        == "10.0.0.1"
    )
    # Missing MED = 0 (RFC 4271 9.1.2.2 c).
    assert (
        pick(path("10.0.0.2", as_path=seq(1, 9)), path("10.0.0.1", as_path=seq(1, 8), med=5))
        == "10.0.0.2"
    )


def test_ebgp_over_ibgp() -> None:
    assert pick(path("10.0.0.1"), path("10.0.0.2", ebgp=True)) == "10.0.0.2"


def test_lowest_igp_cost() -> None:
    assert pick(path("10.0.0.1", cost=20), path("10.0.0.2", cost=10)) == "10.0.0.2"


def test_lowest_router_id_using_originator_id() -> None:
    assert pick(path("10.0.0.1", rid="9.9.9.9"), path("10.0.0.2", rid="1.1.1.1")) == "10.0.0.2"
    # RFC 4456 9: ORIGINATOR_ID replaces the router id of the sender.
    assert (
        pick(
            path("10.0.0.1", rid="9.9.9.9", originator_id=ipaddress.ip_address("0.0.0.5")),
            path("10.0.0.2", rid="1.1.1.1"),
        )
        == "10.0.0.1"
    )


def test_shortest_cluster_list() -> None:
    cl = ipaddress.ip_address
    assert (
        pick(
            path("10.0.0.1", rid="1.1.1.1", cluster_list=(cl("1.0.0.1"), cl("1.0.0.2"))),
            path("10.0.0.2", rid="1.1.1.1", cluster_list=(cl("1.0.0.1"),)),
        )
        == "10.0.0.2"
    )


def test_lowest_peer_address_last() -> None:
    assert pick(path("10.0.0.9", rid="1.1.1.1"), path("10.0.0.3", rid="1.1.1.1")) == "10.0.0.3"


def test_rib_reports_changes_and_whether_the_best_moved() -> None:
    rib = Rib()
    a = path("10.0.0.1", local_pref=100)
    b = path("10.0.0.2", local_pref=200)
    assert rib.update(a).new is a
    ch = rib.update(b)
    assert (ch.old, ch.new, ch.best_changed) == (a, b, True)
    ch = rib.withdraw(N, a.source.peer)
    assert ch is not None and not ch.best_changed  # a candidate went, the best stayed
    assert rib.withdraw(N, a.source.peer) is None  # nothing left to withdraw
    assert rib.reselect() == []  # reselect reports only moves of the best
    ch = rib.withdraw(N, b.source.peer)
    assert ch is not None and ch.new is None and len(rib) == 0
