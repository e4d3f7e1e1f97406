#!/usr/bin/env python3
"""Convergence: from BGP UPDATEs on a C-PE's socket to their P4 entries in the switch.

The C-PE runs the daemon's own parts on one event loop: its ``BgpSpeaker``
reads the session's socket (``controller/bgp/aio.py``), a task composes the
route events into desired state (as ``ControlPlane.route_events``), and
``SwitchSync`` writes the changes over P4Runtime to p4sim running
``p4src/cpe.p4`` as a separate process (as in the product); BGP's reader waits
on ``SwitchSync.room()`` while the writer is behind (back-pressure).

A remote C-PE announces N VPN-IPv4 routes at once through a route reflector:
both are sans-I/O cores pumped in this process, untimed; the RR's session to
the C-PE is a real TCP connection on loopback. t0 is when the RR starts to send
the whole burst on it. A route's latency is the end of the write round that
carried its entry minus t0; the last one is when all N are in the switch
(checked afterwards by reading the table back).

Two shapes of burst (``--shape``): ``packed``, the RR packs routes that share
their attributes into one UPDATE, as it does when it reads many of the
remote's UPDATEs at once; ``single``, one route per UPDATE (an RR that got
them one by one), the per-UPDATE costs at their worst.

    benchmarks/convergence.py                  # N = 1000, 10000 and 100000, packed
    benchmarks/convergence.py --routes 10000 --shape single
    benchmarks/convergence.py --smoke          # 100 routes: checks it runs
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split
import argparse
import asyncio
import cProfile
import gc
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _bgp_remote import RR, Remote, cpe_bgp_config, ip, updates_in  # noqa: E402

from controller.app.compose import Composer  # noqa: E402
from controller.app.desired import DesiredState, SaPair  # noqa: E402
from controller.app.gcpolicy import settle_after_start  # noqa: E402
from controller.app.switch import (  # noqa: E402
    Pipeline,
    compile_p4info,
    connect,
    ensure_pipeline,
    p4sim_bundle,
)
from controller.app.switchsync import SwitchSync  # noqa: E402
from controller.bgp import aio  # noqa: E402
from controller.bgp.aio import BgpSpeaker  # noqa: E402
from controller.config import parse  # noqa: E402
from controller.p4rt import P4RuntimeClient, TableEntry  # noqa: E402

PROFILE = os.environ.get("CONVERGENCE_PROFILE")  # a file: cProfile of the timed part

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


class Clocks:
    """CPU seconds (thread time: load disturbs it less) of the C-PE's parts, and of its GC."""

    def __init__(self) -> None:
        self.bgp = self.compose = self.gc = 0.0
        self._gc_start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:  # a gc.callbacks entry
        if phase == "start":
            self._gc_start = time.thread_time()
        else:
            self.gc += time.thread_time() - self._gc_start

    def time_bgp(self, speaker: BgpSpeaker) -> None:
        """Count the CPU time of the speaker core's handling of received bytes."""
        core = speaker.core
        inner = core.data_received

        def data_received(*args: object) -> None:
            c0 = time.thread_time()
            inner(*args)  # type: ignore[arg-type]
            self.bgp += time.thread_time() - c0

        core.data_received = data_received  # type: ignore[method-assign]


class Cpe:
    """The C-PE's parts as the daemon composes them, and when each route reached the switch."""

    def __init__(self, client: P4RuntimeClient, rr_port: int, paced: bool) -> None:
        self.state = DesiredState(parse(CPE), {})
        self.state.set_sa("198.51.100.1", None, SaPair(2, 1))  # A's tunnel has its SA
        self.comp = Composer(self.state, {}, None)
        self.sync = SwitchSync(self.state, lambda: client, lambda: True)
        self.sync.hold_deletes = False  # converged: the burst comes in steady state
        pace = self.sync.room if paced else None
        self.speaker = BgpSpeaker(cpe_bgp_config(rr_port), listen_port=None, pace=pace)
        self.speaker.set_transport(ip(RR), ip("127.0.0.1"), None)
        self.clocks = Clocks()
        self.clocks.time_bgp(self.speaker)
        self.t0 = 0.0
        self.expected = 0
        self.latencies: list[float] = []
        self.done = asyncio.Event()
        self._count_rounds()

    def _count_rounds(self) -> None:
        """Every entry a round inserts lands when the round ends (its last Write answered)."""
        writer = self.sync.writer
        inner = writer.write

        async def write(*args: object, **kw: object) -> dict[str, int]:
            counts = await inner(*args, **kw)  # type: ignore[arg-type]
            if self.expected:
                self.latencies += [time.perf_counter() - self.t0] * counts["insert"]
                if len(self.latencies) >= self.expected:
                    self.done.set()
            return counts

        writer.write = write  # type: ignore[method-assign]

    async def compose(self) -> None:
        """ControlPlane.route_events: each route event through the composer, then wake.
        (It takes queued events without a turn of the loop, as get() does; timed per
        turn, not per event, so that the clock costs less than what it measures.)"""
        clocks, comp, events = self.clocks, self.comp, self.speaker.events
        while True:
            ev = await events.get()
            c0 = time.thread_time()
            comp.route_event(ev)
            while not events.empty():
                comp.route_event(events.get_nowait())
            clocks.compose += time.thread_time() - c0
            if comp.dirty:
                comp.dirty = False
                self.sync.wake()


