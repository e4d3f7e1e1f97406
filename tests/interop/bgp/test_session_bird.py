"""BIRD 2 with our speakers: as route reflector between two of our C-PEs, and as a client.

1. BIRD reflects our C-PEs' VPN-IPv4 and red loopback routes: the draft 2 Tunnel
   Encapsulation attribute on the VPN routes survives (BIRD passes attribute 23 on as
   unknown transitive, with the Partial bit), so each C-PE uses the other's routes.
2. Our speaker as route reflector with BIRD as a client (vpn4 channel): BIRD
   originates a static VPN-IPv4 route with a route target; our RR reflects it to our
   C-PE, and reflects the C-PE's VPN routes to BIRD with ORIGINATOR_ID and
   CLUSTER_LIST.

The red sessions are told their transport is protected (IPsec is outside these tests).
"""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from peers.bird import Bird
from peers.daemon import Daemon
from peers.fixtures import BgpLab
from peers.netns import Lab
from test_session_gobgp import cpe_pair, events_until, our_rr_with_cpe, run_in, wait_for

from controller.bgp.path import VPNV4, Tunnel
from controller.bgp.resolve import Verdict

pytestmark = [pytest.mark.interop, pytest.mark.slow]
ip = ipaddress.ip_address
net = ipaddress.ip_network


def test_bird_rr_keeps_the_vpn_routes_tunnel_encapsulation(bgp_lab: BgpLab) -> None:
    def igp_routes(daemon: Daemon, lab: Lab) -> None:
        # BIRD reflects an IBGP route only if its next hop resolves: give it routes to
        # the black loopbacks (red loopback routes' next hops) and the red loopbacks.
        daemon.extra_config += [
            "protocol static {",
            "  ipv4;",
            f"  route 198.51.100.0/24 via {gateway(lab)};",
            f"  route 10.255.0.0/24 via {gateway(lab)};",
            "}",
        ]

    peer = bgp_lab.start("bird", families=("ipv4", "vpnv4"), clients=2, configure=igp_routes)
    rr = peer.address

    async def scenario() -> None:
        async with cpe_pair(peer) as (a, b):
            a.add_vrf_route("blue", net("172.16.1.0/24"))
            (ev,) = [e for e in await events_until(b, 1) if not e.local]
            assert ev.prefix == net("172.16.1.0/24")
            assert (ev.verdict, ev.tunnel_endpoint) == (Verdict.RESOLVED, ip("198.51.100.1"))
            (p,) = [p for p in b.core.red.best_paths(VPNV4) if not p.source.local]
            assert p.attrs.tunnels == (Tunnel(0xFFFE, ip("10.255.0.1")),)
            assert p.attrs.cluster_list == (ip(rr),)  # it did go through BIRD
            assert b.core.refusals.current() == []

    run_in(peer.lab.us.call, scenario)


def gateway(lab: Lab) -> str:
    return lab.peer_ip.rsplit(".", 1)[0] + ".200"


def test_bird_client_of_our_rr(bgp_lab: BgpLab) -> None:
    def static_route(daemon: Daemon, lab: Lab) -> None:
        daemon.extra_config += [
            "protocol static {",
            "  vpn4 { table vpntab4; };",
            # A gateway on the lab subnet that is not our RR: BIRD does not send a
            # route to the neighbour that is its own next hop.
            f"  route 65000:9 172.16.9.0/24 via {gateway(lab)} mpls 900 {{",
            "    bgp_ext_community.add((rt, 65000, 100));",
            "  };",
            "}",
        ]

    peer = bgp_lab.start(
        "bird", families=("ipv4", "vpnv4"), clients=1, rr=False, configure=static_route
    )
    bird = peer.daemon
    assert isinstance(bird, Bird)

    async def scenario() -> None:
        async with our_rr_with_cpe(peer) as (_rr, c):
            c.add_vrf_route("blue", net("172.16.3.0/24"))
            await wait_for(
                lambda: any(
                    str(p.nlri) == "65000:9:172.16.9.0/24"
                    for d in c.core.red.destinations()
                    for p in c.core.red.paths(d)
                ),
                "BIRD's route at our C-PE",
            )
            (got,) = [
                p
                for d in c.core.red.destinations()
                for p in c.core.red.paths(d)
                if str(p.nlri) == "65000:9:172.16.9.0/24"
            ]
            assert got.labels == (900,)
            assert got.attrs.next_hop == ip(gateway(peer.lab))
            assert [str(rt) for rt in got.attrs.route_targets()] == ["rt 65000:100"]
            assert got.attrs.cluster_list == (ip("10.255.255.1"),)
            for _ in range(100):
                routes = await asyncio.to_thread(bird.routes, "vpnv4")
                if "172.16.3.0/24" in routes:
                    break
                await asyncio.sleep(0.1)
            assert "10.255.0.3:1 172.16.3.0/24" in routes
            assert "BGP.originator_id: 10.255.0.3" in routes
            assert "BGP.cluster_list: 10.255.255.1" in routes

    run_in(peer.lab.us.call, scenario)
