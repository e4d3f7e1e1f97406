"""Event composition with the real cores pumped in one process: BGP -> IKE -> SAD -> P4 state.

Three BGP speaker cores (an RR and C-PEs A and B) run over the BGP test pump;
A's and B's IKE daemons, tunnel managers and SA databases (real ESP engines as
installers) exchange datagrams directly. The composer between them must turn
B's VPN route into an IKE tunnel and, only once the SA exists, into P4 entries.
"""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import pytest

from controller.app.compose import Composer, EnsureTunnel, SetProtected, WithdrawTunnel
from controller.app.desired import DesiredState
from controller.bgp.core import RouteEvent
from controller.bgp.resolve import Verdict
from controller.config import Config, parse
from controller.ipsec.esp import EspEngine
from controller.ipsec.ike.config import IkeConfig, Lifetimes
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.sad import SaDatabase, TunnelChange
from controller.ipsec.tunnels import TunnelManager

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bgp"))
from bgp_pump import A, B, net_, vpn_from_rr, vpn_trio

from .ikepump import pump

pytestmark = pytest.mark.unit
ip = ipaddress.ip_address
BLACK_A, BLACK_B = "198.51.100.1", "198.51.100.2"


class IpsecNode:
    """What IpsecRuntime does, minus asyncio: daemon + SAD + tunnel manager on an engine."""

    def __init__(self, me: str, changes: list[TunnelChange]) -> None:
        self.engine = EspEngine()
        self.daemon = IkeDaemon([], spi_alloc=self.engine.allocate_spi)
        self.sad = SaDatabase(self.engine, ip(me), 0.5, changes.append)

        def make(peer: str) -> IkeConfig:
            return IkeConfig(
                "x", me, peer, psk=b"k", lifetimes=Lifetimes(None, None), dpd_seconds=None
            )

        self.tunnels = TunnelManager(self.daemon, self.sad, me, make)


def test_vpn_route_to_tunnel_to_sa_to_fib(cpe_config: Config) -> None:
    net = vpn_trio()
    a, b = net.node(A), net.node(B)
    a.add_vrf_route("blue", net_("10.1.0.0/24"), net.now)
    net.advance(1)
    changes: list[TunnelChange] = []
    ipsec = {BLACK_A: IpsecNode(BLACK_A, []), BLACK_B: IpsecNode(BLACK_B, changes)}
    ipsec[BLACK_A].tunnels.accept(BLACK_B)
    # B's composer: B's VRF "blue" is the test config's VRF id 1.
    state = DesiredState(cpe_config, {})
    comp = Composer(state, {}, ip("10.255.0.11"))
    actions = []
    for ev in b.route_events():
        actions += comp.route_event(ev)
    remote = [e for e in state.routes.values() if not e.local]
    assert [str(r.prefix) for r in remote] == ["10.1.0.0/24"]
    assert actions == [EnsureTunnel(BLACK_A, b"\x01\x02", None)]
    # No SA yet: the route must not be in the FIB (never in the clear).
    assert not [e for e in state.entries() if e.action == "route_remote"]
    ipsec[BLACK_B].tunnels.ensure_tunnel(BLACK_A, b"\x01\x02", now=0.0)
    pump(ipsec, 0.0)
    assert changes == []  # B leaves the set-up to A, the lower black address, for a while
    grace = ipsec[BLACK_B].tunnels.initiate_grace
    assert ipsec[BLACK_B].tunnels.tick(grace)  # A needs no tunnel to B: B starts it
    pump(ipsec, grace)
    assert [c.key[2] for c in changes] == ["mpls"]
    for change in changes:
        assert comp.tunnel_change(change) == []
    fib = [e for e in state.entries() if e.action == "route_remote"]
    assert len(fib) == 1 and fib[0].params["label"] == remote[0].label
    tunnel = next(e for e in state.entries() if e.table == "tunnel")
    assert tunnel.params["dst_addr"] == BLACK_A
    sa = next(e for e in state.entries() if e.table == "tunnel_sa")
    assert sa.params["sa_index"] == changes[0].out_index
    # The engine holds exactly the SA the pipeline will name.
    assert ipsec[BLACK_B].engine.counters(changes[0].out_index) is not None
    # A withdraws: the route leaves, the tunnel is released.
    a.remove_vrf_route("blue", net_("10.1.0.0/24"), net.now)
    net.advance(1)
    actions = []
    for ev in b.route_events():
        actions += comp.route_event(ev)
    assert actions == [WithdrawTunnel(BLACK_A, None)]
    assert not [
        e for e in state.entries() if e.table in ("vrf_fib_v4",) and e.action == "route_remote"
    ]


