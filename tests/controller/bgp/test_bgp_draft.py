"""Every red/black rule of draft-rosen-bess-secure-l3vpn-00, one test each (section in the name).

Topology: route reflector RR with C-PE clients A and B over red sessions; B also has
a black EBGP session to an Internet peer E (203.0.113.9, AS 64999).
"""

import ipaddress

import pytest
from bgp_pump import (
    RR,
    A,
    B,
    E,
    Net,
    _add_provider,
    cpe_config,
    inject,
    ip,
    net_,
    rr_config,
    spoof_setup,
    start_all,
    states,
    vpn_from_rr,
    vpn_trio,
    with_black_peer,
)
from bgp_pump import vpn_trio as _trio

from controller.bgp import convert
from controller.bgp.config import ConfigError, NeighborConfig, RedLoopback, SpeakerConfig
from controller.bgp.core import SpeakerCore
from controller.bgp.negotiate import local_open
from controller.bgp.path import (
    IPV4_UNICAST,
    VPNV4,
    VPNV6,
    Attrs,
    Color,
    Nlri,
    Path,
    Tunnel,
    is_vpn_family,
)
from controller.bgp.resolve import Verdict
from controller.bgp.vrf import VrfConfig
from controller.bgp.wire.attributes.ext_communities import ExtCommunity
from controller.bgp.wire.attributes.tunnel_encap import TunnelEncapsulation
from controller.bgp.wire.nlri.rd import RouteDistinguisher

pytestmark = pytest.mark.unit
TT = 0xFFFE  # default MPLS-in-IPsec tunnel type


def black_rib(node: SpeakerCore) -> set[str]:
    return {str(p.nlri) for p in node.black.best_paths()}


# ---- section 2 ----------------------------------------------------------------------


def test_s2_vpn_families_cannot_be_configured_on_black_session() -> None:
    with pytest.raises(ConfigError, match=r"vpnv4 cannot be enabled on a black session"):
        NeighborConfig(ip(E), 64999, Color.BLACK, families=(IPV4_UNICAST, VPNV4))


def test_s2_black_session_never_negotiates_vpn_families() -> None:
    net = with_black_peer()
    b = net.node(B)
    black = b.sessions[ip(E)]
    assert black.negotiated is not None
    assert not any(is_vpn_family(f) for f in black.negotiated.families)
    assert not any(is_vpn_family(f) for f in black.our_open.families)
    red = b.sessions[ip(RR)]
    assert red.negotiated is not None and VPNV4 in red.negotiated.families
    # Even a neighbour object forced to list them does not get them into the OPEN.
    forced = NeighborConfig(ip(E), 64999, Color.RED)
    object.__setattr__(forced, "color", Color.BLACK)
    assert not any(is_vpn_family(f) for f in local_open(forced, b.cfg).families)


def test_s2_s33_vpn_routes_from_black_session_are_not_accepted() -> None:
    net = with_black_peer()
    b = net.node(B)
    black = b.sessions[ip(E)]
    assert black.negotiated is not None
    # E sends a VPN-IPv4 route anyway (hand-built UPDATE, as a hostile peer would).
    rt = ExtCommunity.route_target("65000:100")
    nlri = Nlri(VPNV4, net_("172.16.9.0/24"), RouteDistinguisher.parse("64999:1"))
    attrs = Attrs(as_path=((2, (64999,)),), next_hop=ip("10.255.0.1"), ext_communities=(rt,))
    msgs = convert.encode_updates([(nlri, attrs, (777,))], [], black.negotiated)
    inject(net, E, B, msgs)
    assert b.rejects[(ip(E), "VPN-IP route received on a black session (draft 2, 3.3)")] == 1
    assert b.vrf_routes("blue") == []
    assert not [p for p in b.red.best_paths() if p.source.peer == ip(E)]
    assert states(b)[E] == "Established"  # refused, not a reason to drop the session


