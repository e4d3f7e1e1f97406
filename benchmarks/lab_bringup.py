#!/usr/bin/env python3
"""Lab bring-up and tear-down time (root).

    sudo benchmarks/lab_bringup.py [--topology FILE] [--runs 5] [--daemons]
                                   [--target p4sim|bmv2]

Each run: `lab up` (namespaces, veths, underlay routes, configuration
generation and checks; then either one static C-PE data plane per site, up
when each forwards, or with --daemons the five sl3vpn cpe/rr daemons, up
when every red BGP session, C-PE to C-PE SA and VPN route is in place); then the
first IPv4 ping between two sites of one tenant that succeeds (time to first
tenant packet through ESP); then `lab down`. Prints each run and the median.
With --target bmv2 every node runs simple_switch_grpc (its compile is cached
after the first run, so run 1 includes p4c-bm2-ss unless the cache is warm).
Figures depend on this machine and its load; nothing here is asserted.
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from controller.lab.lab import down, plan_of, up
from controller.lab.netns import Netns
from controller.lab.plan import make_plan
from controller.lab.topology import load_topology

REPO = Path(__file__).resolve().parents[1]


def first_ping(prefix: str, limit: float = 10.0) -> float:
    """Seconds until the first tenant ping between two sites succeeds."""
    _, _, plan = plan_of(prefix)
    src_cpe, src = plan.hosts()[0]
    dst = next(r for c, r in plan.hosts() if c is not src_cpe and r.site.tenant == src.site.tenant)
    argv = Netns(src.host_ns).exec_argv(["ping", "-c", "1", "-W", "0.2", str(dst.site.host)])
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if subprocess.run(argv, capture_output=True).returncode == 0:
            return time.monotonic() - t0
    raise SystemExit(f"no tenant ping from {src.host_ns} within {limit}s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--topology", default=str(REPO / "examples" / "lab-default.yml"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument(
        "--daemons",
        action="store_true",
        help="run sl3vpn cpe/rr (up = every BGP session, SA and VPN route in place)",
    )
    ap.add_argument("--target", choices=("p4sim", "bmv2"), default="p4sim")
    ap.add_argument("--smoke", action="store_true", help="one run: checks that it runs")
    args = ap.parse_args()
    if args.smoke:
        args.runs = 1
    if os.geteuid() != 0:
        raise SystemExit("lab_bringup: needs root (network namespaces)")
    os.environ.setdefault("SL3VPN_LAB_RUN", tempfile.mkdtemp(prefix="sl3vpn-bench-"))
    ups, pings, downs = [], [], []
    for i in range(args.runs):
        prefix = f"bench{os.getpid()}r{i}"
        t0 = time.monotonic()
        up(args.topology, prefix, progress=lambda _m: None, daemons=args.daemons,
           target=args.target)  # fmt: skip
        t1 = time.monotonic()
        try:
            ping = first_ping(prefix)
        finally:
            t2 = time.monotonic()
            down(prefix, progress=lambda _m: None)
            t3 = time.monotonic()
        ups.append(t1 - t0)
        pings.append(ping)
        downs.append(t3 - t2)
        print(f"run {i + 1}: up {ups[-1]:.2f}s, first tenant ping after {ping:.3f}s, "
              f"down {downs[-1]:.2f}s", flush=True)  # fmt: skip
    plan = make_plan(load_topology(args.topology), "count")
    print(
        f"{Path(args.topology).name}: {len(plan.namespaces)} namespaces, {len(plan.links)} links, "
        f"{'daemons' if args.daemons else 'static data plane'} on {args.target}; "
        f"median of {args.runs}: "
        f"up {statistics.median(ups):.2f}s "
        f"(min {min(ups):.2f}, max {max(ups):.2f}), first ping +{statistics.median(pings):.3f}s, "
        f"down {statistics.median(downs):.2f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
