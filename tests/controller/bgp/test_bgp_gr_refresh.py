"""Graceful restart helper mode (RFC 4724) and (enhanced) route refresh (RFC 2918, RFC 7313)."""

import pytest
from bgp_pump import RR, A, B, Net, inject, ip, net_, states, vpn_trio

from controller.bgp.fsm import COLLISION_WINDOW
from controller.bgp.path import IPV4_UNICAST, VPNV4, VPNV6
from controller.bgp.wire.capabilities import (
    GracefulRestart,
    GracefulRestartFamily,
    MultiProtocol,
)
from controller.bgp.wire.message import decode_message
from controller.bgp.wire.open import Open
from controller.bgp.wire.route_refresh import RefreshSubtype, RouteRefreshMessage
from controller.bgp.wire.update import Update

pytestmark = pytest.mark.unit


def gr_capable_b(restart_time: int = 60) -> Net:
    """The trio, with B announcing Graceful Restart for its families (as FRR or GoBGP can)."""
    net = vpn_trio(start=False)
    b = net.node(B)
    sess = b.sessions[ip(RR)]
    fams = [MultiProtocol(f.afi, f.safi) for f in (IPV4_UNICAST, VPNV4, VPNV6)]
    gr = GracefulRestart(
        restart_time=restart_time,
        families=tuple(GracefulRestartFamily(f.afi, f.safi, True) for f in fams),
    )
    sess.our_open = Open.create(65000, 90, b.cfg.router_id, [*fams, gr])
    from bgp_pump import start_all

    start_all(net)
    return net


def test_peer_restart_keeps_stale_routes_until_end_of_rib() -> None:
    net = gr_capable_b()
    a, b, rr = net.node(A), net.node(B), net.node(RR)
    b.add_vrf_route("blue", net_("172.16.2.0/24"), net.now)
    b.add_vrf_route("blue", net_("172.16.3.0/24"), net.now)
    net.settle()
    a.route_events()
    # B's TCP connection dies without a NOTIFICATION, and while it is down B loses a route.
    net.down.add(ip(B))
    net.cut(B, RR)
    b.remove_vrf_route("blue", net_("172.16.3.0/24"), net.now)
    net.settle()
    stale = [p for p in rr.red.adj_in(ip(B)) if p.stale]
    assert {str(p.nlri.prefix) for p in stale} >= {"172.16.2.0/24", "172.16.3.0/24"}
    assert a.route_events() == []  # A keeps forwarding meanwhile
    net.down.clear()
    net.advance(10)
    assert states(rr)[B] == "Established"
    # B's End-of-RIB made the RR drop what B did not re-announce, and only that.
    assert not any(p.stale for p in rr.red.adj_in(ip(B)))
    gone = a.route_events()
    assert [(e.prefix, e.withdrawn) for e in gone] == [(net_("172.16.3.0/24"), True)]
    assert [e.prefix for e in a.vrf_routes("blue")] == [net_("172.16.2.0/24")]


def test_restart_timer_expiry_purges_stale_routes() -> None:
    net = gr_capable_b(restart_time=20)
    a, b = net.node(A), net.node(B)
    b.add_vrf_route("blue", net_("172.16.2.0/24"), net.now)
    net.settle()
    a.route_events()
    net.down.add(ip(B))
    net.cut(B, RR)
    net.advance(15)
    assert a.route_events() == []
    net.advance(10)
    assert [(e.prefix, e.withdrawn) for e in a.route_events()] == [(net_("172.16.2.0/24"), True)]


def test_notification_is_not_a_graceful_restart() -> None:
    net = gr_capable_b()
    a, b = net.node(A), net.node(B)
    b.add_vrf_route("blue", net_("172.16.2.0/24"), net.now)
    net.settle()
    a.route_events()
    b.stop(net.now)
    net.settle()
    assert [(e.prefix, e.withdrawn) for e in a.route_events()] == [(net_("172.16.2.0/24"), True)]


def test_enhanced_route_refresh_resends_between_borr_and_eorr() -> None:
    net = vpn_trio()
    a, b = net.node(A), net.node(B)
    b.add_vrf_route("blue", net_("172.16.2.0/24"), net.now)
    net.settle()
    a.route_events()
    start = len(net.captured)
    assert a.request_refresh(ip(RR), VPNV4, net.now)
    net.settle()
    from_rr = [
        decode_message(d, a.sessions[ip(RR)]._ctx[next(iter(a.sessions[ip(RR)]._ctx))])
        for src, dst, d in net.captured[start:]
        if src == ip(RR) and dst == ip(A)
    ]
    kinds = [
        ("borr" if m.subtype == RefreshSubtype.BORR else "eorr")
        if isinstance(m, RouteRefreshMessage)
        else type(m).__name__
        for m in from_rr
    ]
    assert kinds[0] == "borr" and kinds[-1] == "eorr" and "Update" in kinds
    assert all(isinstance(m, Update) for m in from_rr[1:-1])
    # Nothing changed for A: same routes, no events.
    assert a.route_events() == []
    assert [e.prefix for e in a.vrf_routes("blue")] == [net_("172.16.2.0/24")]


def test_borr_then_eorr_without_routes_purges_them() -> None:
    net = vpn_trio()
    a, b = net.node(A), net.node(B)
    b.add_vrf_route("blue", net_("172.16.2.0/24"), net.now)
    net.settle()
    a.route_events()
    inject(
        net,
        RR,
        A,
        [
            RouteRefreshMessage(1, 128, RefreshSubtype.BORR),
            RouteRefreshMessage(1, 128, RefreshSubtype.EORR),
        ],
    )
    assert [(e.prefix, e.withdrawn) for e in a.route_events()] == [(net_("172.16.2.0/24"), True)]
    assert states(a)[RR] == "Established"


def test_new_connection_from_restarted_peer_replaces_established_session() -> None:
    net = gr_capable_b()
    a, b, rr = net.node(A), net.node(B), net.node(RR)
    b.add_vrf_route("blue", net_("172.16.2.0/24"), net.now)
    net.settle()
    net.advance(COLLISION_WINDOW)  # up a while: a new OPEN sooner, without R, is a collision
    a.route_events()
    # B restarts: its side of the TCP connection is gone, the RR has not noticed yet.
    ((bconn, (_, rrconn)),) = [
        (c, other) for (n, c), other in net.links.items() if n == ip(B) and other[0] == ip(RR)
    ]
    del net.links[(ip(B), bconn)]
    del net.links[(ip(RR), rrconn)]
    b.connection_lost(ip(RR), bconn, net.now)
    assert states(rr)[B] == "Established"
    net.advance(5)  # B reconnects; the RR takes the new connection (RFC 4724 4.2)
    assert states(rr)[B] == "Established" and states(b)[RR] == "Established"
    assert rr.sessions[ip(B)].fsm.conns.keys() != {rrconn}
    assert not any(p.stale for p in rr.red.adj_in(ip(B)))
    assert a.route_events() == []  # A never lost the route