def test_s2_local_vpn_routes_carry_mpls_in_ipsec_tunnel_encapsulation() -> None:
    net = _trio()
    a = net.node(A)
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    a.add_vrf_route("blue", net_("2001:db8:1::/48"), net.now)
    net.settle()
    rr = net.node(RR)
    got = [p for fam in (VPNV4, VPNV6) for p in rr.red.best_paths(fam)]
    assert len(got) == 2
    for p in got:
        # The endpoint is the red loopback (= the next hop), resolved through the red
        # loopback route, whose own attribute names the black loopback (draft 4).
        assert p.attrs.tunnels == (Tunnel(TT, ip("10.255.0.1"), None),)
        assert isinstance(p.attrs.tunnel_wire, TunnelEncapsulation)  # it was on the wire
    assert a.refusals.current() == [] and net.node(B).refusals.current() == []


def test_s2_vpn_route_without_mpls_in_ipsec_encapsulation_is_not_used_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    net = _trio()
    b = net.node(B)
    vpn_from_rr(net, "172.16.5.0/24", ())
    vpn_from_rr(net, "172.16.6.0/24", (Tunnel(7, ip("10.255.0.1")),))  # IP-in-IP only
    evs = {str(e.prefix): e for e in b.vrf_routes("blue")}
    assert {k: (e.verdict, e.tunnel_endpoint) for k, e in evs.items()} == {
        "172.16.5.0/24": (Verdict.NO_ENCAP, None),
        "172.16.6.0/24": (Verdict.NO_ENCAP, None),
    }
    # The next hop (A's red loopback) resolves: only the missing attribute refuses them.
    assert b.resolver.resolve(b.red.paths(_nlri5())[0]).usable
    assert b.refusals.counts(ip(RR)) == {"no-encap": 2}
    assert [r.describe() for r in b.refusals.of_peer(ip(RR))] == [
        "no-encap 10.255.0.1:1:172.16.5.0/24",
        "no-encap 10.255.0.1:1:172.16.6.0/24",
    ]
    warned = [r.getMessage() for r in caplog.records if "not used" in r.getMessage()]
    assert any(
        RR in m and "172.16.5.0/24" in m and "tunnel types present: none" in m for m in warned
    )
    assert any("172.16.6.0/24" in m and "tunnel types present: 7" in m for m in warned)
    # Announced again with the attribute: used, and no longer listed as refused.
    vpn_from_rr(net, "172.16.5.0/24", (Tunnel(TT, ip("10.255.0.1")),))
    evs = {str(e.prefix): e for e in b.vrf_routes("blue")}
    assert evs["172.16.5.0/24"].verdict is Verdict.RESOLVED
    assert evs["172.16.5.0/24"].tunnel_endpoint == ip("198.51.100.1")
    assert [r.describe() for r in b.refusals.of_peer(ip(RR))] == [
        "no-encap 10.255.0.1:1:172.16.6.0/24"
    ]


def _nlri5() -> Nlri:
    return Nlri(VPNV4, net_("172.16.5.0/24"), RouteDistinguisher.parse("10.255.0.1:1"))


# ---- section 3.2 ----------------------------------------------------------------------


def test_s32_red_session_waits_for_ipsec_protection() -> None:
    net = _trio(start=False)
    for node in net.nodes.values():
        node.start(0)
    net.advance(30)
    for node in net.nodes.values():
        for sess in node.sessions.values():
            assert sess.state.name == "IDLE"
            assert sess.fsm.idle_reason == "transport not IPsec-protected"
    # An incoming connection is refused while unprotected.
    a = net.node(A)
    a.connection_made(ip(RR), 99, False, net.now)
    assert (ip(RR), convert_close(99)) in a.transport_ops()
    from bgp_pump import protect_all

    protect_all(net)
    net.advance(2)
    assert states(net.node(RR)) == {A: "Established", B: "Established"}


def convert_close(conn: int) -> object:
    from controller.bgp.session import Close

    return Close(conn)


