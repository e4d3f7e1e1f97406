"""RT-Constrain (RFC 4684) with GoBGP, which implements the "rtc" family.

1. GoBGP is the route reflector, our C-PEs A (tenant 65000:100) and B (65000:200)
   its clients: GoBGP learns one membership route from each, and each C-PE gets
   only the VPN routes of its own route target, GoBGP's own ones included.
2. Our speaker is the route reflector, GoBGP an IBGP non-client next to our
   client C-PE: our RR learns the membership GoBGP makes for each VRF it is given
   and sends it our C-PE's route only once one of them imports its route target.
   Not as our client: we send clients the default membership (RFC 4684 3.2) and
   gobgpd 3.10 panicked on it here (nil pointer in BgpServer.propagateUpdate).
"""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from peers.fixtures import BgpLab
from peers.gobgp import GoBgp
from test_session_gobgp import cpe_pair, our_rr_with_cpe, run_in, wait_for

from controller.bgp.aio import BgpSpeaker
from controller.bgp.path import RTC, VPNV4

pytestmark = [pytest.mark.interop, pytest.mark.slow]
FAMILIES = ("ipv4", "ipv6", "vpnv4", "vpnv6", "rtc")
ip = ipaddress.ip_address
net = ipaddress.ip_network


def remote_vpn(sp: BgpSpeaker) -> set[str]:
    """VPN-IPv4 prefixes received, used or not (GoBGP's own have no MPLS-in-IPsec tunnel,
    so our C-PE keeps but refuses them, draft 2)."""
    rib = sp.core.red
    return {
        str(d.prefix)
        for d in rib.destinations()
        if d.family == VPNV4 and any(not p.source.local for p in rib.paths(d))
    }


def test_gobgp_rr_sends_each_of_our_cpes_only_its_route_target(bgp_lab: BgpLab) -> None:
    peer = bgp_lab.start("gobgp", families=FAMILIES, clients=2)
    gobgp = peer.daemon
    assert isinstance(gobgp, GoBgp)
    rr = peer.address

    async def scenario() -> None:
        async with cpe_pair(peer, rts=("65000:100", "65000:200")) as (a, b):
            for sp in (a, b):
                neg = sp.core.sessions[ip(rr)].negotiated
                assert neg is not None and RTC in neg.families, "GoBGP did not negotiate rtc"
            a.add_vrf_route("blue", net("172.16.1.0/24"))
            b.add_vrf_route("blue", net("172.16.2.0/24"))
            for prefix, rt in (("172.16.9.0/24", "65000:100"), ("172.16.8.0/24", "65000:200")):
                await asyncio.to_thread(
                    gobgp.add_route, "vpnv4", prefix, "label", "900", "rd", "65000:9",
                    "rt", rt, "nexthop", "10.255.0.9",
                )  # fmt: skip
            # GoBGP holds one membership route per C-PE tenant.
            await wait_for(
                lambda: all(rt in str(gobgp.rib("rtc")) for rt in ("65000:100", "65000:200")),
                "our memberships at GoBGP",
            )
            await wait_for(lambda: remote_vpn(a) == {"172.16.9.0/24"}, "A's routes")
            await wait_for(lambda: remote_vpn(b) == {"172.16.8.0/24"}, "B's routes")
            # Our routes reached GoBGP (it asked us for everything or for its clients' RTs).
            await wait_for(
                lambda: all(p in str(gobgp.rib("vpnv4")) for p in ("172.16.1.0", "172.16.2.0")),
                "our routes at GoBGP",
            )
            await asyncio.sleep(1)  # anything else GoBGP would send has had time to arrive
            assert remote_vpn(a) == {"172.16.9.0/24"} and remote_vpn(b) == {"172.16.8.0/24"}

    run_in(peer.lab.us.call, scenario)


def test_our_rr_sends_gobgp_only_the_route_target_it_asked_for(bgp_lab: BgpLab) -> None:
    peer = bgp_lab.start("gobgp", families=FAMILIES, clients=1, rr=False)
    gobgp = peer.daemon
    assert isinstance(gobgp, GoBgp)

    async def scenario() -> None:
        async with our_rr_with_cpe(peer, rr_client=False) as (rr, c):  # see the docstring
            gob = rr.core.sessions[ip(peer.address)].negotiated
            assert gob is not None and RTC in gob.families
            c.add_vrf_route("blue", net("172.16.3.0/24"))
            # GoBGP asks for 65000:300 only: a VRF importing it makes its membership route.
            await asyncio.to_thread(
                gobgp.cli, "vrf", "add", "v300", "rd", "65000:300", "rt", "both", "65000:300"
            )
            await wait_for(
                lambda: any(p.source.peer == ip(peer.address) for p in rr.core.red.best_paths(RTC)),
                "GoBGP's membership at our RR",
            )
            await asyncio.sleep(1)
            assert "172.16.3.0" not in str(gobgp.rib("vpnv4"))  # its RT 65000:100: not asked
            await asyncio.to_thread(
                gobgp.cli, "vrf", "add", "v100", "rd", "65000:101", "rt", "both", "65000:100"
            )
            await wait_for(lambda: "172.16.3.0" in str(gobgp.rib("vpnv4")), "C's route at GoBGP")

    run_in(peer.lab.us.call, scenario)
