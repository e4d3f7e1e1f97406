"""The asyncio adapter over real TCP on loopback: two C-PEs and our RR."""

import asyncio
import ipaddress

import pytest

from controller.bgp.aio import BgpSpeaker
from controller.bgp.config import NeighborConfig, RedLoopback, SpeakerConfig
from controller.bgp.path import Color
from controller.bgp.resolve import Verdict
from controller.bgp.vrf import VrfConfig

pytestmark = pytest.mark.unit
ip = ipaddress.ip_address


def _cpe(me: str, red: str, black: str, rr: str, port: int) -> SpeakerConfig:
    n = NeighborConfig(
        ip(rr),
        65000,
        Color.RED,
        port=port,
        local_address=ip(me),
        connect_retry_time=1,
        idle_hold_time=0.5,
    )
    return SpeakerConfig(
        65000,
        ip(red),
        black_loopback=ip(black),
        red_loopbacks=(RedLoopback(ip(red), b"\xab"),),
        neighbors=(n,),
        vrfs=(VrfConfig("blue", f"{red}:1", ("65000:100",), ("65000:100",)),),
    )


async def _wait(cond, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.02)


async def test_speakers_over_tcp_exchange_vpn_routes() -> None:
    rr_addr, a_addr, b_addr = "127.0.0.1", "127.0.0.2", "127.0.0.3"
    rr = BgpSpeaker(
        SpeakerConfig(
            65000,
            ip("10.255.255.1"),
            neighbors=tuple(
                NeighborConfig(ip(c), 65000, Color.RED, rr_client=True, passive=True)
                for c in (a_addr, b_addr)
            ),
        ),
        listen_host=rr_addr,
        listen_port=0,
    )
    await rr.start()
    port = rr.port
    assert port
    a = BgpSpeaker(_cpe(a_addr, "10.255.0.1", "198.51.100.1", rr_addr, port), listen_port=None)
    b = BgpSpeaker(_cpe(b_addr, "10.255.0.2", "198.51.100.2", rr_addr, port), listen_port=None)
    try:
        for sp in (a, b):
            await sp.start()
        for sp, peer in ((rr, a_addr), (rr, b_addr), (a, rr_addr), (b, rr_addr)):
            sp.set_transport_protected(ip(peer), True)
        await _wait(
            lambda: all(
                x.core.sessions[p].established for x, p in ((a, ip(rr_addr)), (b, ip(rr_addr)))
            )
        )
        label = a.add_vrf_route("blue", ipaddress.ip_network("172.16.1.0/24"))
        ev = await asyncio.wait_for(b.events.get(), 10)
        assert ev.prefix == ipaddress.ip_network("172.16.1.0/24")
        assert (ev.label, ev.verdict, ev.tunnel_endpoint, ev.security_handle) == (
            label,
            Verdict.RESOLVED,
            ip("198.51.100.1"),
            b"\xab",
        )
    finally:
        for sp in (a, b, rr):
            await sp.stop()
