"""Draft 3.1: a red loopback is unique among a customer's C-PEs; a second originator is
refused and reported (controller/bgp/claims.py)."""

import pytest
from bgp_pump import RR, A, B, Net, cpe_config, inject, ip, net_, protect_all, rr_config, start_all

from controller.bgp import convert
from controller.bgp.core import SpeakerCore
from controller.bgp.path import IPV4_UNICAST, Attrs, Color, Nlri, Tunnel
from controller.bgp.resolve import Verdict

pytestmark = pytest.mark.unit
TT = 0xFFFE
C = "192.0.2.3"  # a third C-PE, configured (by mistake or malice) with A's red loopback
LO_A = Nlri(IPV4_UNICAST, net_("10.255.0.1/32"))


def _trio_and_late_c() -> Net:
    net = Net()
    net.add(RR, SpeakerCore(rr_config(RR, [A, B, C])))
    net.add(A, SpeakerCore(cpe_config("10.255.0.1", "10.255.0.1", "198.51.100.1", [RR])))
    net.add(B, SpeakerCore(cpe_config("10.255.0.2", "10.255.0.2", "198.51.100.2", [RR])))
    start_all(net)
    # C comes later, with A's red loopback and its own black loopback and router id.
    c = net.add(C, SpeakerCore(cpe_config(C, "10.255.0.1", "198.51.100.3", [RR])))
    c.start(net.now)
    protect_all(net)
    net.advance(2)
    return net


def test_second_originator_of_a_red_loopback_is_refused_at_the_rr() -> None:
    net = _trio_and_late_c()
    rr, a, b = net.node(RR), net.node(A), net.node(B)
    assert len(rr.red.paths(LO_A)) == 2  # both arrived
    best = rr.red.best(LO_A)
    assert best is not None and best.source.peer == ip(A)
    (ref,) = rr.refusals.current()
    assert (ref.kind, ref.peer, str(ref.nlri.prefix)) == (
        "duplicate-loopback",
        ip(C),
        "10.255.0.1/32",
    )
    assert "originated by 10.255.0.1; a second originator (192.0.2.3)" in ref.detail
    assert rr.refusals.counts(ip(C)) == {"duplicate-loopback": 1}
    # B's VPN routes from A still resolve to A's black loopback, never C's.
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    (ev,) = b.vrf_routes("blue")
    assert (ev.verdict, ev.tunnel_endpoint) == (Verdict.RESOLVED, ip("198.51.100.1"))
    lo = b.red.best(LO_A)
    assert lo is not None and lo.attrs.tunnels[0].endpoint == ip("198.51.100.1")


def test_when_the_first_originator_withdraws_the_next_one_takes_over() -> None:
    net = _trio_and_late_c()
    rr = net.node(RR)
    net.node(A).stop(net.now)
    net.advance(5)
    best = rr.red.best(LO_A)
    assert best is not None and best.source.peer == ip(C)
    assert rr.refusals.current() == []


def test_duplicate_of_our_own_red_loopback_is_refused_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    net = _trio_and_late_c()
    a = net.node(A)
    # What an RR that heard C first would send A: C's route for A's red loopback.
    neg = a.sessions[ip(RR)].negotiated
    attrs = Attrs(
        next_hop=ip("198.51.100.3"),
        local_pref=100,
        originator_id=ip(C),
        cluster_list=(ip(RR),),
        tunnels=(Tunnel(TT, ip("198.51.100.3")),),
    )
    inject(net, RR, A, convert.encode_updates([(LO_A, attrs, ())], [], neg))
    (ref,) = a.refusals.current()
    assert (ref.kind, ref.peer) == ("duplicate-loopback", ip(RR))
    assert ref.detail.startswith("our own red loopback is originated by 10.255.0.1")
    best = a.red.best(LO_A)
    assert best is not None and best.source.local  # ours, and only ours, is advertised
    assert any(
        "192.0.2.100" in r.getMessage() and "10.255.0.1/32" in r.getMessage()
        for r in caplog.records
    )
    # Our own route reflected back (ORIGINATOR_ID = us) is not a duplicate.
    ours = attrs.with_(next_hop=ip("198.51.100.1"), originator_id=ip("10.255.0.1"))
    inject(net, RR, A, convert.encode_updates([(LO_A, ours, ())], [], neg))
    assert a.refusals.current() == []


# ---- identity binding -------------------------------------------------------------------


def _bound_net() -> Net:
    """The RR binds A to 10.255.0.1 / 198.51.100.1 and B to 10.255.0.2 / 198.51.100.2.

    A is started first and B later, so that A's forgery of B's loopback arrives first.
    """
    from controller.bgp.config import NeighborConfig, SpeakerConfig

    def bound(addr: str, lo: str, black: str) -> NeighborConfig:
        return NeighborConfig(
            ip(addr),
            65000,
            Color.RED,
            rr_client=True,
            passive=True,
            idle_hold_time=1,
            originates=(ip(lo),),
            endpoints=(ip(black),),
        )

    rr_cfg = SpeakerConfig(
        65000,
        ip(RR),
        neighbors=(
            bound(A, "10.255.0.1", "198.51.100.1"),
            bound(B, "10.255.0.2", "198.51.100.2"),
        ),
    )
    net = Net()
    net.add(RR, SpeakerCore(rr_cfg))
    net.add(A, SpeakerCore(cpe_config("10.255.0.1", "10.255.0.1", "198.51.100.1", [RR])))
    start_all(net)
    return net


def test_a_cpe_advertising_anothers_red_loopback_is_refused_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    net = _bound_net()
    a, rr = net.node(A), net.node(RR)
    lo_b = Nlri(IPV4_UNICAST, net_("10.255.0.2/32"))
    # A (authenticated as 198.51.100.1) claims B's red loopback, pointing at itself.
    a.announce(
        lo_b.prefix, ip("198.51.100.1"), Color.RED, net.now, (Tunnel(TT, ip("198.51.100.1")),)
    )
    net.settle()
    assert rr.red.best(lo_b) is None and len(rr.red.paths(lo_b)) == 1
    (ref,) = rr.refusals.current()
    assert (ref.kind, ref.peer) == ("identity", ip(A))
    assert "10.255.0.2 is not bound to this neighbour's IKE identity" in ref.detail
    logged = [r.getMessage() for r in caplog.records]
    assert any("neighbor 192.0.2.1" in m and "10.255.0.2/32" in m for m in logged)
    # B comes up with its genuine route: accepted, though A's forgery came first.
    b = net.add(B, SpeakerCore(cpe_config("10.255.0.2", "10.255.0.2", "198.51.100.2", [RR])))
    b.start(net.now)
    protect_all(net)
    net.advance(2)
    best = rr.red.best(lo_b)
    assert best is not None and best.source.peer == ip(B)
    assert best.attrs.tunnels[0].endpoint == ip("198.51.100.2")
    # and A's own red loopback route, which matches its binding, is used.
    assert rr.red.best(LO_A) is not None
    assert rr.refusals.counts(ip(A)) == {"identity": 1}


def test_own_red_loopback_with_anothers_endpoint_is_refused() -> None:
    net = _bound_net()
    a, rr = net.node(A), net.node(RR)
    a.announce(
        LO_A.prefix, ip("198.51.100.1"), Color.RED, net.now, (Tunnel(TT, ip("198.51.100.2")),)
    )
    net.settle()
    assert rr.red.best(LO_A) is None
    (ref,) = rr.refusals.current()
    assert ref.kind == "identity" and "tunnel endpoint 198.51.100.2 is not" in ref.detail
