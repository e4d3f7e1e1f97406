"""Our asyncio speaker (full FSM, RIB, policy) against GoBGP, in network namespaces.

1. Two of our C-PEs are route-reflector clients of GoBGP; VPN-IPv4 and VPN-IPv6
   routes go both ways, each side resolves the other's routes through its red
   loopback route, and the Tunnel Encapsulation attribute (with the Security
   Handle sub-TLV) arrives byte for byte as its originator built it.
2. Our speaker is the route reflector; GoBGP is a client next to one of our C-PEs.

The IPsec layer is not part of these tests: each red session is told its
transport is protected (the unit tests cover what happens when it is not).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from peers.fixtures import BgpLab, RunningPeer
from peers.gobgp import GoBgp

from controller.bgp.aio import BgpSpeaker
from controller.bgp.config import NeighborConfig, RedLoopback, SpeakerConfig
from controller.bgp.core import RouteEvent
from controller.bgp.path import IPV4_UNICAST, VPNV4, VPNV6, Color, Nlri, Tunnel
from controller.bgp.resolve import Verdict
from controller.bgp.session import Write
from controller.bgp.vrf import VrfConfig
from controller.bgp.wire.attributes.tunnel_encap import TunnelEncapsulation
from controller.bgp.wire.context import CodecContext

pytestmark = [pytest.mark.interop, pytest.mark.slow]
FAMILIES = ("ipv4", "ipv6", "vpnv4", "vpnv6")
ip = ipaddress.ip_address
net = ipaddress.ip_network


def cpe(
    me: str, rr: str, red: str, black: str, handle: bytes, rt: str = "65000:100", **n_kw: object
) -> SpeakerConfig:
    """A C-PE of one tenant (VRF blue importing and exporting ``rt``), client of ``rr``."""
    n = NeighborConfig(
        ip(rr),
        65000,
        Color.RED,
        local_address=ip(me),
        connect_retry_time=1,
        idle_hold_time=0.5,
        **n_kw,  # type: ignore[arg-type]
    )
    return SpeakerConfig(
        65000,
        ip(red),
        black_loopback=ip(black),
        red_loopbacks=(RedLoopback(ip(red), handle),),
        neighbors=(n,),
        vrfs=(VrfConfig("blue", f"{red}:1", (rt,), (rt,)),),
    )


async def wait_for(cond: Callable[[], bool], what: str, timeout: float = 15) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def events_until(sp: BgpSpeaker, n: int, timeout: float = 15) -> list[RouteEvent]:
    out = []
    while len(out) < n:
        out.append(await asyncio.wait_for(sp.events.get(), timeout))
    return out


async def start_clients(rr: str, *speakers: BgpSpeaker) -> None:
    """Start our speakers, tell each its session to ``rr`` is protected, wait until it is up."""
    for sp in speakers:
        await sp.start()
        sp.set_transport_protected(ip(rr), True)
    await wait_for(lambda: all(sp.core.sessions[ip(rr)].established for sp in speakers), "sessions")


@contextlib.asynccontextmanager
async def cpe_pair(
    peer: RunningPeer,
    handles: tuple[bytes, bytes] = (b"\x00\x00\x10\x01", b"\x00\x00\x10\x02"),
    rts: tuple[str, str] = ("65000:100", "65000:100"),
) -> AsyncIterator[tuple[BgpSpeaker, BgpSpeaker]]:
    """Our C-PEs A (10.255.0.1 / 198.51.100.1) and B (.2), clients of ``peer``, sessions up;
    ``rts``: the route target of each one's tenant."""
    rr = peer.address
    speakers = [
        BgpSpeaker(
            cpe(peer.client_ip(i), rr, f"10.255.0.{i + 1}", f"198.51.100.{i + 1}", h, rt),
            listen_port=None,
        )
        for i, (h, rt) in enumerate(zip(handles, rts, strict=True))
    ]
    try:
        await start_clients(rr, *speakers)
        yield speakers[0], speakers[1]
    finally:
        for sp in speakers:
            await sp.stop()


