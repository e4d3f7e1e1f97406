"""Spoof attempts on a black session (draft 3.1, 4): seen even when a red route wins.

Topology of test_bgp_draft: RR with C-PE clients A (red loopback 10.255.0.1) and
B (10.255.0.2); B has a black EBGP session to E (203.0.113.9), the provider.
"""

import logging

import pytest
from bgp_pump import A, B, E, ip, net_, spoof_setup, with_black_peer

from controller.bgp.core import SpeakerCore
from controller.bgp.path import Color
from controller.bgp.resolve import Verdict
from controller.bgp.show import sessions_data

pytestmark = pytest.mark.unit


def attempts(node: SpeakerCore) -> dict[str, tuple[list[str], bool]]:
    """'prefix from peer' -> (red addresses covered, refused at import)."""
    return {
        a.describe(): (sorted(str(x) for x in a.covers), a.rejected)
        for a in node.spoof_watch.attempts.values()
    }


def test_black_routes_covering_red_loopbacks_are_reported_while_red_routes_win(
    caplog: pytest.LogCaptureFixture,
) -> None:
    net = with_black_peer()
    a, b, e = net.node(A), net.node(B), net.node(E)
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    caplog.set_level(logging.WARNING, logger="controller.bgp.spoofwatch")
    # The provider copies A's red loopback and covers both red loopbacks with a /24;
    # an ordinary Internet route and a default route are no spoof attempts.
    for prefix in ("10.255.0.1/32", "10.255.0.0/24", "198.18.0.0/15", "0.0.0.0/0"):
        e.announce(net_(prefix), ip(E), Color.BLACK, net.now)
    net.settle()
    # Resolution is untouched: the genuine red /32 wins, nothing is a SPOOF verdict.
    (ev,) = b.vrf_routes("blue")
    assert ev.verdict is Verdict.RESOLVED and ev.tunnel_endpoint == ip("198.51.100.1")
    assert b.spoofs == {} and b.counters["spoof"] == 0
    assert attempts(b) == {
        f"10.255.0.1/32 from {E}": (["10.255.0.1"], True),  # refused at import (draft 3.1)
        f"10.255.0.0/24 from {E}": (["10.255.0.1", "10.255.0.2"], False),
    }
    assert b.spoof_watch.per_peer[ip(E)] == 2
    covering = [x.describe() for x in b.spoof_watch.covering(ip("10.255.0.1"))]
    assert covering == [f"10.255.0.1/32 from {E}", f"10.255.0.0/24 from {E}"]
    assert [x.describe() for x in b.spoof_watch.covering(ip("10.255.0.2"))] == [
        f"10.255.0.0/24 from {E}"
    ]
    warnings = [r.getMessage() for r in caplog.records if "SPOOF attempt" in r.getMessage()]
    assert len(warnings) == 2
    assert any(E in w and "10.255.0.0/24" in w and "10.255.0.1" in w for w in warnings)
    black = next(s for s in sessions_data(b) if s["neighbor"] == E)
    assert black["spoof_attempts"] == 2
    assert black["spoof_routes"] == ["10.255.0.0/24", "10.255.0.1/32"]

    # Withdrawn: the attempts are gone, the count stays.
    for prefix in ("10.255.0.1/32", "10.255.0.0/24"):
        e.withdraw(net_(prefix), Color.BLACK, net.now)
    net.settle()
    assert attempts(b) == {}
    assert b.spoof_watch.per_peer[ip(E)] == 2
    # Announced again: counted again, once each.
    e.announce(net_("10.255.0.0/24"), ip(E), Color.BLACK, net.now)
    net.settle()
    assert b.spoof_watch.per_peer[ip(E)] == 3


@pytest.mark.parametrize("black_prefix", ["10.255.0.0/24", "10.255.0.1/32"])
def test_vpn_route_before_its_red_loopback_route_is_a_spoof_never_resolved(
    black_prefix: str,
) -> None:
    """The black route is there first; the VPN route comes before its red loopback route."""
    net = spoof_setup()
    a, b, e = net.node(A), net.node(B), net.node(E)
    e.announce(net_(black_prefix), ip(E), Color.BLACK, net.now)
    net.settle()
    # 10.255.0.1 is nobody's red loopback yet as far as B knows: a /32 for it is accepted.
    assert [str(p.nlri) for p in b.black.best_paths()] == [black_prefix]
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    events = b.route_events()
    assert [(ev.verdict, ev.tunnel_endpoint) for ev in events] == [(Verdict.SPOOF, None)]
    assert b.counters["spoof"] == 1
    # The VPN route's next hop made 10.255.0.1 a red address: the black route covers it.
    assert "10.255.0.1" in attempts(b)[f"{black_prefix} from {E}"][0]
    # The genuine red loopback route arrives: it wins, the attempt stays on record.
    a.set_black_loopback(ip("198.51.100.1"), net.now)
    net.settle()
    (ev,) = b.route_events()
    assert ev.verdict is Verdict.RESOLVED and ev.tunnel_endpoint == ip("198.51.100.1")
    assert f"{black_prefix} from {E}" in attempts(b)
    assert b.spoofs == {}


def test_red_address_gone_ends_the_attempt() -> None:
    net = spoof_setup()
    a, b, e = net.node(A), net.node(B), net.node(E)
    e.announce(net_("10.255.0.1/32"), ip(E), Color.BLACK, net.now)
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    assert attempts(b) == {f"10.255.0.1/32 from {E}": (["10.255.0.1"], False)}
    a.remove_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    assert attempts(b) == {}  # no VPN route uses 10.255.0.1 any more
    assert not b.spoof_watch.is_red(ip("10.255.0.1"))


def test_refused_attempts_end_with_the_black_session() -> None:
    net = with_black_peer()
    b, e = net.node(B), net.node(E)
    e.announce(net_("10.255.0.1/32"), ip(E), Color.BLACK, net.now)
    net.settle()
    assert attempts(b) == {f"10.255.0.1/32 from {E}": (["10.255.0.1"], True)}
    b.stop(net.now)
    net.settle()
    assert attempts(b) == {}
