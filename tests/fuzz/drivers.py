"""The fuzz drivers: hostile peers on real sockets, and a good peer that must survive.

BGP: workers connect from red, black and unknown neighbour addresses; most send
a valid OPEN and KEEPALIVE first (so later messages meet an Established
session), then 1-8 mutated messages, and go. IKE: mutated datagrams from
several source addresses to ports 500 and 4500 (with and without the non-ESP
marker). Meanwhile the good peer's session (BGP keepalives every 3 s, IKE
liveness checks every second) must stay up from start to end.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from controller.bgp.aio import BgpSpeaker
from controller.ipsec.ike.sa import IkeState
from tests.fuzz import bgp_target, ike_target
from tests.fuzz.mutate import Mutator


@dataclass
class Outcome:
    sent: int = 0
    connections: int = 0
    connect_errors: int = 0
    good_drops: int = 0  # times the good peer's session was seen down after coming up
    good_checks: int = 0
    tried: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    target_at_end: dict[str, Any] = field(default_factory=dict)  # before the good peer stops


Snapshot = Callable[[], dict[str, Any]]


async def _good_watch(up: Callable[[], bool], out: Outcome, stop: asyncio.Event) -> None:
    was = True
    while not stop.is_set():
        now = up()
        out.good_checks += 1
        if was and not now:
            out.good_drops += 1
        was = now
        await asyncio.sleep(0.2)


async def bgp(
    port: int, total: int, rng: random.Random, snapshot: Snapshot, workers: int = 8
) -> Outcome:
    out = Outcome()
    good = BgpSpeaker(bgp_target.good_peer_config(port), listen_port=None)
    await good.start()
    target = bgp_target.ip(bgp_target.TARGET)
    good.set_transport_protected(target, True)
    sess = good.core.sessions[target]
    for _ in range(300):
        if sess.established:
            break
        await asyncio.sleep(0.05)
    assert sess.established, "the good peer never reached Established"
    mut = Mutator(bgp_target.seeds(), rng, [bgp_target.fix_length], header=19)
    stop = asyncio.Event()
    watch = asyncio.create_task(_good_watch(lambda: sess.established, out, stop))
    start = time.monotonic()

    async def worker() -> None:
        while out.sent < total:
            await _bgp_conn(port, mut, rng, out, total)

    await asyncio.gather(*(worker() for _ in range(workers)))
    await asyncio.sleep(2 * bgp_target.HOLD / 3)  # a keepalive round after the storm
    out.seconds = time.monotonic() - start
    stop.set()
    await watch
    if not sess.established:
        out.good_drops += 1
    out.target_at_end = await asyncio.to_thread(snapshot)
    await good.stop()
    out.tried = mut.tried
    return out


async def _bgp_conn(port: int, mut: Mutator, rng: random.Random, out: Outcome, total: int) -> None:
    r = rng.random()
    pool = (
        bgp_target.RED_FUZZ
        if r < 0.6
        else bgp_target.BLACK_FUZZ
        if r < 0.85
        else bgp_target.UNKNOWN_FUZZ
    )
    src = rng.choice(pool)
    try:
        reader, writer = await asyncio.open_connection(bgp_target.TARGET, port, local_addr=(src, 0))
    except OSError:
        out.connect_errors += 1
        await asyncio.sleep(0.01)
        return
    out.connections += 1
    drain = asyncio.create_task(_drain(reader))
    try:
        if rng.random() < 0.75:
            writer.write(bgp_target.open_for(src) + bgp_target.seeds()[1][1])
        for _ in range(rng.randint(1, 8)):
            if out.sent >= total:
                break
            _, data = mut.next()
            writer.write(data)
            out.sent += 1
            await writer.drain()
        await asyncio.wait_for(asyncio.shield(drain), timeout=0.05)
    except (OSError, TimeoutError):
        pass
    finally:
        writer.close()
        drain.cancel()


async def _drain(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


async def ike(total: int, rng: random.Random, snapshot: Snapshot) -> Outcome:
    out = Outcome()
    log: list[str] = []
    good = ike_target.service(ike_target.GOOD, ike_target.TARGET, 1.0, log)
    await good.start(ike_target.sockets(ike_target.GOOD))
    sa = good.initiate(f"to-{ike_target.TARGET}", ike_target.TARGET)
    for _ in range(300):
        if sa.state == IkeState.ESTABLISHED:
            break
        await asyncio.sleep(0.05)
    assert sa.state == IkeState.ESTABLISHED, f"the good peer's IKE SA never came up: {log}"
    mut = Mutator(ike_target.seeds(), rng, [ike_target.fix_length], header=28)
    socks = []
    for i in range(1, 9):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((f"127.0.4.{i}", 0))
        s.setblocking(False)
        socks.append(s)
    stop = asyncio.Event()
    watch = asyncio.create_task(_good_watch(lambda: sa.state == IkeState.ESTABLISHED, out, stop))
    start, mid0 = time.monotonic(), sa.mid_out
    while out.sent < total:
        for _ in range(100):
            _, data = mut.next()
            port = rng.choice((500, 4500))
            if port == 4500 and rng.random() < 0.7:
                data = b"\x00\x00\x00\x00" + data  # non-ESP marker (RFC 3948)
            try:
                rng.choice(socks).sendto(data, (ike_target.TARGET, port))
                out.sent += 1
            except OSError:  # the socket buffer is full: not sent, not counted
                out.connect_errors += 1
        await asyncio.sleep(0.005)
    # Liveness checks after the storm: one must complete. Wait for it (bounded and
    # generous: a loaded machine may take many seconds), not for a fixed time.
    deadline = time.monotonic() + 60
    while sa.mid_out <= mid0 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    out.seconds = time.monotonic() - start
    stop.set()
    await watch
    if sa.state != IkeState.ESTABLISHED or sa.mid_out <= mid0:
        out.good_drops += 1  # down, or no liveness check answered during the run
    out.target_at_end = await asyncio.to_thread(snapshot)
    await good.stop()
    for s in socks:
        s.close()
    out.tried = mut.tried
    return out