@contextlib.asynccontextmanager
async def our_rr_with_cpe(
    peer: RunningPeer, rr_client: bool = True
) -> AsyncIterator[tuple[BgpSpeaker, BgpSpeaker]]:
    """Our RR (10.255.255.1) peering with the daemon from the first test-side address
    (as a client or not), and our C-PE C (10.255.0.3), its client over loopback; every
    session protected and up."""
    n = NeighborConfig(
        ip(peer.address),
        65000,
        Color.RED,
        rr_client=rr_client,
        local_address=ip(peer.client_ip(0)),
        connect_retry_time=1,
        idle_hold_time=0.5,
    )
    c_n = NeighborConfig(ip("127.0.0.2"), 65000, Color.RED, rr_client=True, passive=True)
    rr = BgpSpeaker(
        SpeakerConfig(65000, ip("10.255.255.1"), neighbors=(n, c_n)),
        listen_host="127.0.0.1",
        listen_port=0,
    )
    await rr.start()
    assert rr.port is not None
    c_cfg = cpe("127.0.0.2", "127.0.0.1", "10.255.0.3", "198.51.100.3", b"\x33", port=rr.port)
    c = BgpSpeaker(c_cfg, listen_port=None)
    await c.start()
    try:
        for addr in (peer.address, "127.0.0.2"):
            rr.set_transport_protected(ip(addr), True)
        c.set_transport_protected(ip("127.0.0.1"), True)
        await wait_for(lambda: all(s.established for s in rr.core.sessions.values()), "RR up")
        yield rr, c
    finally:
        await c.stop()
        await rr.stop()


def tap(sp: BgpSpeaker, received: bytearray, sent: bytearray) -> None:
    """Copy every octet the speaker's core receives and sends into the two buffers."""
    core = sp.core
    orig_in, orig_ops = core.data_received, core.transport_ops

    def data_received(peer, conn, data, now):  # type: ignore[no-untyped-def]
        received.extend(data)
        orig_in(peer, conn, data, now)

    def transport_ops():  # type: ignore[no-untyped-def]
        ops = orig_ops()
        for _, op in ops:
            if isinstance(op, Write):
                sent.extend(op.data)
        return ops

    core.data_received = data_received  # type: ignore[method-assign]
    core.transport_ops = transport_ops  # type: ignore[method-assign]


def run_in(
    ns_call: Callable[[Callable[[], None]], None], coro: Callable[[], Awaitable[None]]
) -> None:
    """Run an asyncio scenario on a thread inside the test-side namespace."""
    ns_call(lambda: asyncio.run(coro()))  # type: ignore[arg-type]


def test_gobgp_rr_reflects_vpn_routes_between_our_cpes(bgp_lab: BgpLab) -> None:
    peer = bgp_lab.start("gobgp", families=FAMILIES, clients=2)
    gobgp = peer.daemon
    assert isinstance(gobgp, GoBgp)
    rr = peer.address
    a_cfg = cpe(peer.client_ip(0), rr, "10.255.0.1", "198.51.100.1", b"\x00\x00\x10\x01")
    b_cfg = cpe(peer.client_ip(1), rr, "10.255.0.2", "198.51.100.2", b"\x00\x00\x10\x02")

    async def scenario() -> None:
        a = BgpSpeaker(a_cfg, listen_port=None)
        b = BgpSpeaker(b_cfg, listen_port=None)
        # Record the raw bytes each speaker sends and receives on the wire.
        wire_in: dict[BgpSpeaker, bytearray] = {a: bytearray(), b: bytearray()}
        wire_out: dict[BgpSpeaker, bytearray] = {a: bytearray(), b: bytearray()}
        for sp in (a, b):
            tap(sp, wire_in[sp], wire_out[sp])
        try:
            await start_clients(rr, a, b)
            a.add_vrf_route("blue", net("172.16.1.0/24"))
            a.add_vrf_route("blue", net("2001:db8:1::/48"))
            b.add_vrf_route("blue", net("172.16.2.0/24"))
            b.add_vrf_route("blue", net("2001:db8:2::/48"))
            at_b = {e.prefix: e for e in await events_until(b, 4) if not e.local}
            at_a = {e.prefix: e for e in await events_until(a, 4) if not e.local}
            for got, other_black, handle in (
                (at_b, "198.51.100.1", b"\x00\x00\x10\x01"),
                (at_a, "198.51.100.2", b"\x00\x00\x10\x02"),
            ):
                assert len(got) == 2, got
                for ev in got.values():
                    assert ev.verdict is Verdict.RESOLVED, ev
                    assert ev.tunnel_endpoint == ip(other_black)
                    assert ev.security_handle == handle
                    assert ev.label is not None
            # The red loopback route's Tunnel Encapsulation attribute (with the Security
            # Handle sub-TLV): the exact octets A sent are among those B received.
            lo = b.core.red.best(Nlri(IPV4_UNICAST, net("10.255.0.1/32")))
            assert lo is not None and isinstance(lo.attrs.tunnel_wire, TunnelEncapsulation)
            ctx = CodecContext()
            sent = TunnelEncapsulation.mpls_in_ipsec(ip("198.51.100.1"), b"\x00\x00\x10\x01", ctx)
            raw = sent.encode(ctx)
            assert raw[:2] == b"\xc0\x17" and b"\x7e\x04\x00\x00\x10\x01" in raw
            assert raw in wire_out[a] and raw in wire_in[b]
            assert lo.attrs.tunnel_wire.encode(ctx) == raw
            assert lo.attrs.originator_id == ip("10.255.0.1")
            assert lo.attrs.cluster_list == (ip(rr),)
            # Draft 2: the VPN routes themselves carry the MPLS-in-IPsec tunnel, and keep
            # it through GoBGP (nothing at B was refused for lacking it).
            for fam in (VPNV4, VPNV6):
                for p in b.core.red.best_paths(fam):
                    if not p.source.local:
                        assert p.attrs.tunnels == (Tunnel(0xFFFE, ip("10.255.0.1")),), p
                        assert isinstance(p.attrs.tunnel_wire, TunnelEncapsulation)
            assert b.core.refusals.current() == []
            # Withdrawal travels too.
            a.remove_vrf_route("blue", net("172.16.1.0/24"))
            (gone,) = await events_until(b, 1)
            assert (gone.prefix, gone.withdrawn) == (net("172.16.1.0/24"), True)
            rib = str(await asyncio.to_thread(gobgp.rib, "vpnv4"))
            assert "172.16.2.0/24" in rib and "172.16.1.0/24" not in rib
            # Mobility (draft 3.2): A's black loopback changes; through GoBGP, B moves
            # A's remaining route to the new tunnel endpoint.
            a.set_black_loopback(ip("203.0.113.77"))
            (moved,) = await events_until(b, 1)
            assert moved.prefix == net("2001:db8:1::/48")
            assert (moved.verdict, moved.tunnel_endpoint) == (Verdict.RESOLVED, ip("203.0.113.77"))
        finally:
            for sp in (a, b):
                await sp.stop()

    run_in(peer.lab.us.call, scenario)


