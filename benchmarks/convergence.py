#!/usr/bin/env python3
"""Convergence: from BGP UPDATEs on a C-PE's socket to their P4 entries in the switch.

The C-PE's path is the daemon's: the BGP speaker core parses the UPDATEs and
resolves each VPN route (red loopback route, Tunnel Encapsulation attribute),
the composer turns RouteEvents into desired state, the writer takes the
entries that changed (``DesiredState.changes()``) and writes them over
P4Runtime to p4sim running ``p4src/cpe.p4`` as a separate process (as in the
product).

A remote C-PE announces N VPN-IPv4 routes at once through a route reflector
(sans-I/O cores pumped in process; neither is timed). What the RR sends the
C-PE is one burst of bytes, all on the C-PE's socket at t0; the C-PE reads it
as the daemon does, 64 KiB per read, and writes a round after every
``--reads-per-write`` reads (default 1). With ``--overlap`` the reader and the
writer are two tasks on one loop, as in the daemon, so reads go on while a
Write is in flight; on a burst the reader then has the loop for a whole read
between any two steps of a write round (each batch of 500 entries), so the
first routes wait for nearly the whole burst. A route's latency is the end of the Write that
carried its entry minus t0; the last one is when all N are in the switch
(checked afterwards by reading the table back).

Two shapes of burst (``--shape``): ``packed``, the RR packs routes that share
their attributes into one UPDATE, as it does when it reads many of the
remote's UPDATEs at once; ``single``, one route per UPDATE (an RR that got
them one by one), the per-UPDATE costs at their worst.

    benchmarks/convergence.py                  # N = 1000 and 10000, both shapes
    benchmarks/convergence.py --overlap        # reads overlap Writes, as in the daemon
    benchmarks/convergence.py --routes 100000 --shape packed
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split
import argparse
import asyncio
import gc
import ipaddress
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "controller" / "bgp"))

from bgp_pump import RR, A, B, Net, ip, vpn_trio  # noqa: E402

from controller.app.compose import Composer  # noqa: E402
from controller.app.desired import TABLE_ORDER, DesiredState, SaPair  # noqa: E402
from controller.app.switch import (  # noqa: E402
    Pipeline,
    compile_p4info,
    connect,
    ensure_pipeline,
    p4sim_bundle,
)
from controller.app.writer import SwitchWriter  # noqa: E402
from controller.bgp import session as s  # noqa: E402
from controller.bgp.aio import gc_paused  # noqa: E402
from controller.config import parse  # noqa: E402
from controller.p4rt import P4RuntimeClient, TableEntry  # noqa: E402

READ = 65536  # what the daemon's BGP reader asks the socket for (controller/bgp/aio.py)

CPE = """
node: {name: bench, role: cpe, as: 65000, router_id: 192.0.2.2}
loopbacks: {black: 198.51.100.2, red: 10.255.0.2}
switch:
  ports:
    - {port: 1, name: blue0, role: red, vrf: blue, address: 10.2.2.1/24}
    - {port: 3, name: wan0, role: black, address: 203.0.113.6/30}
    - {port: 255, role: cpu}
    - {port: 254, role: crypto}
vrfs:
  - {name: blue, rd: "65000:2", import: ["65000:100"], export: ["65000:100"], table_id: 1}
"""


class GcClock:
    """CPU seconds spent in the cyclic garbage collector (gc.callbacks)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.thread_time()
        else:
            self.seconds += time.thread_time() - self._start


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def writes(net: Net, sender: str, to: str) -> tuple[int, list[bytes]]:
    """The sender's pending writes to ``to``: (the receiver's conn id, the bytes)."""
    out: list[bytes] = []
    conn = 0
    for peer, op in net.node(sender).transport_ops():
        if peer == ip(to) and isinstance(op, s.Write):
            conn = net.links[(ip(sender), op.conn)][1]
            out.append(op.data)
    return conn, out


