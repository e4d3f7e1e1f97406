#!/usr/bin/env python3
"""Convergence: from a BGP UPDATE arriving at a C-PE to its P4 entries written.

The C-PE's path is the daemon's: the BGP speaker core parses the UPDATE and
resolves each VPN route (red loopback route, Tunnel Encapsulation attribute),
the composer turns RouteEvents into desired state, the writer takes the
entries that changed (``DesiredState.changes()``), diffs them against the last
write and writes the difference over P4Runtime to p4sim running
``p4src/cpe.p4`` as a separate process (as in the product).

A remote C-PE announces N VPN-IPv4 routes at once through a route reflector
(sans-I/O cores pumped in process; the remote and the RR are not timed). For
each route: t_written (the Write that carried its entry returned) minus
t_arrival (the UPDATE carrying it was handed to the receiving core). The
daemon's writer coalesces: one write round per burst of UPDATEs, here one per
``--batch`` UPDATEs.

    benchmarks/convergence.py            # N = 1000 and 10000
    benchmarks/convergence.py --routes 1000 --batch 8
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split
import argparse
import asyncio
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

from bgp_pump import A, B, vpn_trio  # noqa: E402

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
from controller.config import parse  # noqa: E402

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def run(n: int, batch: int, pipe: Pipeline) -> dict[str, float]:
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
        net = vpn_trio()
        b = net.node(B)
        b.route_events()
        arrivals: list[tuple[float, list[object]]] = []
        original = b.data_received

        def timed(peer, conn, data, now):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            original(peer, conn, data, now)
            arrivals.append((t, b.route_events()))

        b.data_received = timed
        a = net.node(A)
        base = int(ipaddress.IPv4Address("172.16.0.0"))
        for i in range(n):
            a.add_vrf_route("blue", ipaddress.ip_network((base + 256 * i, 24)), net.now)
        net.settle()  # delivers A -> RR -> B; B's work per UPDATE is recorded above
        latencies: list[float] = []
        write_time = 0.0
        for start in range(0, len(arrivals), batch):
            chunk = arrivals[start : start + batch]
            for _t, events in chunk:
                for ev in events:
                    comp.route_event(ev)  # type: ignore[arg-type]
            w0 = time.perf_counter()
            await writer.write(client, state)  # what the daemon's writer does
            done = time.perf_counter()
            write_time += done - w0
            for t, events in chunk:
                latencies += [done - t] * sum(1 for e in events if not e.local)  # type: ignore[attr-defined]
        await client.close()
        remote = [e for e in state.entries() if e.action == "route_remote"]
        assert len(remote) == n, f"{len(remote)} of {n} routes written"
        latencies.sort()
        return {
            "routes": n,
            "updates": len(arrivals),
            "median_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
            "max_ms": latencies[-1] * 1000,
            "write_s": write_time,
            "rpc_s": writer.rpc_seconds,
        }
    finally:
        sim.terminate()
        sim.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routes", type=int, action="append")
    ap.add_argument(
        "--batch", type=int, action="append", help="UPDATEs per write round (default: all, 100)"
    )
    ap.add_argument("--smoke", action="store_true", help="100 routes, one round: checks it runs")
    args = ap.parse_args()
    if args.smoke:
        args.routes, args.batch = [100], [1 << 30]
    program = ROOT / "p4src" / "cpe.p4"
    defines = {"CPU_PORT": "255", "CRYPTO_PORT": "254"}
    pipe = Pipeline(compile_p4info(program, defines), p4sim_bundle(program, defines), 1)
    print(
        f"{'routes':>7} {'UPDATEs':>8} {'per write':>9} {'median ms':>10} {'p99 ms':>8}"
        f" {'max ms':>8} {'write s':>8} {'of it RPC s':>11}"
    )
    for n in args.routes or [1000, 10000]:
        for batch in args.batch or [1 << 30, 100]:
            r = asyncio.run(run(n, batch, pipe))
            per = "all" if batch >= n else str(batch)
            print(
                f"{r['routes']:>7} {r['updates']:>8} {per:>9} {r['median_ms']:>10.1f}"
                f" {r['p99_ms']:>8.1f} {r['max_ms']:>8.1f} {r['write_s']:>8.2f}"
                f" {r['rpc_s']:>11.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