def test_spoofed_route_is_counted_and_kept_out(cpe_config: Config) -> None:
    state = DesiredState(cpe_config, {})
    comp = Composer(state, {}, None)
    ev = RouteEvent(
        "blue",
        net_("10.9.0.0/24"),
        label=300,
        next_hop=ip("10.255.0.99"),
        verdict=Verdict.SPOOF,
    )
    assert comp.route_event(ev) == []
    assert comp.counters["routes_spoof"] == 1
    assert comp.status()["rejected"] == [
        {"vrf": "blue", "prefix": "10.9.0.0/24", "verdict": "spoof", "next_hop": "10.255.0.99"}
    ]
    assert not [e for e in state.entries() if e.action == "route_remote"]
    # A previously good route that turns into a spoof is removed and its tunnel released.
    good = RouteEvent(
        "blue",
        net_("10.9.0.0/24"),
        label=300,
        next_hop=ip("10.255.0.99"),
        verdict=Verdict.RESOLVED,
        tunnel_endpoint=ip("198.51.100.99"),
    )
    assert comp.route_event(good) == [EnsureTunnel("198.51.100.99", None, None)]
    assert comp.route_event(ev) == [WithdrawTunnel("198.51.100.99", None)]
    assert ("blue", net_("10.9.0.0/24")) not in state.routes


def test_vpn_route_without_tunnel_encapsulation_is_kept_out_and_shown(cpe_config: Config) -> None:
    """Draft 2 end to end: B's core refuses the route, the composer keeps it out of the
    FIB and lists it, and ``sl3vpn show routes`` marks it E."""
    from controller.api.render import render

    net = vpn_trio()
    b = net.node(B)
    vpn_from_rr(net, "172.16.5.0/24", ())
    state = DesiredState(cpe_config, {})
    comp = Composer(state, {}, None)
    for ev in b.route_events():
        assert comp.route_event(ev) == []  # no tunnel asked for
    (rej,) = comp.status()["rejected"]  # type: ignore[misc]
    assert rej == {
        "vrf": "blue",
        "prefix": "172.16.5.0/24",
        "verdict": "no-encap",
        "next_hop": "10.255.0.1",
    }
    assert comp.counters["routes_no-encap"] == 1
    assert ("blue", net_("172.16.5.0/24")) not in state.routes
    # the record DaemonStatus.routes makes of it
    record = {**rej, "local": False, "installed": False, "label": None, "spoof": []}
    shown = render("routes", [record])
    assert any(ln.split()[:2] == ["E", "172.16.5.0/24"] for ln in shown.splitlines()), shown


def test_control_sa_marks_the_red_session_protected_tunnel_mode(cpe_text: str) -> None:
    cfg = parse(cpe_text.replace('psk: "test key"}', 'psk: "k"}, control_sa: {mode: tunnel}'), "c")
    state = DesiredState(cfg, {})
    rr_red = ip("10.255.0.1")
    comp = Composer(state, {"198.51.100.1": rr_red}, ip("10.255.0.11"))
    protect = lambda: [e for e in state.entries() if e.action == "spd_protect"]  # noqa: E731
    guards = {
        (tuple(e.match), str(e.match.get("ipv4_src", e.match.get("ipv4_dst", ("",)))[0]))
        for e in state.entries()
        if e.action == "spd_discard"
    }
    # Before any control SA: our red loopback and the red RR are guarded, nothing protected.
    assert guards == {(("ipv4_src",), "10.255.0.11"), (("ipv4_dst",), "10.255.0.1")}
    assert not protect()
    up = TunnelChange((ip("198.51.100.1"), None, "bgp"), 8, 7)
    assert comp.tunnel_change(up) == [SetProtected(rr_red, True)]
    assert protect() and all(e.priority > 1 for e in protect())
    assert {e.match["ipv4_src"][0] for e in protect()} == {"10.255.0.11"}
    assert {e.match["ipv4_dst"][0] for e in protect()} == {"10.255.0.1"}
    down = TunnelChange((ip("198.51.100.1"), None, "bgp"), None, None)
    assert comp.tunnel_change(down) == [SetProtected(rr_red, False)]
    assert not protect()
    assert sum(e.action == "spd_discard" for e in state.entries()) == 2