def burst(n: int, shape: str) -> tuple[Net, int, bytes]:
    """The RR's UPDATEs to B for A's N routes: (the net, B's conn id, the bytes)."""
    net = vpn_trio()
    net.node(B).route_events()
    a, rr = net.node(A), net.node(RR)
    base = int(ipaddress.IPv4Address("172.16.0.0"))
    for i in range(n):
        a.add_vrf_route("blue", ipaddress.ip_network((base + 256 * i, 24)), net.now)
    conn, updates = writes(net, A, RR)
    if shape == "packed":  # the RR reads A's stream as the daemon does, 64 KiB at a time
        stream = b"".join(updates)
        pieces = [stream[i : i + READ] for i in range(0, len(stream), READ)]
    else:  # each UPDATE handled on its own: the RR reflects each one as it comes
        pieces = updates
    for data in pieces:
        rr.data_received(ip(A), conn, data, net.now)
    conn, out = writes(net, RR, B)
    return net, conn, b"".join(out)


class Convergence:
    """The C-PE's side of one burst: reads through BGP and the composer, write rounds."""

    def __init__(self, net: Net, conn: int, comp: Composer, writer: SwitchWriter,
                 client: P4RuntimeClient, state: DesiredState) -> None:  # fmt: skip
        self.b, self.conn, self.comp, self.writer = net.node(B), conn, comp, writer
        self.client, self.state, self.now = client, state, net.now
        self.bgp = self.compose = 0.0  # CPU seconds (thread time: load disturbs it less)
        self.latencies: list[float] = []
        self.waiting = 0  # routes composed, not yet in a write round
        self.t0 = time.perf_counter()

    def read(self, chunk: bytes) -> None:
        c0 = time.thread_time()
        with gc_paused():  # as the daemon's reader does
            self.b.data_received(ip(RR), self.conn, chunk, self.now)
        events = self.b.route_events()
        c1 = time.thread_time()
        for ev in events:
            self.comp.route_event(ev)
        self.bgp += c1 - c0
        self.compose += time.thread_time() - c1
        self.waiting += sum(1 for e in events if not e.local)

    async def write(self) -> None:
        """A write round for every route composed so far (the state's changes are taken
        before the round's first await, so routes composed meanwhile wait for the next)."""
        routes, self.waiting = self.waiting, 0
        await self.writer.write(self.client, self.state)
        self.latencies += [time.perf_counter() - self.t0] * routes

    async def sequential(self, reads: list[bytes], per_write: int) -> None:
        """Read, compose, write, one after the other: no overlap with the switch."""
        self.t0 = time.perf_counter()
        for k, chunk in enumerate(reads, 1):
            self.read(chunk)
            if k % per_write == 0 or k == len(reads):
                await self.write()

    async def overlapped(self, reads: list[bytes]) -> None:
        """As the daemon runs: the reader and the writer are tasks on one loop, so the
        next read is handled while a Write is in flight (daemon.py's _writer: woken by
        news, it waits 10 ms for a burst to land, then writes what changed)."""
        news = asyncio.Event()
        reading = True

        async def reader() -> None:
            nonlocal reading
            for chunk in reads:
                self.read(chunk)
                news.set()
                await asyncio.sleep(0)  # the daemon's reader awaits the socket
            reading = False
            news.set()

        async def writer() -> None:
            while reading or self.waiting:
                await news.wait()
                news.clear()
                await asyncio.sleep(0.01)
                if self.waiting:
                    await self.write()

        self.t0 = time.perf_counter()
        await asyncio.gather(reader(), writer())


