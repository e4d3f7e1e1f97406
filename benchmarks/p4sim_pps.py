#!/usr/bin/env python3
"""p4sim in-process throughput and latency for a one-table IPv4 LPM router.

    benchmarks/p4sim_pps.py [--seconds 3] [--routes 1000]

Prints packets/s and per-packet latency (mean, p50, p99) for 64 B and 1400 B
frames, with the route table holding --routes /24 prefixes plus a /8. Also
prints the median rate over 1000-packet batches, which is what one core gives
when other processes on a shared machine do not preempt the benchmark.
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split
import argparse
import statistics
import time
from pathlib import Path

from targets.p4sim.program import load
from targets.p4sim.state import ActionCall, Lpm, TableEntry
from targets.p4sim.switch import Switch

ROUTER = Path(__file__).resolve().parent.parent / "tests/targets/p4sim/programs/ipv4_router.p4"


def ipv4_frame(size: int, dst: int) -> bytes:
    """Ethernet + IPv4 (valid checksum) + zero payload, `size` bytes in total."""
    total_len = size - 14
    hdr = bytearray(bytes.fromhex("450000000001000040110000c0a80001") + dst.to_bytes(4, "big"))
    hdr[2:4] = total_len.to_bytes(2, "big")
    s = sum(int.from_bytes(hdr[i : i + 2], "big") for i in range(0, 20, 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    hdr[10:12] = (~s & 0xFFFF).to_bytes(2, "big")
    eth = bytes.fromhex("0000000000010000000000020800")
    return eth + bytes(hdr) + bytes(size - 34)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--routes", type=int, default=1000)
    ap.add_argument(
        "--smoke", action="store_true", help="tiny sizes, about a second: checks that it runs"
    )
    args = ap.parse_args()
    if args.smoke:
        args.seconds, args.routes = 0.1, 10
    sw = Switch(load(ROUTER))
    t = sw.state.table("MyIngress.ipv4_lpm")
    fwd = "MyIngress.ipv4_forward"
    t.insert(TableEntry((Lpm(0x0A000000, 8),), ActionCall(fwd, (0x112233445566, 1))))
    for i in range(args.routes):
        t.insert(TableEntry((Lpm(0xC6000000 | (i << 8), 24),), ActionCall(fwd, (0xA, 2))))
    for size in (64, 1400):
        frame = ipv4_frame(size, 0xC6000105)
        assert sw.process(1, frame)[0][0] == 2, "benchmark frame must be forwarded"
        n = 0
        lat: list[float] = []
        start = time.perf_counter()
        end = start + args.seconds
        now = start
        while now < end:
            t0 = time.perf_counter()
            sw.process(1, frame)
            now = time.perf_counter()
            lat.append(now - t0)
            n += 1
        elapsed = now - start
        batches = sorted(1000 / sum(lat[i : i + 1000]) for i in range(0, len(lat) - 999, 1000))
        batch_rate = batches[len(batches) // 2] if batches else 0.0
        lat.sort()
        print(
            f"{size:5d} B: {n / elapsed:10.0f} packets/s  latency mean "
            f"{statistics.fmean(lat) * 1e6:6.1f} us  p50 {lat[len(lat) // 2] * 1e6:6.1f} us  "
            f"p99 {lat[int(len(lat) * 0.99)] * 1e6:6.1f} us  "
            f"({n} packets, {args.routes + 1} routes)"
        )
        print(f"        median over 1000-packet batches: {batch_rate:10.0f} packets/s")


if __name__ == "__main__":
    main()
