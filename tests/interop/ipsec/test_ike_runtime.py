"""Two of our C-PE IPsec runtimes over real UDP in a namespace: eager setup to engine SAs.

Not a third-party peer (hence not `interop`); it needs root for the namespace.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os

import pytest
from swan_netns import Netns

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.packet import outer_header
from controller.ipsec.ike.config import IkeConfig, Lifetimes
from controller.ipsec.ike.runtime import IpsecRuntime
from controller.ipsec.tunnels import bgp_child

pytestmark = [pytest.mark.slow]
A, B = "10.99.0.1", "10.99.0.2"
ETH = b"\x02\x00\x00\x00\x00\x0b\x02\x00\x00\x00\x00\x0a\x08\x00"
MPLS = bytes.fromhex("00064140") + b"tenant" * 10


def make_config(me: str):  # type: ignore[no-untyped-def]
    def make(peer: str) -> IkeConfig:
        return IkeConfig(
            "x",
            me,
            peer,
            psk=b"runtime test key",
            children=[bgp_child(me, peer)],
            lifetimes=Lifetimes(None, None),
            dpd_seconds=None,
        )

    return make


async def until(cond, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.02)):
        if cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition never became true")


async def test_runtime_eager_tunnel_reaches_both_engines() -> None:
    if os.geteuid() != 0:
        pytest.fail("needs root for a network namespace")
    ns = Netns.new(f"sl3ike-rt-{os.getpid() % 100000}")
    runtimes: list[IpsecRuntime] = []
    try:
        for ip in (A, B):
            ns.run(["ip", "addr", "add", f"{ip}/32", "dev", "lo"])
        engines = {A: EspEngine(), B: EspEngine()}
        for me in (A, B):
            rt = IpsecRuntime(engines[me], me, make_config(me), drain_seconds=0.2)
            await rt.start({p: ns.udp_socket(me, p) for p in (500, 4500)})
            runtimes.append(rt)
        ra, rb = runtimes
        rb.accept(A)
        ra.ensure_tunnel(B, security_handle=b"\x00\x01")
        await until(lambda: ra.outbound_index(B) is not None and rb.outbound_index(A) is not None)
        await until(lambda: rb.outbound_index(A, child="bgp") is not None)
        index = ra.outbound_index(B)
        src, dst = ipaddress.ip_address(A).packed, ipaddress.ip_address(B).packed
        frame = (
            cp.CryptoHeader(cp.Op.ENCRYPT, index or 0).encode()
            + ETH
            + outer_header(src, dst, 137, len(MPLS), 0)
            + MPLS
        )
        enc = engines[A].process(frame)
        assert enc[4] == cp.Result.OK
        dec = engines[B].process(cp.CryptoHeader(cp.Op.DECRYPT).encode() + enc[8:])
        assert dec[4] == cp.Result.OK and dec[8 + 14 + 20 :] == MPLS
        rb.ensure_tunnel(A)  # B's own route for A: the existing IKE SA serves it
        await asyncio.sleep(0.1)
        assert len(ra.daemon.sas) == len(rb.daemon.sas) == 1
        ra.withdraw(B)
        await until(lambda: not list(engines[A].sas()) and not list(engines[B].sas()))
    finally:
        for rt in runtimes:
            await rt.stop()
        ns.delete()


async def test_runtime_both_ends_trigger_at_once_keep_one_ike_sa() -> None:
    if os.geteuid() != 0:
        pytest.fail("needs root for a network namespace")
    ns = Netns.new(f"sl3ike-rt2-{os.getpid() % 100000}")
    runtimes: list[IpsecRuntime] = []
    try:
        for ip in (A, B):
            ns.run(["ip", "addr", "add", f"{ip}/32", "dev", "lo"])
        engines = {A: EspEngine(), B: EspEngine()}
        for me in (A, B):
            rt = IpsecRuntime(engines[me], me, make_config(me), drain_seconds=0.2)
            await rt.start({p: ns.udp_socket(me, p) for p in (500, 4500)})
            runtimes.append(rt)
        ra, rb = runtimes
        ra.ensure_tunnel(B)
        rb.ensure_tunnel(A)
        await until(
            lambda: (
                len(ra.daemon.established()) == len(rb.daemon.established()) == 1
                and len(list(engines[A].sas())) == len(list(engines[B].sas())) == 4
            )
        )
        assert ra.daemon.established()[0].spis == rb.daemon.established()[0].spis
        assert ra.outbound_index(B) is not None and rb.outbound_index(A) is not None
    finally:
        for rt in runtimes:
            await rt.stop()
        ns.delete()