@pytest.mark.parametrize("graceful", [True, False])
def test_s32_losing_protection_takes_red_session_down(graceful: bool) -> None:
    from bgp_pump import notifications

    from controller.bgp.config import GracefulRestartConfig

    net = _trio(gr=GracefulRestartConfig(enabled=graceful, restart_time=30))
    b, a = net.node(B), net.node(A)
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    assert b.vrf_routes("blue")
    b.set_transport_protected(ip(RR), False, net.now)
    net.settle()
    assert (6, 6) in notifications(net, B)  # Cease / Other Configuration Change
    assert states(b) == {RR: "Idle"}
    assert b.sessions[ip(RR)].fsm.idle_reason == "transport not IPsec-protected"
    if graceful:
        # A broken transport is a session loss graceful restart covers (the RR's
        # restart, or its SAs renegotiated): the routes stay, stale, for its restart time.
        assert [e.prefix for e in b.vrf_routes("blue")] == [net_("172.16.1.0/24")]
        assert all(p.stale for p in b.red.adj_in(ip(RR)))
        net.advance(125)
    assert b.vrf_routes("blue") == []


# ---- section 3.3 ----------------------------------------------------------------------


def test_s33_local_vpn_route_has_red_loopback_next_hop_label_and_rts() -> None:
    net = _trio()
    label = net.node(A).add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    rr = net.node(RR)
    (path,) = [p for p in rr.red.best_paths(VPNV4)]
    assert path.attrs.next_hop == ip("10.255.0.1")
    assert path.labels == (label,)
    assert path.attrs.route_targets() == (ExtCommunity.route_target("65000:100"),)
    assert str(path.nlri.rd) == "10.255.0.1:1"


def test_s33_red_loopback_route_contents() -> None:
    net = _trio()
    rr = net.node(RR)
    p = rr.red.best(Nlri(IPV4_UNICAST, net_("10.255.0.1/32")))
    assert p is not None
    assert p.attrs.next_hop == ip("198.51.100.1")  # next hop = black loopback
    assert p.attrs.tunnels == (Tunnel(TT, ip("198.51.100.1"), b"\x01\x02"),)
    assert p.attrs.route_targets() == ()  # SHOULD NOT carry route targets


def test_s33_no_security_handle_when_not_configured() -> None:
    net = Net()
    net.add(RR, SpeakerCore(rr_config(RR, [A])))
    net.add(
        A, SpeakerCore(cpe_config("10.255.0.1", "10.255.0.1", "198.51.100.1", [RR], handle=None))
    )
    start_all(net)
    p = net.node(RR).red.best(Nlri(IPV4_UNICAST, net_("10.255.0.1/32")))
    assert p is not None and p.attrs.tunnels == (Tunnel(TT, ip("198.51.100.1"), None),)


def test_s31_s33_red_loopback_and_vpn_routes_never_sent_on_black_session() -> None:
    net = with_black_peer()
    net.node(B).add_vrf_route("blue", net_("172.16.2.0/24"), net.now)
    net.node(A).add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    e = net.node(E)
    assert black_rib(e) == set()
    assert len(e.red) == 0
    assert not [p for p in net.node(B).red.best_paths() if p.source.peer == ip(E)]


def test_s31_red_loopback_route_from_black_session_is_ignored() -> None:
    net = with_black_peer()
    e, b = net.node(E), net.node(B)
    # With the MPLS-in-IPsec tunnel attribute: recognisably a red loopback route.
    e.announce(
        net_("10.255.0.77/32"), ip(E), Color.BLACK, net.now, tunnels=(Tunnel(TT, ip(E), b"\x09"),)
    )
    # A host route equal to a red loopback we know from the red side.
    e.announce(net_("10.255.0.1/32"), ip(E), Color.BLACK, net.now)
    # An ordinary Internet route is accepted.
    e.announce(net_("198.18.0.0/15"), ip(E), Color.BLACK, net.now)
    net.settle()
    assert black_rib(b) == {"198.18.0.0/15"}
    reason = "red loopback route received on a black session ignored (draft 3.1)"
    assert b.rejects[(ip(E), reason)] == 2


