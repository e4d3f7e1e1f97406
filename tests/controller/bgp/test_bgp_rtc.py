"""RT-Constrain (RFC 4684): C-PEs advertise their import RTs, the RR sends each only those."""

import ipaddress
from typing import Any

import pytest
from bgp_pump import RR, Net, cpe_config, ip, net_, rr_config, start_all

from controller.bgp import convert
from controller.bgp import session as s
from controller.bgp.config import NeighborConfig, SpeakerConfig
from controller.bgp.core import SpeakerCore
from controller.bgp.path import RTC, VPNV4, Attrs, Color
from controller.bgp.rtc import DEFAULT_MEMBERSHIP, local_memberships
from controller.bgp.vrf import VrfConfig
from controller.bgp.wire.attributes.ext_communities import ExtCommunity
from controller.bgp.wire.update import Update

pytestmark = pytest.mark.unit
A, B, C, D, X = "192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.9"
RR2 = "192.0.2.200"


def cpe(n: int, rt: str, rrs: list[str], **kw: Any) -> SpeakerCore:
    red = f"10.255.0.{n}"
    vrf = VrfConfig("t", f"{red}:1", (rt,), (rt,))
    cfg = cpe_config(red, red, f"198.51.100.{n}", rrs, vrfs=(vrf,))
    if kw:
        cfg = SpeakerConfig(**{**cfg.__dict__, **kw})
    return SpeakerCore(cfg)


def vpn_prefixes(node: SpeakerCore) -> set[str]:
    return {str(p.nlri.prefix) for p in node.red.best_paths(VPNV4) if not p.source.local}


def sent_vpn(rr: SpeakerCore, peer: str) -> set[str]:
    return {str(n.prefix) for n in rr.adj_out[ip(peer)] if n.family == VPNV4}


@pytest.fixture
def tenants() -> Net:
    """A and B in tenant 100, C in tenant 200, D in 100 without RT-Constrain."""
    net = Net()
    net.add(RR, SpeakerCore(rr_config(RR, [A, B, C, D])))
    for i, (addr, rt) in enumerate(((A, "65000:100"), (B, "65000:100"), (C, "65000:200"))):
        net.add(addr, cpe(i + 1, rt, [RR]))
    net.add(D, cpe(4, "65000:100", [RR], rt_constrain=False))
    start_all(net)
    for i, addr in enumerate((A, B, C, D)):
        net.node(addr).add_vrf_route("t", net_(f"172.16.{i + 1}.0/24"), net.now)
    net.settle()
    return net


def test_each_cpe_gets_only_its_tenants_routes(tenants: Net) -> None:
    rr = tenants.node(RR)
    assert {RTC} <= rr.sessions[ip(A)].negotiated.families
    assert RTC not in rr.sessions[ip(D)].negotiated.families
    assert vpn_prefixes(tenants.node(A)) == {"172.16.2.0/24", "172.16.4.0/24"}
    assert vpn_prefixes(tenants.node(B)) == {"172.16.1.0/24", "172.16.4.0/24"}
    assert vpn_prefixes(tenants.node(C)) == set()
    assert sent_vpn(rr, C) == set()
    # D did not negotiate the family: everything, C's route too, as without RFC 4684.
    assert vpn_prefixes(tenants.node(D)) == {"172.16.1.0/24", "172.16.2.0/24", "172.16.3.0/24"}
    # The RR holds every membership; the default one it sent its clients is not theirs.
    assert {p.nlri for p in rr.red.best_paths(RTC)} >= local_memberships(
        65000, [ExtCommunity.route_target("65000:200")]
    )
    assert DEFAULT_MEMBERSHIP in {p.nlri for p in tenants.node(A).red.best_paths(RTC)}


