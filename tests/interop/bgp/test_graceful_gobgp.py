"""Graceful Restart (RFC 4724) between our speaker and GoBGP, in network namespaces.

1. GoBGP is the route reflector of our C-PEs A and B. B's speaker dies without a
   NOTIFICATION and comes back with ``restarted=True``: GoBGP keeps B's routes
   (A never sees them go), B defers until GoBGP's End-of-RIB, re-announces one
   of its two routes, and after B's End-of-RIB GoBGP drops only the other one.
2. GoBGP is our C-PE's peer and is killed: we keep its routes stale; it comes
   back with ``-r`` (R and F bits) and re-announces one of two routes; its
   End-of-RIB makes us drop the other.

The IPsec layer is not part of these tests (see test_session_gobgp.py).
"""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from peers.daemon import Daemon
from peers.fixtures import BgpLab, RunningPeer
from peers.frr import FrrBgpd
from peers.gobgp import GoBgp
from peers.netns import Lab
from test_session_gobgp import FAMILIES, cpe, events_until, run_in, wait_for

from controller.bgp.aio import BgpSpeaker
from controller.bgp.path import VPNV4

pytestmark = [pytest.mark.interop, pytest.mark.slow]
ip = ipaddress.ip_address
net = ipaddress.ip_network


def with_gr(daemon: Daemon, _lab: Lab) -> None:
    """Graceful restart on GoBGP or FRR, restart time 60 s."""
    assert isinstance(daemon, GoBgp | FrrBgpd)
    daemon.graceful_restart = 60


def vpn_from(sp: BgpSpeaker, peer: str) -> dict[str, bool]:
    """VPN-IPv4 prefix -> stale, of the routes ``sp`` holds from ``peer``."""
    paths = sp.core.red.adj_in(ip(peer))
    return {str(p.nlri.prefix): p.stale for p in paths if p.nlri.family == VPNV4}


class CpePair:
    """Our C-PEs A and B, clients of the daemon as RR, and B's restarted self ``b2``."""

    def __init__(self, peer: RunningPeer) -> None:
        rr = peer.address
        self.rr = ip(rr)
        a_cfg = cpe(peer.client_ip(0), rr, "10.255.0.1", "198.51.100.1", b"\x00\x00\x10\x01")
        b_cfg = cpe(peer.client_ip(1), rr, "10.255.0.2", "198.51.100.2", b"\x00\x00\x10\x02")
        self.a = BgpSpeaker(a_cfg, listen_port=None)
        self.b = BgpSpeaker(b_cfg, listen_port=None)
        self.b2 = BgpSpeaker(b_cfg, listen_port=None, restarted=True)

    async def up(self, *b_routes: str) -> None:
        for sp in (self.a, self.b):
            await sp.start()
            sp.set_transport_protected(self.rr, True)
        await wait_for(
            lambda: all(sp.core.sessions[self.rr].established for sp in (self.a, self.b)), "up"
        )
        for prefix in b_routes:
            self.b.add_vrf_route("blue", net(prefix))

    async def b_comes_back(self, *b_routes: str) -> None:
        """B2 starts with ``b_routes`` and completes its initial RIB on the RR's End-of-RIB."""
        await self.b2.start()
        for prefix in b_routes:
            self.b2.add_vrf_route("blue", net(prefix))
        self.b2.set_transport_protected(self.rr, True)
        await wait_for(lambda: self.b2.initial_rib_complete, "B's initial RIB", timeout=30)
        assert self.b2.core.gr.completed_by == "End-of-RIB"

    async def close(self) -> None:
        for sp in (self.a, self.b, self.b2):
            await sp.stop()