def test_s31_black_loopback_on_black_sessions_only_when_configured() -> None:
    # Default: nothing of ours on the black session (as the test above checks too).
    assert black_rib(with_black_peer().node(E)) == set()
    net = vpn_trio(start=False, black_peers=[(E, 64999)])
    b_cfg = net.node(B).cfg
    net.nodes[ip(B)] = SpeakerCore(
        SpeakerConfig(**{**b_cfg.__dict__, "advertise_black_loopback": True})
    )
    _add_provider(net)
    start_all(net)
    e, rr = net.node(E), net.node(RR)
    got = e.black.best(Nlri(IPV4_UNICAST, net_("198.51.100.2/32")))
    assert black_rib(e) == {"198.51.100.2/32"}
    # Next hop: B's address on that session (draft 3.1), B's AS prepended (EBGP).
    assert got is not None and got.attrs.next_hop == ip(B)
    assert got.attrs.as_path == ((2, (65000,)),) and got.attrs.tunnels == ()
    assert len(rr.black) == 0  # never on a red session
    # Mobility: the new black loopback replaces the old one on the black session.
    net.node(B).set_black_loopback(ip("198.51.100.22"), net.now)
    net.settle()
    assert black_rib(e) == {"198.51.100.22/32"}


def test_s34_no_propagation_between_red_and_black_whatever_the_rts() -> None:
    net = with_black_peer()
    e, b, rr = net.node(E), net.node(B), net.node(RR)
    e.announce(net_("198.18.0.0/15"), ip(E), Color.BLACK, net.now)
    b.announce(net_("192.0.2.0/24"), ip("198.51.100.2"), Color.BLACK, net.now)
    net.settle()
    assert black_rib(b) == {"198.18.0.0/15", "192.0.2.0/24"}
    # The black route reached neither the RR nor A.
    assert not any("198.18" in str(n) for n in rr.red.destinations())
    assert len(rr.black) == 0
    got = e.black.best(Nlri(IPV4_UNICAST, net_("192.0.2.0/24")))
    assert got is not None and got.source.peer == ip(B)  # B's own black route did go to E
    # EBGP on a black session: next hop is B's end of the session, AS path prepended.
    assert got.attrs.next_hop == ip(B) and got.attrs.as_path == ((2, (65000,)),)


def test_s34_next_hop_unchanged_on_ebgp_red_sessions() -> None:
    # A is in AS 65001 with an EBGP red session to the RR (AS 65000); B stays IBGP.
    net = Net()
    rr_cfg = rr_config(RR, [B])
    rr_cfg = SpeakerConfig(
        65000,
        ip(RR),
        neighbors=(*rr_cfg.neighbors, NeighborConfig(ip(A), 65001, Color.RED, passive=True)),
    )
    net.add(RR, SpeakerCore(rr_cfg))
    net.add(
        A,
        SpeakerCore(
            cpe_config("10.255.0.1", "10.255.0.1", "198.51.100.1", [RR], asn=65001, rr_as=65000)
        ),
    )
    net.add(B, SpeakerCore(cpe_config("10.255.0.2", "10.255.0.2", "198.51.100.2", [RR])))
    start_all(net)
    a, b = net.node(A), net.node(B)
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    b.add_vrf_route("blue", net_("172.16.2.0/24"), net.now)
    net.settle()
    (at_b,) = [p for p in b.red.best_paths(VPNV4) if not p.source.local]
    assert at_b.attrs.next_hop == ip("10.255.0.1")
    assert at_b.attrs.as_path == ((2, (65001,)),)
    (at_a,) = [p for p in a.red.best_paths(VPNV4) if not p.source.local]
    assert at_a.attrs.next_hop == ip("10.255.0.2")  # EBGP, yet unchanged
    assert at_a.attrs.as_path == ((2, (65000,)),)
    ev = {e.prefix: e for e in a.vrf_routes("blue")}
    assert ev[net_("172.16.2.0/24")].verdict is Verdict.RESOLVED
    assert ev[net_("172.16.2.0/24")].tunnel_endpoint == ip("198.51.100.2")


# ---- section 4 ------------------------------------------------------------------------