def test_import_rt_change_moves_routes_both_ways(tenants: Net) -> None:
    c, rr = tenants.node(C), tenants.node(RR)
    c.set_vrf_import_rts("t", ["65000:200", "65000:100"], tenants.now)
    tenants.settle()
    assert sent_vpn(rr, C) == {"172.16.1.0/24", "172.16.2.0/24", "172.16.4.0/24"}
    assert {str(e.prefix) for e in c.vrf_routes("t")} >= {"172.16.1.0/24", "172.16.2.0/24"}
    c.set_vrf_import_rts("t", ["65000:200"], tenants.now)
    tenants.settle()
    assert sent_vpn(rr, C) == set() and vpn_prefixes(c) == set()
    assert "172.16.1.0/24" not in {str(e.prefix) for e in c.vrf_routes("t")}


class RawPeer:
    """One bare sans-I/O session as a node of the pump: sends only what the test says."""

    def __init__(self, me: str, peer: str, **cfg: Any) -> None:
        n = NeighborConfig(ip(peer), 65000, Color.RED, families=(VPNV4,), idle_hold_time=1)
        self.peer = ip(peer)
        self.sess = s.Session(n, SpeakerConfig(65000, ip(me), **cfg))
        self.got: list[Update] = []
        self.sessions = {self.peer: self.sess}

    def start(self, now: float) -> None:
        self.sess.start(now)

    def set_transport_protected(self, peer: Any, protected: bool, now: float) -> None:
        self.sess.set_protected(protected, now)

    def connection_made(self, peer: Any, conn: int, out: bool, now: float, local: Any) -> None:
        self.sess.on_connection_made(conn, out, now, local)

    def data_received(self, peer: Any, conn: int, data: bytes, now: float) -> None:
        self.sess.on_data(conn, data, now)
        for ev in self.sess.events():
            if isinstance(ev, s.Received) and isinstance(ev.message, Update):
                self.got.append(ev.message)

    def connection_lost(self, peer: Any, conn: int, now: float) -> None:
        self.sess.on_connection_lost(conn, now)

    def connection_failed(self, peer: Any, now: float) -> None:
        self.sess.on_connection_failed(now)

    def poll(self, now: float) -> None:
        self.sess.poll(now)

    def next_deadline(self) -> float | None:
        return self.sess.next_deadline()

    def transport_ops(self) -> list[tuple[Any, s.TransportOp]]:
        return [(self.peer, op) for op in self.sess.transport_ops()]

    def vpn(self) -> set[str]:
        """VPN-IPv4 prefixes announced minus withdrawn, in order."""
        have: set[str] = set()
        for u in self.got:
            have -= {str(n.prefix) for f, n in u.withdrawals() if f == VPNV4}  # type: ignore[union-attr]
            have |= {str(n.prefix) for f, n in u.announced() if f == VPNV4}  # type: ignore[union-attr]
        return have

    def eors(self) -> list[Any]:
        return [u.end_of_rib for u in self.got if u.end_of_rib is not None]

    def send_memberships(self, rts: list[str], withdraw: bool = False) -> None:
        nlris = local_memberships(65000, [ExtCommunity.route_target(rt) for rt in rts])
        attrs = Attrs(next_hop=ip("10.255.0.9"), local_pref=100)
        neg = self.sess.negotiated
        assert neg is not None
        ann = [] if withdraw else [(n, attrs, ()) for n in nlris]
        for msg in convert.encode_updates(ann, list(nlris) if withdraw else [], neg):
            self.sess.send(msg)


@pytest.fixture
def raw() -> Net:
    net = Net()
    net.add(RR, SpeakerCore(rr_config(RR, [A, X])))
    net.add(A, cpe(1, "65000:100", [RR]))
    net.add(X, RawPeer(X, RR))
    start_all(net)
    net.node(A).add_vrf_route("t", net_("172.16.1.0/24"), net.now)
    net.settle()
    return net


