"""Graceful Restart (RFC 4724): our capability, both speaker roles, with an explicit clock.

Topology from bgp_pump: route reflector RR with C-PE clients A and B; every
speaker runs our core with graceful restart enabled (the default).
"""

from __future__ import annotations

from typing import Any

import pytest
from bgp_pump import (
    RR,
    A,
    B,
    Net,
    cpe_config,
    inject,
    ip,
    net_,
    protect_all,
    rr_config,
    start_all,
    states,
    vpn_trio,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.bgp import convert
from controller.bgp.config import ConfigError, GracefulRestartConfig
from controller.bgp.core import SpeakerCore
from controller.bgp.fsm import COLLISION_WINDOW
from controller.bgp.negotiate import local_open
from controller.bgp.path import IPV4_UNICAST, VPNV4
from controller.bgp.wire.capabilities import (
    GracefulRestart,
    GracefulRestartFamily,
    decode_capabilities,
)
from controller.bgp.wire.errors import BgpError
from controller.bgp.wire.message import decode_message
from controller.bgp.wire.open import Open
from controller.bgp.wire.update import Update

pytestmark = pytest.mark.unit

B_CFG = ("10.255.0.2", "10.255.0.2", "198.51.100.2")
# Our capability on a red session: code 64, length 18, flags+time, then IPv4 unicast,
# IPv6 unicast, VPN-IPv4, VPN-IPv6 (AFI 2 octets, SAFI, flags with F = 0x80).
# The last family is RT membership (1/132, RFC 4684), offered with VPN-IP by default.
GOLDEN_FRESH = bytes.fromhex("401600780001010000020100000180000002800000018400")
GOLDEN_RESTARTED = bytes.fromhex("401680780001018000020180000180800002808000018480")


def our_gr(node: SpeakerCore, peer: str) -> GracefulRestart:
    gr = node.sessions[ip(peer)].our_open.find(GracefulRestart)
    assert gr is not None
    return gr


def sent_opens(net: Net, src: str) -> list[Open]:
    return [
        msg
        for s, _d, data in net.captured
        if s == ip(src) and data[18] == 1
        for msg in [decode_message(data)]
        if isinstance(msg, Open)
    ]


def restart_b(
    net: Net,
    *,
    restarted: bool = True,
    notice: bool = False,
    rrs: tuple[str, ...] = (RR,),
    **kw: Any,
) -> Any:
    """B's process dies and a new one starts; the RR notices only if ``notice``."""
    for (node, conn), (peer, pconn) in list(net.links.items()):
        if node == ip(B):
            del net.links[(node, conn)]
            del net.links[(peer, pconn)]
            if notice:
                net.nodes[peer].connection_lost(node, pconn, net.now)
    new = SpeakerCore(cpe_config(*B_CFG, list(rrs), **kw), restarted=restarted)
    net.nodes[ip(B)] = new
    new.start(net.now)
    for peer in new.sessions:
        new.set_transport_protected(peer, True, net.now)
    return new


def vpn_prefixes(node: SpeakerCore, peer: str) -> dict[str, bool]:
    """Prefix -> stale of the VPN-IPv4 routes received from ``peer``."""
    return {
        str(p.nlri.prefix): p.stale for p in node.red.adj_in(ip(peer)) if p.nlri.family == VPNV4
    }


def trio_with_b_routes(*prefixes: str) -> tuple[Net, Any, Any]:
    """The trio with B's VRF routes reflected to A, A's events drained: (net, a, rr)."""
    net = vpn_trio()
    a, b, rr = net.node(A), net.node(B), net.node(RR)
    for prefix in prefixes:
        b.add_vrf_route("blue", net_(prefix), net.now)
    net.settle()
    a.route_events()
    return net, a, rr


# ---- capability ------------------------------------------------------------------------


def test_capability_golden_bytes_fresh_and_restarted() -> None:
    cfg = cpe_config(*B_CFG, [RR])
    (n,) = cfg.neighbors
    for golden, restarting in ((GOLDEN_FRESH, False), (GOLDEN_RESTARTED, True)):
        gr = local_open(n, cfg, restarting=restarting, preserved=restarting).find(GracefulRestart)
        assert gr is not None and gr.encode() == golden
        (back,) = decode_capabilities(golden)
        assert back == gr
        assert back.restarting is restarting and back.restart_time == 120
        assert [(f.afi, f.safi, f.forwarding_preserved) for f in back.families] == [
            (1, 1, restarting),
            (2, 1, restarting),
            (1, 128, restarting),
            (2, 128, restarting),
            (1, 132, restarting),
        ]


def test_capability_rfc8538_n_bit_and_reserved_flags_survive_a_round_trip() -> None:
    raw = bytes.fromhex("40067fff00018080")  # R=0 N=1 reserved=3, time 4095
    (cap,) = decode_capabilities(raw)
    assert isinstance(cap, GracefulRestart)
    assert (cap.notification, cap.reserved_flags, cap.restart_time) == (True, 3, 4095)
    assert cap.families == (GracefulRestartFamily(1, 128, True),)
    assert cap.encode() == raw


def test_disabled_sends_no_capability_and_config_is_checked() -> None:
    cfg = cpe_config(*B_CFG, [RR], gr=GracefulRestartConfig(enabled=False))
    assert local_open(cfg.neighbors[0], cfg).find(GracefulRestart) is None
    with pytest.raises(ConfigError, match="restart time 4096 must lie within 0-4095"):
        GracefulRestartConfig(restart_time=4096)
    with pytest.raises(ConfigError, match="deferral_time must be positive"):
        GracefulRestartConfig(deferral_time=0)


# ---- receiving speaker ---------------------------------------------------------------


def test_rr_keeps_reflecting_stale_routes_to_other_clients_and_new_ones() -> None:
    net, a, rr = trio_with_b_routes("172.16.2.0/24")
    net.down.add(ip(B))
    net.cut(B, RR)
    assert vpn_prefixes(rr, B) == {"172.16.2.0/24": True}
    out = {str(n.prefix) for n in rr.adj_out[ip(A)] if n.family == VPNV4}
    assert "172.16.2.0/24" in out  # still advertised to A, never withdrawn
    # A flaps meanwhile: the new session gets B's stale route too.
    net.cut(A, RR)
    net.advance(5)
    assert states(rr)[A] == "Established"
    assert "172.16.2.0/24" in {str(e.prefix) for e in a.vrf_routes("blue")}


def test_hold_timer_expiry_is_a_graceful_restart() -> None:
    net, a, rr = trio_with_b_routes("172.16.2.0/24")
    net.mute.add(ip(B))  # B hangs: no KEEPALIVE reaches the RR
    net.down.add(ip(B))
    net.advance(95)
    assert str(rr.sessions[ip(B)].state) != "Established"
    assert vpn_prefixes(rr, B) == {"172.16.2.0/24": True}
    assert a.route_events() == []


def test_new_open_without_f_bit_drops_stale_routes_at_once() -> None:
    net, a, rr = trio_with_b_routes("172.16.2.0/24")
    net.advance(COLLISION_WINDOW)  # sessions up a while (sooner, without R: a collision)
    # B restarts without keeping its forwarding state (restarted=False: F and R bits clear).
    restart_b(net, restarted=False)
    net.advance(3)
    assert states(rr)[B] == "Established"
    # The route was withdrawn at A once B's new OPEN arrived, before B re-sent it.
    events = [(str(e.prefix), e.withdrawn) for e in a.route_events()]
    assert events[0] == ("172.16.2.0/24", True)


def test_peer_without_capability_after_restart_loses_all_stale_routes() -> None:
    net, a, rr = trio_with_b_routes("172.16.2.0/24")
    net.down.add(ip(B))
    net.cut(B, RR)
    net.down.clear()
    restart_b(net, restarted=False, gr=GracefulRestartConfig(enabled=False))
    net.advance(3)
    assert states(rr)[B] == "Established"
    assert vpn_prefixes(rr, B) == {}
    assert [(str(e.prefix), e.withdrawn) for e in a.route_events()] == [("172.16.2.0/24", True)]


def test_stale_timer_bounds_the_wait_for_end_of_rib() -> None:
    net = Net()
    rr = net.add(RR, SpeakerCore(rr_config(RR, [A, B], gr=GracefulRestartConfig(stale_time=30))))
    b = net.add(B, SpeakerCore(cpe_config(*B_CFG, [RR])))
    start_all(net)
    b.add_vrf_route("blue", net_("172.16.2.0/24"), net.now)
    net.settle()
    net.down.add(ip(B))
    net.cut(B, RR)
    net.down.clear()
    # The new B also has a second RR that never answers: it waits for it (deferral
    # 300 s) and sends the RR no End-of-RIB, so the RR drops the stale route after 30 s.
    restart_b(net, rrs=(RR, "192.0.2.101"), gr=GracefulRestartConfig(deferral_time=300))
    net.advance(20)
    assert states(rr)[B] == "Established"
    assert vpn_prefixes(rr, B) == {"172.16.2.0/24": True}
    assert rr.gr.peer_status(ip(B), net.now)["stale_timer"] is not None
    net.advance(15)
    assert vpn_prefixes(rr, B) == {}


def test_end_of_rib_in_mp_unreach_form_flushes_only_its_family() -> None:
    net = vpn_trio()
    a = net.node(A)
    net.node(B).add_vrf_route("blue", net_("172.16.2.0/24"), net.now)
    net.settle()
    rr_fams = {p.nlri.family for p in a.red.adj_in(ip(RR))}
    assert {IPV4_UNICAST, VPNV4} <= rr_fams
    # A marks everything from the RR stale as after an RR restart, then gets the
    # VPN-IPv4 End-of-RIB (an MP_UNREACH_NLRI with no routes, RFC 4724 2).
    a.gr.peer(ip(RR)).retained = frozenset(rr_fams)
    a.red.mark_stale(ip(RR))
    eor = convert.end_of_rib(VPNV4)
    assert isinstance(eor, Update) and eor.end_of_rib == VPNV4
    inject(net, RR, A, [eor])
    left = {p.nlri.family for p in a.red.adj_in(ip(RR))}
    assert VPNV4 not in left and IPV4_UNICAST in left
    assert all(p.stale for p in a.red.adj_in(ip(RR)))


# ---- restarting speaker --------------------------------------------------------------


def test_restarted_speaker_sets_r_and_f_and_defers_until_end_of_rib() -> None:
    net, a, rr = trio_with_b_routes("172.16.2.0/24", "172.16.3.0/24")
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    a.route_events()
    start = len(net.captured)
    new = restart_b(net)
    assert not new.initial_rib_complete
    assert our_gr(new, RR).restarting
    new.add_vrf_route("blue", net_("172.16.2.0/24"), net.now)  # 172.16.3.0/24 is gone now
    assert new.route_events() == []  # deferred
    net.advance(3)
    assert states(rr)[B] == "Established"
    gr = sent_opens(net, B)[-1].find(GracefulRestart)
    assert gr is not None and gr.restarting and all(f.forwarding_preserved for f in gr.families)
    assert new.initial_rib_complete and new.gr.completed_by == "End-of-RIB"
    # The app gets the outcome in one go: A's route, and B's own.
    got = {(str(e.prefix), e.local) for e in new.route_events()}
    assert got == {("172.16.1.0/24", False), ("172.16.2.0/24", True)}
    # The RR kept B's routes meanwhile and dropped only the one B did not re-announce.
    assert vpn_prefixes(rr, B) == {"172.16.2.0/24": False}
    assert [(str(e.prefix), e.withdrawn) for e in a.route_events()] == [("172.16.3.0/24", True)]
    # B's UPDATEs went out only after the RR's End-of-RIB reached it.
    kinds = []
    for src, dst, data in net.captured[start:]:
        if data[18] == 2 and {src, dst} == {ip(B), ip(RR)}:
            upd = decode_message(data, new.sessions[ip(RR)].negotiated.codec)
            assert isinstance(upd, Update)
            kinds.append((str(src), "eor" if upd.end_of_rib else "routes"))
    first_b = kinds.index((B, "routes"))
    assert (RR, "eor") in kinds[:first_b]
    assert kinds[-1] == (B, "eor")
    later = our_gr(new, RR)
    assert not later.restarting and all(f.forwarding_preserved for f in later.families)


def test_restarted_speaker_stops_waiting_when_the_deferral_timer_expires() -> None:
    net = vpn_trio()
    net.node(B).add_vrf_route("blue", net_("172.16.2.0/24"), net.now)
    net.settle()
    net.down.add(ip(RR))
    new = restart_b(net, gr=GracefulRestartConfig(deferral_time=20))
    new.add_vrf_route("blue", net_("172.16.2.0/24"), net.now)
    net.advance(15)
    assert not new.initial_rib_complete and new.route_events() == []
    net.advance(10)
    assert new.initial_rib_complete and new.gr.completed_by.startswith("deferral timer")
    assert [str(e.prefix) for e in new.route_events()] == ["172.16.2.0/24"]


def test_both_restarted_do_not_wait_for_each_other() -> None:
    net = vpn_trio()
    a = net.node(A)
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    # Everyone restarts at once: each sees the R bit from the other and does not wait.
    old = dict(net.nodes)
    net.links.clear()
    net.nodes[ip(RR)] = SpeakerCore(old[ip(RR)].cfg, restarted=True)
    net.nodes[ip(A)] = SpeakerCore(old[ip(A)].cfg, restarted=True)
    net.nodes[ip(B)] = SpeakerCore(old[ip(B)].cfg, restarted=True)
    for node in net.nodes.values():
        node.start(net.now)
    protect_all(net)
    net.node(A).add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.advance(5)
    assert all(n.initial_rib_complete for n in net.nodes.values())
    for n in net.nodes.values():
        assert n.gr.completed_by == "End-of-RIB"
    assert [str(e.prefix) for e in net.node(B).vrf_routes("blue")] == ["172.16.1.0/24"]


def test_ordinary_start_reports_initial_rib_complete_without_holding_anything() -> None:
    net = vpn_trio(start=False)
    b = net.node(B)
    for node in net.nodes.values():
        node.start(net.now)
    b.add_vrf_route("blue", net_("172.16.2.0/24"), net.now)
    assert [str(e.prefix) for e in b.route_events()] == ["172.16.2.0/24"]
    assert not b.initial_rib_complete  # RR session not up yet
    protect_all(net)
    net.advance(3)
    assert b.initial_rib_complete and net.node(RR).initial_rib_complete


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_capability_value_parser_fuzz(value: bytes) -> None:
    """Any value either is refused with an OPEN error or re-encodes with reserved bits zeroed."""
    try:
        cap = GracefulRestart.decode_value(value)
    except BgpError as err:
        assert err.code == 2 and "capability 64" in str(err)
        assert len(value) < 2 or (len(value) - 2) % 4
        return
    expect = bytearray(value)
    for i in range(5, len(expect), 4):
        expect[i] &= 0x80  # per-family flags: only F is defined (RFC 4724 3)
    assert cap.encode_value() == bytes(expect)


def test_show_bgp_tells_what_is_kept_stale_and_our_own_restart() -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from controller.api.metrics import bgp_families, exposition
    from controller.api.render import render
    from controller.api.source import records
    from controller.bgp.show import sessions_data

    net, _a, rr = trio_with_b_routes("172.16.2.0/24")
    net.down.add(ip(B))
    net.cut(B, RR)
    net.advance(10)
    (rec,) = [d for d in sessions_data(rr, net.now) if d["neighbor"] == B]
    gr = rec["graceful_restart"]
    assert rec["stale"] == 3  # B's red loopback route, its VPN route, its RT membership
    assert gr["stale_families"] == ["ipv4-unicast", "ipv6-unicast", "rtc", "vpnv4", "vpnv6"]
    assert gr["restart_timer"] == 110.0 and gr["peer_restart_time"] == 120
    assert gr["peer_preserved"] == []  # B's first start: F bits clear
    text = render("bgp", sessions_data(rr, net.now))
    assert f"  {B}: peer restart time 120s, forwarding kept: -; stale ipv4-unicast," in text
    assert "(peer must be back in 110.0s)" in text
    metrics = exposition(bgp_families(records(sessions_data(rr, net.now))))
    stale = [
        s.value
        for fam in text_string_to_metric_families(metrics)
        for s in fam.samples
        if s.name == "sl3vpn_bgp_prefixes_stale" and s.labels == {"neighbor": B, "color": "red"}
    ]
    assert stale == [3]
    assert "Graceful restart: restart time 120s\n" in text
    new = restart_b(net, rrs=(RR, "192.0.2.101"))
    net.down.clear()
    net.advance(3)
    text = render("bgp", sessions_data(new, net.now))
    assert "restarted: waiting for End-of-RIB (57.0s left)" in text