async def run(
    n: int, shape: str, pipe: Pipeline, default_gc: bool, paced: bool
) -> dict[str, float]:
    port = free_port()
    sim = subprocess.Popen(
        [sys.executable, "-m", "controller", "p4sim", "run", "--no-p4", "--device-id", "1",
         "--grpc-server-addr", f"127.0.0.1:{port}", "--cpu-port", "255"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    remote = Remote()
    tasks: list[asyncio.Task[None]] = []
    try:
        client = await connect(f"127.0.0.1:{port}", 1, 1, timeout=60)
        await ensure_pipeline(client, pipe)
        cpe = Cpe(client, remote.port, paced)
        await cpe.sync.write_state()  # ports etc.: not part of the figures
        cpe.sync.writer.rpc_seconds = 0.0
        accepted = asyncio.create_task(remote.accept())
        await cpe.speaker.start()
        cpe.speaker.set_transport_protected(ip(RR), True)  # the control SA is up
        await accepted
        await remote.exchange()
        tasks = [asyncio.create_task(cpe.compose()), asyncio.create_task(cpe.sync.run())]
        data = remote.burst(n, shape)
        # The remote and the RR live in this process, the daemon has its own: out of
        # the collector's sight (frozen), so that it walks only what the C-PE builds;
        # the daemon's settings (controller/app/gcpolicy.py) unless --gc-default.
        gc.collect()
        gc.freeze()
        thresholds = gc.get_threshold()
        if not default_gc:
            settle_after_start()
        gc.callbacks.append(cpe.clocks)
        s0, c0 = _cpu_of(sim.pid), time.thread_time()
        prof = cProfile.Profile() if PROFILE else None
        if prof is not None:
            prof.enable()
        cpe.expected, cpe.t0 = n, time.perf_counter()
        sending = asyncio.create_task(remote.send(data))
        await asyncio.wait_for(cpe.done.wait(), timeout=600)
        cpu = time.thread_time() - c0
        if prof is not None:
            prof.disable()
            prof.dump_stats(PROFILE)
        switch_cpu = _cpu_of(sim.pid) - s0
        gc.callbacks.remove(cpe.clocks)
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        await sending
        held = len(await client.read([TableEntry("vrf_fib_v4")]))
        if held < n:
            raise SystemExit(f"the switch holds {held} vrf_fib_v4 entries, not {n}")
        latencies = sorted(cpe.latencies[:n])
        clocks = cpe.clocks
        return {
            "updates": updates_in(data),
            "median_s": statistics.median(latencies),
            "p99_s": latencies[int(0.99 * (len(latencies) - 1))],
            "all_s": latencies[-1],
            "bgp_s": clocks.bgp,
            "compose_s": clocks.compose,
            "write_s": cpu - clocks.bgp - clocks.compose,
            "rpc_s": cpe.sync.writer.rpc_seconds,
            "gc_s": clocks.gc,
            "switch_s": switch_cpu,
            "rounds": cpe.sync.writer.totals["rounds"],
        }
    finally:
        for task in tasks:
            task.cancel()
        remote.close()
        sim.terminate()
        sim.wait(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routes", type=int, action="append", help="default: 1000, 10000, 100000")
    ap.add_argument("--shape", choices=["packed", "single"], action="append", help="default packed")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each row (default 1)")
    ap.add_argument("--gc-default", action="store_true", help="CPython's GC thresholds")
    ap.add_argument(
        "--unpaced",
        action="store_true",
        help="BGP's reader as it was: 64 KiB reads, no back-pressure from the writer",
    )
    ap.add_argument("--smoke", action="store_true", help="100 routes: checks it runs")
    args = ap.parse_args()
    if args.smoke:
        args.routes = [100]
    if args.unpaced:
        aio.READ_SIZE = 65536
    routes = args.routes or [1000, 10000, 100000]
    program = ROOT / "p4src" / "cpe.p4"
    defines = {"CPU_PORT": "255", "CRYPTO_PORT": "254"}
    most = max(routes) + 1024  # the C-PE's own routes too
    if most > 16384:  # the program's vrf_fib_v4 default; a bigger VPN needs a bigger table
        defines["VRF_FIB_V4_SIZE"] = str(most)
        print(f"(p4src/cpe.p4 built with VRF_FIB_V4_SIZE={most})")
    pipe = Pipeline(compile_p4info(program, defines), p4sim_bundle(program, defines), 1)
    print("seconds from t0 (the burst on the C-PE's socket) to the end of the write round")
    print("carrying each route; BGP/compose/write: the C-PE's CPU seconds in its speaker core,")
    print("composer and the rest (writer, loop); GC: CPU seconds of the garbage collector,")
    print("included in those; switch: p4sim's CPU seconds; load: 1-minute load average after")
    print(
        f"{'routes':>7} {'shape':>6} {'UPDATEs':>8} {'median':>7} {'p99':>7} {'all':>7}"
        f" {'rounds':>6} {'BGP':>6} {'compose':>7} {'write':>6} {'RPC wall':>8} {'GC':>6}"
        f" {'switch':>6} {'load':>5}"
    )
    for n in routes:
        for shape in args.shape or ["packed"]:
            for _ in range(args.repeat):
                r = asyncio.run(run(n, shape, pipe, args.gc_default, not args.unpaced))
                print(
                    f"{n:>7} {shape:>6} {r['updates']:>8.0f} {r['median_s']:>7.3f}"
                    f" {r['p99_s']:>7.3f} {r['all_s']:>7.3f} {r['rounds']:>6.0f}"
                    f" {r['bgp_s']:>6.3f} {r['compose_s']:>7.3f} {r['write_s']:>6.3f}"
                    f" {r['rpc_s']:>8.3f} {r['gc_s']:>6.3f} {r['switch_s']:>6.2f}"
                    f" {os.getloadavg()[0]:>5.1f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