def test_s4_resolution_through_black_route_is_a_spoof() -> None:
    net = spoof_setup()
    a, b, e = net.node(A), net.node(B), net.node(E)
    e.announce(net_("10.255.0.0/16"), ip(E), Color.BLACK, net.now)
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    # The VPN route arrived but is not used: the app is told SPOOF (no tunnel endpoint,
    # nothing for the FIB), and it is counted and listed.
    (ev,) = b.route_events()
    assert (ev.prefix, ev.verdict, ev.tunnel_endpoint) == (
        net_("172.16.1.0/24"),
        Verdict.SPOOF,
        None,
    )
    assert b.vrf_routes("blue") == [ev]
    assert b.counters["spoof"] == 1
    ((nlri, res),) = b.spoofs.items()
    assert nlri.prefix == net_("172.16.1.0/24")
    assert res.verdict is Verdict.SPOOF and res.via_peer == ip(E)
    assert res.via == f"10.255.0.0/16 from {E}"
    # Once A's red loopback route arrives, the red host route wins and the spoof clears.
    a.set_black_loopback(ip("198.51.100.1"), net.now)
    net.settle()
    (ev,) = b.vrf_routes("blue")
    assert ev.verdict is Verdict.RESOLVED and ev.tunnel_endpoint == ip("198.51.100.1")
    assert b.spoofs == {}


def test_s4_spoof_through_black_host_route_for_unknown_red_loopback() -> None:
    net = spoof_setup()
    a, b, e = net.node(A), net.node(B), net.node(E)
    e.announce(net_("10.255.0.1/32"), ip(E), Color.BLACK, net.now)
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    assert [ev.verdict for ev in b.vrf_routes("blue")] == [Verdict.SPOOF]
    assert [r.verdict for r in b.spoofs.values()] == [Verdict.SPOOF]


def test_s4_tunnel_endpoint_comes_from_attribute_not_next_hop() -> None:
    net = _trio()
    a, b = net.node(A), net.node(B)
    # A red loopback route whose next hop differs from the tunnel endpoint (as after a
    # next-hop rewrite on the way): the endpoint must be the attribute's.
    a.announce(
        net_("10.255.0.50/32"),
        ip("192.0.2.222"),
        Color.RED,
        net.now,
        tunnels=(Tunnel(TT, ip("198.51.100.50"), b"\x50"),),
    )
    net.settle()
    lo_route = b.red.best(Nlri(IPV4_UNICAST, net_("10.255.0.50/32")))
    assert lo_route is not None and lo_route.attrs.next_hop == ip("192.0.2.222")
    vpn = Path(Nlri(VPNV4, net_("1.0.0.0/8")), Attrs(next_hop=ip("10.255.0.50")), lo_route.source)
    res = b.resolver.resolve(vpn)
    assert res.verdict is Verdict.RESOLVED
    assert res.tunnel_endpoint == ip("198.51.100.50")
    assert res.security_handle == b"\x50"


def test_s4_per_tenant_red_loopbacks_with_distinct_handles() -> None:
    with pytest.raises(ConfigError, match="MUST be distinct"):
        SpeakerConfig(
            65000,
            ip("10.255.0.1"),
            black_loopback=ip("198.51.100.1"),
            red_loopbacks=(
                RedLoopback(ip("10.255.0.1"), b"\x01"),
                RedLoopback(ip("10.255.1.1"), b"\x01"),
            ),
        )
    vrfs = (
        VrfConfig("blue", "65000:1", ("65000:100",), ("65000:100",)),
        VrfConfig("green", "65000:2", ("65000:200",), ("65000:200",)),
    )
    los = (
        RedLoopback(ip("10.255.0.1"), b"\x11", tenant="blue"),
        RedLoopback(ip("10.255.1.1"), b"\x22", tenant="green"),
    )
    net = Net()
    net.add(RR, SpeakerCore(rr_config(RR, [A, B])))
    net.add(
        A,
        SpeakerCore(
            cpe_config("10.255.0.1", "", "198.51.100.1", [RR], vrfs=vrfs, red_loopbacks=los)
        ),
    )
    net.add(
        B,
        SpeakerCore(
            cpe_config(
                "10.255.0.2",
                "10.255.0.2",
                "198.51.100.2",
                [RR],
                vrfs=tuple(
                    VrfConfig(v.name, f"65000:{9 + i}", v.import_rts, v.export_rts)
                    for i, v in enumerate(vrfs)
                ),
            )
        ),
    )
    start_all(net)
    a, b = net.node(A), net.node(B)
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    a.add_vrf_route("green", net_("172.16.1.0/24"), net.now)
    net.settle()
    (blue,) = b.vrf_routes("blue")
    (green,) = b.vrf_routes("green")
    assert (blue.next_hop, blue.security_handle) == (ip("10.255.0.1"), b"\x11")
    assert (green.next_hop, green.security_handle) == (ip("10.255.1.1"), b"\x22")
    assert blue.tunnel_endpoint == green.tunnel_endpoint == ip("198.51.100.1")


