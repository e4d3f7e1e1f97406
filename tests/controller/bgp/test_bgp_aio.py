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


def _rr(router_id: str, listen: str, clients: tuple[str, ...]) -> BgpSpeaker:
    """A route reflector waiting for its clients to connect."""
    neighbors = tuple(
        NeighborConfig(ip(c), 65000, Color.RED, rr_client=True, passive=True) for c in clients
    )
    return BgpSpeaker(
        SpeakerConfig(65000, ip(router_id), neighbors=neighbors),
        listen_host=listen,
        listen_port=0,
    )


async def _wait(cond, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.02)


async def test_speakers_over_tcp_exchange_vpn_routes() -> None:
    rr_addr, a_addr, b_addr = "127.0.0.1", "127.0.0.2", "127.0.0.3"
    rr = _rr("10.255.255.1", rr_addr, (a_addr, b_addr))
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


async def test_transport_mode_session_runs_between_other_addresses_and_moves() -> None:
    """Draft 3.2 transport mode: a red neighbour keeps its identity (red loopback) while
    its session runs between black loopbacks (here 127.0.0.x); when one moves, the
    session is re-established from the new address and, with graceful restart and the
    F bit, the routes it carried are never withdrawn."""
    rr_black, a_black, b_black, a_moved = "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"
    rr_red, a_red, b_red = "10.255.0.1", "10.255.0.11", "10.255.0.12"
    rr = _rr(rr_red, rr_black, (a_red, b_red))  # its red loopback as BGP identifier (3.2)
    await rr.start()
    port = rr.port
    assert port
    a = BgpSpeaker(_cpe(a_red, a_red, "198.51.100.11", rr_red, port), listen_port=None)
    b = BgpSpeaker(_cpe(b_red, b_red, "198.51.100.12", rr_red, port), listen_port=None)
    try:
        rr.set_transport(ip(a_red), ip(a_black), ip(rr_black))
        rr.set_transport(ip(b_red), ip(b_black), ip(rr_black))
        for sp, black in ((a, a_black), (b, b_black)):
            sp.set_transport(ip(rr_red), ip(rr_black), ip(black))
            await sp.start()
        for sp, peer in ((rr, a_red), (rr, b_red), (a, rr_red), (b, rr_red)):
            sp.set_transport_protected(ip(peer), True)
        sessions = ((a, ip(rr_red)), (b, ip(rr_red)), (rr, ip(a_red)), (rr, ip(b_red)))
        await _wait(lambda: all(x.core.sessions[p].established for x, p in sessions))
        assert a.core.sessions[ip(rr_red)].local_address == ip(a_black)
        assert rr.core.sessions[ip(a_red)].peer_open.bgp_id == ip(a_red)
        prefix = ipaddress.ip_network("172.16.1.0/24")
        a.add_vrf_route("blue", prefix)
        ev = await asyncio.wait_for(b.events.get(), 10)
        # next hop: A's red loopback (draft 3.3), tunnel endpoint its black loopback
        assert (ev.prefix, ev.next_hop, ev.tunnel_endpoint) == (
            prefix,
            ip(a_red),
            ip("198.51.100.11"),
        )

        # A's black address changes: both ends re-point the session.
        rr.set_transport(ip(a_red), ip(a_moved), ip(rr_black))
        a.set_transport(ip(rr_red), ip(rr_black), ip(a_moved))
        await _wait(lambda: a.core.sessions[ip(rr_red)].counters["established"] == 2)
        await _wait(lambda: rr.core.sessions[ip(a_red)].established)
        assert a.core.sessions[ip(rr_red)].local_address == ip(a_moved)
        gr = rr.core.sessions[ip(a_red)].negotiated.graceful_restart
        assert gr is not None and all(f.forwarding_preserved for f in gr.families)
        await asyncio.sleep(1.0)  # End-of-RIB and whatever else follows
        later = []
        while not b.events.empty():
            later.append(b.events.get_nowait())
        assert not any(e.withdrawn for e in later), later
        assert [str(e.prefix) for e in b.core.vrf_routes("blue")] == [str(prefix)]
    finally:
        for sp in (a, b, rr):
            await sp.stop()


