"""Route reflection (RFC 4456) and a C-PE that keeps its routes when one of two RRs fails."""

import ipaddress

import pytest
from bgp_pump import A, B, Net, cpe_config, inject, ip, net_, rr_config, start_all, states

from controller.bgp import convert
from controller.bgp.config import NeighborConfig, SpeakerConfig
from controller.bgp.core import SpeakerCore
from controller.bgp.path import IPV4_UNICAST, Attrs, Color, Nlri
from controller.bgp.resolve import Verdict

pytestmark = pytest.mark.unit
RR, C1, N1, N2 = "192.0.2.100", "192.0.2.1", "192.0.2.11", "192.0.2.12"


def black_ibgp(me: str, peers: list[tuple[str, bool]], rid: str | None = None) -> SpeakerCore:
    ns = tuple(
        NeighborConfig(
            ip(p), 65000, Color.BLACK, rr_client=client, idle_hold_time=1, passive=me == RR
        )
        for p, client in peers
    )
    return SpeakerCore(SpeakerConfig(65000, ip(rid or me), neighbors=ns))


@pytest.fixture
def rr_net() -> Net:
    net = Net()
    net.add(RR, black_ibgp(RR, [(C1, True), (N1, False), (N2, False)]))
    for leaf in (C1, N1, N2):
        net.add(leaf, black_ibgp(leaf, [(RR, False)]))
    start_all(net, protect=False)
    assert set(states(net.node(RR)).values()) == {"Established"}
    for i, leaf in enumerate((C1, N1, N2)):
        net.node(leaf).announce(net_(f"203.0.11{i}.0/24"), ip(leaf), Color.BLACK, net.now)
    net.settle()
    return net


def has(net: Net, node: str, prefix: str) -> bool:
    return net.node(node).black.best(Nlri(IPV4_UNICAST, net_(prefix))) is not None


def test_client_routes_reflected_to_everyone(rr_net: Net) -> None:
    assert has(rr_net, N1, "203.0.110.0/24") and has(rr_net, N2, "203.0.110.0/24")
    p = rr_net.node(N1).black.best(Nlri(IPV4_UNICAST, net_("203.0.110.0/24")))
    assert p is not None
    assert p.attrs.originator_id == ip(C1)
    assert p.attrs.cluster_list == (ip(RR),)
    assert p.attrs.next_hop == ip(C1)  # unchanged by reflection


def test_non_client_routes_reflected_to_clients_only(rr_net: Net) -> None:
    assert has(rr_net, C1, "203.0.111.0/24")
    assert not has(rr_net, N2, "203.0.111.0/24")
    assert not has(rr_net, N1, "203.0.112.0/24")


def test_cluster_list_loop_is_dropped(rr_net: Net) -> None:
    rr = rr_net.node(RR)
    neg = rr_net.node(N1).sessions[ip(RR)].negotiated
    attrs = Attrs(
        as_path=(),
        next_hop=ip(N1),
        local_pref=100,
        cluster_list=(ip(RR),),
        originator_id=ip("192.0.2.77"),
    )
    msgs = convert.encode_updates([(Nlri(IPV4_UNICAST, net_("198.18.0.0/15")), attrs, ())], [], neg)
    inject(rr_net, N1, RR, msgs)
    assert rr.rejects[(ip(N1), "CLUSTER_LIST contains our cluster id (RFC 4456 8 loop)")] == 1
    attrs = attrs.with_(cluster_list=(), originator_id=ip(RR))
    msgs = convert.encode_updates([(Nlri(IPV4_UNICAST, net_("198.18.0.0/15")), attrs, ())], [], neg)
    inject(rr_net, N1, RR, msgs)
    assert rr.rejects[(ip(N1), "ORIGINATOR_ID is our router id (RFC 4456 8 loop)")] == 1
    assert not has(rr_net, RR, "198.18.0.0/15")