def test_our_rr_reflects_between_gobgp_and_our_cpe(bgp_lab: BgpLab) -> None:
    # GoBGP is an ordinary IBGP speaker (rr=False); our RR, at the first test-side
    # address, connects to it and treats it as a client; our C-PE connects to our RR
    # over the test namespace's loopback.
    peer = bgp_lab.start("gobgp", families=FAMILIES, clients=1, rr=False)
    gobgp = peer.daemon
    assert isinstance(gobgp, GoBgp)

    async def scenario() -> None:
        async with our_rr_with_cpe(peer) as (_rr, c):
            c.add_vrf_route("blue", net("172.16.3.0/24"))
            # GoBGP originates a red loopback-less VPN route: it reaches our C-PE via our RR.
            await asyncio.to_thread(
                gobgp.add_route, "vpnv4", "172.16.9.0/24", "label", "900", "rd", "65000:9",
                "rt", "65000:100", "nexthop", "10.255.0.9",
            )  # fmt: skip
            await wait_for(
                lambda: (
                    any(
                        p.nlri.prefix == net("172.16.9.0/24")
                        for p in c.core.red.best_paths(VPNV4)
                        if not p.source.local
                    )
                    or any(
                        str(p.nlri).endswith("172.16.9.0/24")
                        for d in c.core.red.destinations()
                        for p in c.core.red.paths(d)
                    )
                ),
                "GoBGP's route at our C-PE",
            )
            await wait_for(
                lambda: "172.16.3.0/24" in str(gobgp.rib("vpnv4")), "our C-PE's route at GoBGP"
            )
            # GoBGP's route has no Tunnel Encapsulation attribute: draft 2 says it must
            # not be used, and the C-PE reports it (neighbour = our RR).
            await wait_for(lambda: bool(c.core.refusals.current()), "the refusal")
            (ref,) = c.core.refusals.current()
            assert (ref.kind, ref.peer, str(ref.nlri)) == (
                "no-encap",
                ip("127.0.0.1"),
                "65000:9:172.16.9.0/24",
            )
            assert c.core.refusals.counts(ip("127.0.0.1")) == {"no-encap": 1}
            gob = [ev for ev in c.core.vrf_routes("blue") if ev.prefix == net("172.16.9.0/24")]
            assert [ev.verdict for ev in gob] == [Verdict.NO_ENCAP]
            # ... while our RR, which forwards nothing, reflected it as it came.
            assert c.core.red.paths(ref.nlri)[0].attrs.tunnels == ()

    run_in(peer.lab.us.call, scenario)
