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
from peers.fixtures import BgpLab
from peers.frr import FrrBgpd
from test_graceful_gobgp import CpePair, vpn_from, with_gr
from test_session_gobgp import FAMILIES, run_in, wait_for

pytestmark = [pytest.mark.interop, pytest.mark.slow]
ip = ipaddress.ip_address
net = ipaddress.ip_network


def test_frr_keeps_our_routes_while_our_speaker_restarts(bgp_lab: BgpLab) -> None:
    peer = bgp_lab.start("frr", families=FAMILIES, clients=2, configure=with_gr)
    frr = peer.daemon
    assert isinstance(frr, FrrBgpd)
    rr, b_ip = peer.address, peer.client_ip(1)

    def frr_vpn() -> str:
        return json.dumps(frr.rib("vpnv4"))

    async def scenario() -> None:
        pair = CpePair(peer)
        try:
            await pair.up("172.16.2.0/24", "172.16.3.0/24")
            both = {"172.16.2.0/24": False, "172.16.3.0/24": False}
            await wait_for(lambda: vpn_from(pair.a, rr) == both, "B's routes at A")
            await pair.b.stop(graceful=True)
            await wait_for(lambda: not frr.session_established(b_ip), "FRR to see B go")
            rib = await asyncio.to_thread(frr_vpn)
            assert "172.16.2.0/24" in rib and "172.16.3.0/24" in rib and '"stale"' in rib, rib
            assert vpn_from(pair.a, rr) == both  # FRR withdrew nothing
            await pair.b_comes_back("172.16.2.0/24")  # on FRR's End-of-RIB
            one = {"172.16.2.0/24": False}
            await wait_for(lambda: vpn_from(pair.a, rr) == one, "flush", 30)
            assert "172.16.3.0/24" not in await asyncio.to_thread(frr_vpn)
        finally:
            await pair.close()

    run_in(peer.lab.us.call, scenario)