def test_cpe_with_two_rrs_survives_losing_one() -> None:
    rr1, rr2 = "192.0.2.100", "192.0.2.101"
    net = Net()
    net.add(rr1, SpeakerCore(rr_config(rr1, [A, B])))
    net.add(rr2, SpeakerCore(rr_config(rr2, [A, B])))
    net.add(A, SpeakerCore(cpe_config("10.255.0.1", "10.255.0.1", "198.51.100.1", [rr1, rr2])))
    net.add(B, SpeakerCore(cpe_config("10.255.0.2", "10.255.0.2", "198.51.100.2", [rr1, rr2])))
    start_all(net)
    a, b = net.node(A), net.node(B)
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    (ev,) = b.route_events()
    assert ev.verdict is Verdict.RESOLVED
    # Both RRs reflected it: two candidate paths at B.
    (nlri,) = [n for n in b.red.destinations() if n.prefix == net_("172.16.1.0/24")]
    assert {str(p.source.peer) for p in b.red.paths(nlri)} == {rr1, rr2}
    # RR1 dies: its TCP connections vanish and it accepts no new ones.
    net.down.add(ip(rr1))
    net.cut(A, rr1)
    net.cut(B, rr1)
    net.advance(30)
    assert states(b) == {rr1: "Active", rr2: "Established"}
    # Graceful restart: RR1's path stays, stale, for its restart time (120 s), then goes.
    assert {str(p.source.peer): p.stale for p in b.red.paths(nlri)} == {rr1: True, rr2: False}
    net.advance(100)
    assert {str(p.source.peer) for p in b.red.paths(nlri)} == {rr2}
    # The VRF route never went away, and A's new routes still arrive.
    assert b.route_events() == []
    assert [e.prefix for e in b.vrf_routes("blue")] == [net_("172.16.1.0/24")]
    a.add_vrf_route("blue", net_("172.16.5.0/24"), net.now)
    net.settle()
    assert [e.prefix for e in b.route_events()] == [net_("172.16.5.0/24")]
    # RR1 comes back and the sessions re-form.
    net.down.clear()
    net.advance(30)
    assert states(b) == {rr1: "Established", rr2: "Established"}
    assert ipaddress.ip_address(rr1) in {p.source.peer for p in b.red.paths(nlri)}


def test_rr_auto_discovers_cpes_from_a_dynamic_range() -> None:
    from controller.bgp.config import ConfigError, DynamicNeighbors
    from controller.bgp.path import VPNV4

    dyn = DynamicNeighbors(net_("192.0.2.0/28"), 65000, Color.RED)
    net = Net()
    net.add(RR, SpeakerCore(SpeakerConfig(65000, ip(RR), dynamic_neighbors=(dyn,))))
    outside = "192.0.2.50"
    for addr, red in ((A, "10.255.0.1"), (B, "10.255.0.2"), (outside, "10.255.0.50")):
        net.add(
            addr, SpeakerCore(cpe_config(red, red, f"198.51.100.{red.rsplit('.', 1)[1]}", [RR]))
        )
    start_all(net)  # protects every red session each node knows about (only its own RR)
    rr = net.node(RR)
    assert set(rr.sessions) == {ip(A), ip(B)}  # created on first contact, outside refused
    assert rr.counters["refused-unknown-peer"] >= 1
    # The IPsec layer reports the dynamic peers' control SAs up: the sessions come up.
    for addr in (A, B):
        rr.set_transport_protected(ip(addr), True, net.now)
    net.advance(10)
    assert states(rr) == {A: "Established", B: "Established"}
    net.node(A).add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    assert [e.prefix for e in net.node(B).vrf_routes("blue")] == [net_("172.16.1.0/24")]
    assert [
        p.attrs.cluster_list for p in net.node(B).red.best_paths(VPNV4) if not p.source.local
    ] == [(ip(RR),)]
    with pytest.raises(ConfigError, match="cannot be enabled on a black session"):
        DynamicNeighbors(net_("203.0.113.0/24"), 64999, Color.BLACK, families=(VPNV4,))