def test_no_vpn_routes_nor_their_end_of_rib_before_the_peers_memberships(raw: Net) -> None:
    x: RawPeer = raw.node(X)
    assert x.sess.negotiated is not None and RTC in x.sess.negotiated.families
    assert x.vpn() == set() and RTC in x.eors() and VPNV4 not in x.eors()
    x.send_memberships(["65000:100"])
    raw.settle()
    assert x.vpn() == {"172.16.1.0/24"} and VPNV4 in x.eors()
    x.send_memberships(["65000:100"], withdraw=True)
    raw.settle()
    assert x.vpn() == set()  # withdrawn: no longer asked for


def test_end_of_rib_alone_opens_the_peer_to_nothing_it_did_not_ask_for(raw: Net) -> None:
    x: RawPeer = raw.node(X)
    x.sess.send(convert.end_of_rib(RTC))
    raw.settle()
    assert x.vpn() == set() and VPNV4 in x.eors()
    x.send_memberships(["65000:999", "65000:100"])
    raw.settle()
    assert x.vpn() == {"172.16.1.0/24"}


def test_default_membership_goes_to_clients_not_to_the_other_rr() -> None:
    net = Net()
    net.add(RR, SpeakerCore(rr_config(RR, [A], others=[RR2])))
    net.add(RR2, SpeakerCore(rr_config(RR2, [B], others=[RR])))
    net.add(A, cpe(1, "65000:100", [RR]))
    net.add(B, cpe(2, "65000:200", [RR2]))
    start_all(net)
    net.node(A).add_vrf_route("t", net_("172.16.1.0/24"), net.now)
    net.node(B).add_vrf_route("t", net_("172.16.2.0/24"), net.now)
    net.settle()
    rr, rr2 = net.node(RR), net.node(RR2)
    assert DEFAULT_MEMBERSHIP in rr.adj_out[ip(A)]
    assert DEFAULT_MEMBERSHIP not in rr.adj_out[ip(RR2)]
    # RR2 only asked (for B) for 65000:200: A's 65000:100 route stays on RR.
    assert sent_vpn(rr, RR2) == set() and sent_vpn(rr2, RR) == set()
    net.node(B).set_vrf_import_rts("t", ["65000:200", "65000:100"], net.now)
    net.settle()
    assert sent_vpn(rr, RR2) == {"172.16.1.0/24"}
    assert vpn_prefixes(net.node(B)) == {"172.16.1.0/24"}
    assert ipaddress.ip_network("172.16.2.0/24") not in {
        p.nlri.prefix for p in net.node(A).red.best_paths(VPNV4) if not p.source.local
    }


def test_rt_index_built_when_the_first_constrained_peer_comes_and_again_after() -> None:
    """The RR keeps its route-target index only while a peer negotiated RT-Constrain: routes
    learnt before the first such peer, and before it comes back, still reach it by RT."""
    net = Net()
    net.add(RR, SpeakerCore(rr_config(RR, [A, X])))
    net.add(A, cpe(1, "65000:100", [RR], rt_constrain=False))
    x = net.add(X, RawPeer(X, RR))
    net.down.add(X)
    start_all(net)
    net.node(A).add_vrf_route("t", net_("172.16.1.0/24"), net.now)
    net.settle()
    for second in ("172.16.20.0/24", "172.16.21.0/24"):
        # up, routes by RT, down (no constrained peer left: index dropped), up again
        net.down.discard(X)
        net.advance(10)
        assert x.sess.established and x.vpn() == set()
        x.send_memberships(["65000:100"])
        net.settle()
        assert x.vpn() == {"172.16.1.0/24"}
        net.node(A).add_vrf_route("t", net_(second), net.now)
        net.settle()  # learnt while the index is kept: goes by RT too
        assert x.vpn() == {"172.16.1.0/24", second}
        net.node(A).remove_vrf_route("t", net_(second), net.now)
        net.settle()
        assert x.vpn() == {"172.16.1.0/24"}
        net.down.add(X)
        net.cut(X, RR)
        net.advance(1)
        x.got.clear()
