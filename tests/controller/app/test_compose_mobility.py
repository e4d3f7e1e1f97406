"""Mobility in the composer: a peer's new tunnel endpoint, and our own new black loopback."""

from __future__ import annotations

import ipaddress

import pytest

from controller.app.compose import Composer, EnsureTunnel, MoveTunnel, SetProtected
from controller.app.desired import DesiredState
from controller.bgp.core import RouteEvent
from controller.bgp.resolve import Verdict
from controller.config import Config, parse
from controller.ipsec.sad import TunnelChange

pytestmark = pytest.mark.unit
ip = ipaddress.ip_address
net = ipaddress.ip_network
OLD, NEW = "198.51.100.12", "198.51.100.112"
PEER_RED = ip("10.255.0.12")


def route(prefix: str, endpoint: str, next_hop: ipaddress.IPv4Address = PEER_RED) -> RouteEvent:
    return RouteEvent(
        "blue",
        net(prefix),
        label=1001,
        next_hop=next_hop,
        verdict=Verdict.RESOLVED,
        tunnel_endpoint=ip(endpoint),
    )


def canon(state: DesiredState, table: str) -> list[str]:
    return sorted(
        f"{e.table} {e.match} -> {e.action}({e.params})"
        for e in state.entries()
        if e.table == table
    )


def test_a_new_endpoint_for_the_same_next_hop_moves_the_tunnel(cpe_config: Config) -> None:
    state = DesiredState(cpe_config, {})
    comp = Composer(state, {}, ip("10.255.0.11"))
    assert comp.route_event(route("10.1.2.0/24", OLD)) == [EnsureTunnel(OLD, None, None)]
    assert comp.route_event(route("10.1.3.0/24", OLD)) == []
    comp.tunnel_change(TunnelChange((ip(OLD), None, "mpls"), 8, 7, (7,)))
    fib_before = canon(state, "vrf_fib_v4")
    assert sum("route_remote" in e for e in fib_before) == 2
    # the peer re-advertised its red loopback route: the first VPN route to show it moves
    assert comp.route_event(route("10.1.2.0/24", NEW)) == [MoveTunnel(OLD, NEW)]
    assert comp.route_event(route("10.1.3.0/24", NEW)) == []  # already moved
    assert canon(state, "vrf_fib_v4") == fib_before  # no gap: the routes never left
    (tunnel,) = [e for e in state.entries() if e.table == "tunnel"]
    assert tunnel.params["dst_addr"] == NEW
    (inbound,) = [e for e in state.entries() if e.table == "inbound_sa_v4"]
    assert inbound.match["ipv4_src"] == NEW
    # the SA database then re-keys the tunnel: old key gone, same SAs under the new one
    comp.tunnel_change(TunnelChange((ip(OLD), None, "mpls"), None, None))
    comp.tunnel_change(TunnelChange((ip(NEW), None, "mpls"), 8, 7, (7,)))
    assert canon(state, "vrf_fib_v4") == fib_before
    assert comp.status()["tunnels"] == {NEW: 2}


def test_another_next_hop_with_a_new_endpoint_is_no_move(cpe_config: Config) -> None:
    state = DesiredState(cpe_config, {})
    comp = Composer(state, {}, ip("10.255.0.11"))
    comp.route_event(route("10.1.2.0/24", OLD))
    # the prefix now comes from another C-PE (another next hop): a new tunnel, not a move
    actions = comp.route_event(route("10.1.2.0/24", NEW, ip("10.255.0.13")))
    assert MoveTunnel(OLD, NEW) not in actions and EnsureTunnel(NEW, None, None) in actions


@pytest.mark.parametrize("mode", ["transport", "tunnel"])
def test_a_moved_rr_keeps_its_red_session_protected(cpe_text: str, mode: str) -> None:
    cfg = parse(
        cpe_text.replace('psk: "test key"}', f'psk: "k"}}, control_sa: {{mode: {mode}}}'), "c"
    )
    state = DesiredState(cfg, {})
    rr_red = ip("10.255.0.1")
    old, new = ("198.51.100.1", "198.51.100.101") if mode == "transport" else (None, None)
    comp = Composer(state, {"198.51.100.1": rr_red}, ip("10.255.0.11"))
    assert comp.tunnel_change(TunnelChange((ip("198.51.100.1"), None, "bgp"), 8, 7, (7,))) == [
        SetProtected(rr_red, True, old and ip(old))
    ]
    comp.peer_moved("198.51.100.1", "198.51.100.101")  # IKE (MOBIKE) said so
    assert comp.control_peers == {"198.51.100.101": rr_red}
    # transport mode: BGP to the RR now goes to its new address, never to the old one;
    # tunnel mode: to its red address, whatever its black one
    dst = "198.51.100.101" if mode == "transport" else "10.255.0.1"
    spd = [e.match.get("ipv4_dst") for e in state.entries() if e.action == "spd_protect"]
    assert spd == [(dst, 0xFFFFFFFF)] * 2
    # the SAD's re-keying never tells BGP the session lost its protection
    assert comp.tunnel_change(TunnelChange((ip("198.51.100.1"), None, "bgp"), None, None)) == []
    moved = TunnelChange((ip("198.51.100.101"), None, "bgp"), 8, 7, (7,))
    assert comp.tunnel_change(moved) == [SetProtected(rr_red, True, new and ip(new))]


def test_our_new_black_loopback_is_in_the_pipeline(cpe_config: Config) -> None:
    state = DesiredState(cpe_config, {})
    comp = Composer(state, {}, ip("10.255.0.11"))
    comp.route_event(route("10.1.2.0/24", OLD))
    comp.tunnel_change(TunnelChange((ip(OLD), None, "mpls"), 8, 7, (7,)))
    old_black = str(state.black)
    state.black = ip("198.51.100.111")
    mine = [e.match["ipv4_dst"] for e in state.entries() if e.action == "my_loopback"]
    assert mine == ["198.51.100.111"]
    (tunnel,) = [e for e in state.entries() if e.table == "tunnel"]
    assert tunnel.params["src_addr"] == "198.51.100.111" != old_black