def test_gobgp_keeps_our_routes_while_our_speaker_restarts(bgp_lab: BgpLab) -> None:
    peer = bgp_lab.start("gobgp", families=FAMILIES, clients=2, configure=with_gr)
    gobgp = peer.daemon
    assert isinstance(gobgp, GoBgp)
    b_ip = peer.client_ip(1)

    def gobgp_vpn() -> str:
        return str(gobgp.rib("vpnv4"))

    async def scenario() -> None:
        pair = CpePair(peer)
        a, b = pair.a, pair.b
        try:
            await pair.up("172.16.2.0/24", "172.16.3.0/24")
            got = {str(e.prefix) for e in await events_until(a, 2)}
            assert got == {"172.16.2.0/24", "172.16.3.0/24"}
            # B's process dies: its sessions close without a NOTIFICATION.
            await b.stop(graceful=True)
            await wait_for(lambda: not gobgp.session_established(b_ip), "GoBGP to see B go")
            rib = await asyncio.to_thread(gobgp_vpn)
            assert "172.16.2.0/24" in rib and "172.16.3.0/24" in rib
            # B comes back (restarted: R and F bits) and now has only one of the routes;
            # GoBGP's End-of-RIB completes its initial RIB.
            await pair.b_comes_back("172.16.2.0/24")
            # GoBGP read our capability as sent: R bit, and F for every family.
            text = await asyncio.to_thread(gobgp.cli, "neighbor", b_ip)
            remote = text.split("Remote: ", 1)[1].split("4-octet-as", 1)[0]
            assert remote.startswith("restart time 120 sec, restart flag set"), text
            # Five families: IPv4/IPv6 unicast, VPN-IPv4/IPv6 and RT membership (RFC 4684).
            assert remote.count("forward flag set") == 5, text
            # B's End-of-RIB makes GoBGP drop the route B did not re-announce, only that.
            (gone,) = await events_until(a, 1, timeout=30)
            assert (str(gone.prefix), gone.withdrawn) == ("172.16.3.0/24", True)
            await wait_for(lambda: "172.16.3.0/24" not in gobgp_vpn(), "GoBGP to drop .3")
            assert [str(e.prefix) for e in a.core.vrf_routes("blue")] == ["172.16.2.0/24"]
            assert a.events.empty(), "A saw 172.16.2.0/24 change during B's restart"
        finally:
            await pair.close()

    run_in(peer.lab.us.call, scenario)


def test_we_keep_gobgp_routes_while_gobgp_restarts(bgp_lab: BgpLab) -> None:
    peer = bgp_lab.start("gobgp", families=FAMILIES, clients=1, rr=False, configure=with_gr)
    gobgp = peer.daemon
    assert isinstance(gobgp, GoBgp)
    them = peer.address
    a_cfg = cpe(peer.client_ip(0), them, "10.255.0.1", "198.51.100.1", b"\x00\x00\x10\x01")

    def announce(prefix: str, rd: str) -> None:
        gobgp.add_route(
            "vpnv4", prefix, "label", "900", "rd", rd, "rt", "65000:100", "nexthop", "10.255.0.9"
        )

    async def scenario() -> None:
        a = BgpSpeaker(a_cfg, listen_port=None)
        try:
            await a.start()
            a.set_transport_protected(ip(them), True)
            await wait_for(lambda: a.core.sessions[ip(them)].established, "session")
            for prefix, rd in (("172.16.8.0/24", "65000:8"), ("172.16.9.0/24", "65000:9")):
                await asyncio.to_thread(announce, prefix, rd)
            await wait_for(lambda: len(vpn_from(a, them)) == 2, "GoBGP's routes")
            # GoBGP crashes: we keep its routes, stale.
            await asyncio.to_thread(gobgp.kill)
            await wait_for(lambda: not a.core.sessions[ip(them)].established, "session loss")
            assert vpn_from(a, them) == {"172.16.8.0/24": True, "172.16.9.0/24": True}
            # Hold our side back until GoBGP has re-announced what it still has.
            a.set_transport_protected(ip(them), False)
            gobgp.restarted = True
            await asyncio.to_thread(gobgp.start)
            await asyncio.to_thread(announce, "172.16.9.0/24", "65000:9")
            a.set_transport_protected(ip(them), True)
            await wait_for(lambda: a.core.sessions[ip(them)].established, "session back")
            neg = a.core.sessions[ip(them)].negotiated
            assert neg is not None and neg.graceful_restart is not None
            assert neg.graceful_restart.restarting  # GoBGP's -r: R bit
            # GoBGP's End-of-RIB: the route it did not re-announce goes, the other stays.
            await wait_for(lambda: vpn_from(a, them) == {"172.16.9.0/24": False}, "flush")
        finally:
            await a.stop()

    run_in(peer.lab.us.call, scenario)
