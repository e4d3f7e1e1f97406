"""Graceful Restart (RFC 4724) with FRR 8.4 bgpd as the route reflector of our C-PEs.

B's speaker dies without a NOTIFICATION and comes back with ``restarted=True``:
FRR keeps B's VPN routes (stale) and A keeps them too, B completes its initial
RIB on FRR's End-of-RIB, and after B's End-of-RIB FRR drops only the route B did
not re-announce. (FRR drops the Tunnel Encapsulation attribute from IPv4
unicast, see test_session_frr.py, so A's VPN routes stay unresolved: this test
looks at the RIBs, not at the VRF verdicts.)
"""

from __future__ import annotations

import asyncio
import ipaddress
import json

import pytest
from peers.daemon import Daemon
from peers.fixtures import BgpLab
from peers.frr import FrrBgpd
from peers.netns import Lab
from test_graceful_gobgp import vpn_from
from test_session_gobgp import FAMILIES, cpe, run_in, wait_for

from controller.bgp.aio import BgpSpeaker

pytestmark = [pytest.mark.interop, pytest.mark.slow]
ip = ipaddress.ip_address
net = ipaddress.ip_network


def with_gr(daemon: Daemon, _lab: Lab) -> None:
    assert isinstance(daemon, FrrBgpd)
    daemon.graceful_restart = 60


def test_frr_keeps_our_routes_while_our_speaker_restarts(bgp_lab: BgpLab) -> None:
    peer = bgp_lab.start("frr", families=FAMILIES, clients=2, configure=with_gr)
    frr = peer.daemon
    assert isinstance(frr, FrrBgpd)
    rr, b_ip = peer.address, peer.client_ip(1)
    a_cfg = cpe(peer.client_ip(0), rr, "10.255.0.1", "198.51.100.1", b"\x00\x00\x10\x01")
    b_cfg = cpe(b_ip, rr, "10.255.0.2", "198.51.100.2", b"\x00\x00\x10\x02")

    def frr_vpn() -> str:
        return json.dumps(frr.rib("vpnv4"))

    async def scenario() -> None:
        a = BgpSpeaker(a_cfg, listen_port=None)
        b = BgpSpeaker(b_cfg, listen_port=None)
        b2 = BgpSpeaker(b_cfg, listen_port=None, restarted=True)
        try:
            for sp in (a, b):
                await sp.start()
                sp.set_transport_protected(ip(rr), True)
            await wait_for(lambda: all(sp.core.sessions[ip(rr)].established for sp in (a, b)), "up")
            b.add_vrf_route("blue", net("172.16.2.0/24"))
            b.add_vrf_route("blue", net("172.16.3.0/24"))
            both = {"172.16.2.0/24": False, "172.16.3.0/24": False}
            await wait_for(lambda: vpn_from(a, rr) == both, "B's routes at A")
            await b.stop(graceful=True)
            await wait_for(lambda: not frr.session_established(b_ip), "FRR to see B go")
            rib = await asyncio.to_thread(frr_vpn)
            assert "172.16.2.0/24" in rib and "172.16.3.0/24" in rib and '"stale"' in rib, rib
            assert vpn_from(a, rr) == both  # FRR withdrew nothing
            await b2.start()
            b2.add_vrf_route("blue", net("172.16.2.0/24"))
            b2.set_transport_protected(ip(rr), True)
            await wait_for(lambda: b2.initial_rib_complete, "B's initial RIB", timeout=30)
            assert b2.core.gr.completed_by == "End-of-RIB"  # FRR's End-of-RIB arrived
            await wait_for(lambda: vpn_from(a, rr) == {"172.16.2.0/24": False}, "flush", 30)
            assert "172.16.3.0/24" not in await asyncio.to_thread(frr_vpn)
        finally:
            for sp in (a, b, b2):
                await sp.stop()

    run_in(peer.lab.us.call, scenario)