async def run(
    n: int, shape: str, per_write: int, pipe: Pipeline, sequential: bool
) -> dict[str, float]:
    port = free_port()
    sim = subprocess.Popen(
        [sys.executable, "-m", "controller", "p4sim", "run", "--no-p4", "--device-id", "1",
         "--grpc-server-addr", f"127.0.0.1:{port}", "--cpu-port", "255"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        client = await connect(f"127.0.0.1:{port}", 1, 1, timeout=60)
        await ensure_pipeline(client, pipe)
        state = DesiredState(parse(CPE), {})
        state.set_sa("198.51.100.1", None, SaPair(2, 1))  # A's tunnel already has its SA
        comp = Composer(state, {}, None)
        writer = SwitchWriter(TABLE_ORDER)
        await writer.write(client, state)  # ports etc.: not part of the figures
        writer.rpc_seconds = 0.0
        net, conn, data = burst(n, shape)
        # The remote and the RR live in this process, the daemon has its own: out of
        # the collector's sight, so that it walks only what the C-PE builds.
        gc.collect()
        gc.freeze()
        updates = sum(1 for i in _frames(data) if data[i + 18] == 2)
        reads = [data[i : i + READ] for i in range(0, len(data), READ)]
        c = Convergence(net, conn, comp, writer, client, state)
        gc_clock = GcClock()
        gc.callbacks.append(gc_clock)
        c0 = time.thread_time()
        await (c.sequential(reads, per_write) if sequential else c.overlapped(reads))
        write = time.thread_time() - c0 - c.bgp - c.compose
        latencies = c.latencies
        gc.callbacks.remove(gc_clock)
        gc.unfreeze()
        held = len(await client.read([TableEntry("vrf_fib_v4")]))
        await client.close()
        if held < n:
            raise SystemExit(f"the switch holds {held} vrf_fib_v4 entries, not {n}")
        latencies.sort()
        return {
            "routes": n,
            "updates": updates,
            "reads": len(reads),
            "median_s": statistics.median(latencies),
            "p99_s": latencies[int(0.99 * (len(latencies) - 1))],
            "all_s": latencies[-1],
            "bgp_s": c.bgp,
            "compose_s": c.compose,
            "write_s": write,
            "rpc_s": writer.rpc_seconds,
            "gc_s": gc_clock.seconds,
        }
    finally:
        sim.terminate()
        sim.wait(10)


def _frames(data: bytes) -> list[int]:
    """Offsets of the BGP messages in a stream."""
    out, i = [], 0
    while i < len(data):
        out.append(i)
        i += int.from_bytes(data[i + 16 : i + 18], "big")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routes", type=int, action="append", help="default: 1000 and 10000")
    ap.add_argument("--shape", choices=["packed", "single"], action="append")
    ap.add_argument(
        "--overlap",
        action="store_true",
        help="reader and writer as two tasks, as the daemon runs them (default: a write "
        "round after every --reads-per-write reads, nothing overlapping)",
    )
    ap.add_argument("--reads-per-write", type=int, default=1, help="default 1")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each row (default 1)")
    ap.add_argument("--smoke", action="store_true", help="100 routes: checks it runs")
    args = ap.parse_args()
    if args.smoke:
        args.routes = [100]
    program = ROOT / "p4src" / "cpe.p4"
    defines = {"CPU_PORT": "255", "CRYPTO_PORT": "254"}
    most = max(args.routes or [10000]) + 1024  # the C-PE's own routes too
    if most > 16384:  # the program's vrf_fib_v4 default; a bigger VPN needs a bigger table
        defines["VRF_FIB_V4_SIZE"] = str(most)
        print(f"(p4src/cpe.p4 built with VRF_FIB_V4_SIZE={most})")
    pipe = Pipeline(compile_p4info(program, defines), p4sim_bundle(program, defines), 1)
    mode = "reader and writer as tasks, as the daemon" if args.overlap else "a round per read"
    print(f"seconds from t0 (the burst on the socket) to the Write carrying each route ({mode});")
    print("BGP/compose/write: the C-PE's CPU seconds in its speaker core, composer and writer;")
    print("GC: CPU seconds of the garbage collector, included in those three")
    print(
        f"{'routes':>7} {'shape':>6} {'UPDATEs':>8} {'reads':>5} {'median':>7} {'p99':>7}"
        f" {'all':>7} {'BGP':>6} {'compose':>7} {'write':>6} {'RPC wall':>9} {'GC':>6}"
    )
    for n in args.routes or [1000, 10000]:
        for shape in args.shape or ["packed", "single"]:
            for _ in range(args.repeat):
                r = asyncio.run(run(n, shape, args.reads_per_write, pipe, not args.overlap))
                print(
                    f"{n:>7} {shape:>6} {r['updates']:>8.0f} {r['reads']:>5.0f}"
                    f" {r['median_s']:>7.3f} {r['p99_s']:>7.3f} {r['all_s']:>7.3f}"
                    f" {r['bgp_s']:>6.3f} {r['compose_s']:>7.3f} {r['write_s']:>6.3f}"
                    f" {r['rpc_s']:>9.3f} {r['gc_s']:>6.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