async def test_two_neighbours_behind_one_session_address_are_refused() -> None:
    rr = _rr("10.255.0.1", "127.0.0.1", ("10.255.0.11", "10.255.0.12"))
    await rr.start()
    try:
        for red in ("10.255.0.11", "10.255.0.12"):
            rr.set_transport(ip(red), ip("127.0.0.2"), ip("127.0.0.1"))
            rr.set_transport_protected(ip(red), True)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", rr.port, local_addr=("127.0.0.2", 0)
        )
        assert await asyncio.wait_for(reader.read(100), 5) == b""  # closed at once
        writer.close()
        assert all(s.counters["established"] == 0 for s in rr.core.sessions.values())
    finally:
        await rr.stop()


async def test_a_connection_to_another_of_our_addresses_is_refused() -> None:
    """After a move the session runs from the new address: the peer reaching the old one
    (it has not heard yet) is refused rather than given a session there."""
    rr = BgpSpeaker(
        SpeakerConfig(
            65000,
            ip("10.255.0.1"),
            neighbors=(NeighborConfig(ip("10.255.0.11"), 65000, Color.RED, passive=True),),
        ),
        listen_host="0.0.0.0",  # every 127.x address, one port
        listen_port=0,
    )
    await rr.start()
    try:
        rr.set_transport(ip("10.255.0.11"), ip("127.0.0.2"), ip("127.0.0.1"))
        rr.set_transport_protected(ip("10.255.0.11"), True)
        reader, writer = await asyncio.open_connection(
            "127.0.0.5", rr.port, local_addr=("127.0.0.2", 0)
        )
        assert await asyncio.wait_for(reader.read(100), 5) == b""  # closed at once
        writer.close()
        assert rr.core.sessions[ip("10.255.0.11")].counters["established"] == 0
        # to the address the session runs from, the same peer gets its OPEN
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", rr.port, local_addr=("127.0.0.2", 0)
        )
        assert (await asyncio.wait_for(reader.read(19), 5))[18] == 1  # type 1: OPEN
        writer.close()
    finally:
        await rr.stop()


async def test_pace_holds_the_next_read_until_the_application_has_room() -> None:
    """Back-pressure: the reader awaits ``pace`` after each read, so a slow consumer
    stops the reading (TCP then slows the peer) instead of queueing without bound."""
    rr_addr, a_addr, b_addr = "127.0.0.1", "127.0.0.2", "127.0.0.3"
    rr = _rr("10.255.255.1", rr_addr, (a_addr, b_addr))
    await rr.start()
    port = rr.port
    assert port
    gate = asyncio.Event()
    gate.set()
    waits = 0

    async def pace() -> None:
        nonlocal waits
        waits += 1
        await gate.wait()

    a = BgpSpeaker(_cpe(a_addr, "10.255.0.1", "198.51.100.1", rr_addr, port), listen_port=None)
    b = BgpSpeaker(
        _cpe(b_addr, "10.255.0.2", "198.51.100.2", rr_addr, port), listen_port=None, pace=pace
    )
    try:
        for sp in (a, b):
            await sp.start()
        for sp, peer in ((rr, a_addr), (rr, b_addr), (a, rr_addr), (b, rr_addr)):
            sp.set_transport_protected(ip(peer), True)
        await _wait(lambda: all(sp.core.sessions[ip(rr_addr)].established for sp in (a, b)))
        await asyncio.sleep(0.2)  # the End-of-RIBs
        gate.clear()
        n = 4000  # ~60 KB of packed UPDATEs: several of the reader's 16 KiB reads
        for i in range(n):
            a.add_vrf_route("blue", ipaddress.ip_network((0xAC100000 + 256 * i, 24)))
        held, still = 0, 0
        while still < 5:  # until B takes no more for half a second
            await asyncio.sleep(0.1)
            still, held = (still + 1, held) if b.events.qsize() == held else (0, b.events.qsize())
        assert 0 < held < n  # the rest waits on B's socket, unread
        gate.set()
        await _wait(lambda: b.events.qsize() >= n)
        assert waits > 2
    finally:
        for sp in (a, b, rr):
            await sp.stop()