def test_control_sa_marks_the_red_session_protected_transport_mode(cpe_text: str) -> None:
    """Draft 3.2: BGP between the black loopbacks, TCP 179 either way."""
    cfg = parse(
        cpe_text.replace('psk: "test key"}', 'psk: "k"}, control_sa: {mode: transport}'), "c"
    )
    state = DesiredState(cfg, {})
    rr_red, rr_black = ip("10.255.0.1"), "198.51.100.1"
    comp = Composer(state, {rr_black: rr_red}, ip("10.255.0.11"))
    protect = lambda: [e for e in state.entries() if e.action == "spd_protect"]  # noqa: E731
    spd = lambda action: {  # noqa: E731
        (e.table, tuple(sorted((k, v[0]) for k, v in e.match.items())), e.priority)
        for e in state.entries()
        if e.action == action
    }
    # Before any control SA: every BGP packet is held (whatever our black address, which
    # may move), except to the black neighbour (a black session); red as in tunnel mode.
    bgp = lambda port, **kv: tuple(  # noqa: E731
        sorted([("ip_proto", 6), (port, 179), *kv.items()])
    )
    assert spd("spd_discard") == {
        ("spd_v4", (("ipv4_src", "10.255.0.11"),), 1),
        ("spd_v4", (("ipv4_dst", "10.255.0.1"),), 1),
        *((f"spd_v{v}", bgp(p), 2) for v in (4, 6) for p in ("l4_dport", "l4_sport")),
    }
    assert spd("spd_bypass") == {
        ("spd_v4", bgp(p, ipv4_dst="203.0.113.1"), 3) for p in ("l4_dport", "l4_sport")
    }
    assert not protect()
    up = TunnelChange((ip(rr_black), None, "bgp"), 8, 7, (7,), ip(rr_black))
    assert comp.tunnel_change(up) == [SetProtected(rr_red, True, ip(rr_black))]
    assert {(e.match["ipv4_src"][0], e.match["ipv4_dst"][0]) for e in protect()} == {
        ("198.51.100.11", rr_black)
    }
    assert all(e.priority > 3 for e in protect())
    (inbound,) = [e for e in state.entries() if e.action == "inbound_sa_control_v4"]
    assert (inbound.match["ipv4_src"], inbound.params["local_addr"]) == (rr_black, "198.51.100.11")
    # A peer behind NAT: its SAs, and so its session, are at the NAT's public address.
    nat = TunnelChange((ip(rr_black), None, "bgp"), 8, 7, (7,), ip("203.0.113.9"))
    assert comp.tunnel_change(nat) == [SetProtected(rr_red, True, ip("203.0.113.9"))]
    assert {e.match["ipv4_dst"][0] for e in protect()} == {"203.0.113.9"}
    # Our black loopback moves: the session's source follows.
    state.black = ip("198.51.100.111")
    assert {e.match["ipv4_src"][0] for e in protect()} == {"198.51.100.111"}
    assert len(spd("spd_discard")) == 6


def test_per_tenant_sas_give_each_vrf_its_own_tunnel(cpe_config: Config) -> None:
    state = DesiredState(cpe_config, {})
    comp = Composer(state, {}, ip("10.255.0.11"), per_tenant=True)
    peer = ip("198.51.100.12")
    acts = []
    for vrf, label in (("blue", 100), ("green", 101)):
        ev = RouteEvent(
            vrf, net_("10.2.2.0/24"), label=label, next_hop=ip("10.255.0.12"),
            verdict=Verdict.RESOLVED, tunnel_endpoint=peer, security_handle=vrf.encode(),
        )  # fmt: skip
        acts += comp.route_event(ev)
    assert acts == [
        EnsureTunnel(str(peer), b"blue", "blue"),
        EnsureTunnel(str(peer), b"green", "green"),
    ]
    comp.tunnel_change(TunnelChange((peer, "blue", "mpls-blue"), 6, 5))
    comp.tunnel_change(TunnelChange((peer, "green", "mpls-green"), 10, 9))
    entries = state.entries()
    fib = {e.match["vrf_id"]: e.params["tunnel_id"] for e in entries if e.action == "route_remote"}
    sa = {e.match["tunnel_id"]: e.params["sa_index"] for e in entries if e.table == "tunnel_sa"}
    # blue (VRF 1) and green (VRF 2) leave through different tunnels and SAs.
    assert fib[1] != fib[2] and (sa[fib[1]], sa[fib[2]]) == (6, 10)
