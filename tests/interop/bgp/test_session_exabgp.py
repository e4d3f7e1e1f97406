"""ExaBGP injects malformed and unusual UPDATEs into our speaker over a black session.

Checks RFC 7606 as our speaker applies it (the session stays up; treat-as-withdraw
removes the route; attribute-discard keeps it) and the draft's rule that a red
loopback route (here: one carrying the MPLS-in-IPsec Tunnel Encapsulation) is
ignored when it arrives on a black session.
"""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from peers.exabgp import ExaBgp
from peers.fixtures import BgpLab
from test_session_gobgp import run_in, wait_for

from controller.bgp.aio import BgpSpeaker
from controller.bgp.config import NeighborConfig, SpeakerConfig
from controller.bgp.path import IPV4_UNICAST, Color, Nlri

pytestmark = [pytest.mark.interop, pytest.mark.slow]
ip = ipaddress.ip_address
PFX = ipaddress.ip_network("10.77.0.0/16")


def test_exabgp_malformed_updates_handled_per_rfc7606_and_red_loopback_ignored(
    bgp_lab: BgpLab,
) -> None:
    peer = bgp_lab.start("exabgp", families=("ipv4",), clients=1, rr=False, client_asn=65001)
    exa = peer.daemon
    assert isinstance(exa, ExaBgp)
    n = NeighborConfig(
        ip(peer.address),
        65000,
        Color.BLACK,
        local_address=ip(peer.client_ip(0)),
        families=(IPV4_UNICAST,),
        connect_retry_time=1,
        idle_hold_time=0.5,
    )
    cfg = SpeakerConfig(65001, ip("10.255.0.1"), neighbors=(n,))

    async def scenario() -> None:
        sp = BgpSpeaker(cfg, listen_port=None)
        await sp.start()
        core = sp.core
        sess = core.sessions[ip(peer.address)]

        def best() -> object:
            return core.black.best(Nlri(IPV4_UNICAST, PFX))

        async def say(cmd: str) -> None:
            await asyncio.to_thread(exa.api, cmd)

        try:
            await wait_for(lambda: sess.established, "session with ExaBGP")
            await say(f"announce route {PFX} next-hop 10.0.0.9")
            await wait_for(lambda: best() is not None, "the good route")
            # MED of 3 octets: treat-as-withdraw (RFC 7606 7.4).
            await say(f"announce route {PFX} next-hop 10.0.0.9 attribute [0x04 0x80 0x000001]")
            await wait_for(lambda: best() is None, "treat-as-withdraw")
            assert sess.established
            # ATOMIC_AGGREGATE with a value: attribute-discard, the route stays (RFC 7606 7.6).
            await say(f"announce route {PFX} next-hop 10.0.0.9 attribute [0x06 0x40 0x00]")
            await wait_for(lambda: best() is not None, "route kept after attribute-discard")
            # A red loopback route (MPLS-in-IPsec tunnel, endpoint 198.51.100.7) on black.
            tea = "0xfffe000c" + "060a" + "00000000" + "0001" + "c6336407"
            await say(f"announce route 10.255.0.7/32 next-hop 10.0.0.9 attribute [0x17 0xc0 {tea}]")
            reason = "red loopback route received on a black session ignored (draft 3.1)"
            await wait_for(lambda: core.rejects[(ip(peer.address), reason)] == 1, "ignored")
            assert (
                core.black.best(Nlri(IPV4_UNICAST, ipaddress.ip_network("10.255.0.7/32"))) is None
            )
            assert sess.established
        finally:
            await sp.stop()

    run_in(peer.lab.us.call, scenario)