# ---- section 3.2 mobility -------------------------------------------------------------


def test_s32_mobility_black_loopback_change_converges() -> None:
    net = _trio()
    a, b, rr = net.node(A), net.node(B), net.node(RR)
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    a.add_vrf_route("blue", net_("2001:db8:1::/48"), net.now)  # next hop ::ffff:10.255.0.1
    net.settle()
    b.route_events()
    a.set_black_loopback(ip("198.51.100.99"), net.now)
    net.settle()
    p = rr.red.best(Nlri(IPV4_UNICAST, net_("10.255.0.1/32")))
    assert p is not None and p.attrs.next_hop == ip("198.51.100.99")
    assert p.attrs.tunnels[0].endpoint == ip("198.51.100.99")
    events = b.route_events()
    assert sorted(str(ev.prefix) for ev in events) == ["172.16.1.0/24", "2001:db8:1::/48"]
    for ev in events:
        assert ev.tunnel_endpoint == ip("198.51.100.99") and ev.verdict is Verdict.RESOLVED
    assert {ev.tunnel_endpoint for ev in b.vrf_routes("blue")} == {
        ipaddress.ip_address("198.51.100.99")
    }


def test_s4_spoof_detected_when_black_route_arrives_after_vpn_route() -> None:
    net = spoof_setup()
    a, b, e = net.node(A), net.node(B), net.node(E)
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    assert b.spoofs == {}  # no red loopback route yet: unresolved, not a spoof
    assert [ev.verdict for ev in b.vrf_routes("blue")] == [Verdict.UNRESOLVED]
    e.announce(net_("10.0.0.0/8"), ip(E), Color.BLACK, net.now)
    net.settle()
    assert [r.verdict for r in b.spoofs.values()] == [Verdict.SPOOF]
    assert [ev.verdict for ev in b.vrf_routes("blue")] == [Verdict.SPOOF]
    assert b.counters["spoof"] == 1
    e.withdraw(net_("10.0.0.0/8"), Color.BLACK, net.now)
    net.settle()
    assert b.spoofs == {}
    assert [ev.verdict for ev in b.vrf_routes("blue")] == [Verdict.UNRESOLVED]
    a.set_black_loopback(ip("198.51.100.1"), net.now)
    net.settle()
    assert [ev.verdict for ev in b.vrf_routes("blue")] == [Verdict.RESOLVED]


def test_resolution_dependencies_of_withdrawn_routes_are_forgotten() -> None:
    net = _trio()
    a, b = net.node(A), net.node(B)
    for i in range(5):
        a.add_vrf_route("blue", net_(f"172.16.{i}.0/24"), net.now)
    net.settle()
    assert sum(len(d) for d in b.vpn._deps.values()) == 5
    for i in range(5):
        a.remove_vrf_route("blue", net_(f"172.16.{i}.0/24"), net.now)
    a.set_black_loopback(ip("198.51.100.42"), net.now)  # a unicast change prunes
    net.settle()
    assert b.vpn._deps == {}
