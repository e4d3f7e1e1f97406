#!/usr/bin/env python3
"""Hostile P4Runtime requests against p4sim's server (cpe.p4) over gRPC; counts per outcome.

    benchmarks/p4rt_fuzz.py                  # 100,000 inputs, then BMv2 side by side
    benchmarks/p4rt_fuzz.py --smoke          # 300 inputs, 200 compared
    benchmarks/p4rt_fuzz.py --inputs N --compare N --seed S

The switch is a separate ``sl3vpn p4sim run p4src/cpe.p4`` process; the attack
is tests/fuzz/p4rt_run.py (a good primary client keeps its stream, entries and
service, checked every 500 inputs). Printed: inputs per RPC and status code,
per mutation kind, failed checks, tracebacks/errors in the switch's log, its
RSS before and after, the duration.

``--compare N``: the same N structure-aware inputs (no pipeline pushes) to a
fresh p4sim and to simple_switch_grpc (BMv2, when the ``targets/bmv2``
launcher finds it), and the inputs whose status codes differ, by kind.
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split

import argparse
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from finsy.proto import p4r  # noqa: E402

from controller.p4rt import load_p4info  # noqa: E402
from targets.bmv2.switch import free_tcp_port  # noqa: E402
from tests.fuzz.p4rt_run import RPCS, Attack, rss_mb  # noqa: E402

CPE = ROOT / "p4src" / "cpe.p4"
LOGDIR = Path(tempfile.mkdtemp(prefix="p4rt_fuzz-"))


def start_p4sim(name: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_tcp_port("127.0.0.1")
    log = LOGDIR / f"{name}.log"
    argv = [sys.executable, "-m", "controller", "p4sim", "run", str(CPE), "--device-id", "1",
            "--cpu-port", "255", "--log-console", "--grpc-server-addr",
            f"127.0.0.1:{port}"]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    with grpc.insecure_channel(address) as ch:
        grpc.channel_ready_future(ch).result(timeout=120)
    return proc, address, log


def pipeline(address: str) -> p4r.ForwardingPipelineConfig:
    with grpc.insecure_channel(address) as ch:
        get = ch.unary_unary(
            "/p4.v1.P4Runtime/GetForwardingPipelineConfig",
            p4r.GetForwardingPipelineConfigRequest.SerializeToString,
            p4r.GetForwardingPipelineConfigResponse.FromString,
        )
        return get(p4r.GetForwardingPipelineConfigRequest(device_id=1), timeout=30).config


def log_problems(log: Path) -> int:
    text = log.read_text(errors="replace")
    return sum(text.count(w) for w in ("Traceback", " ERROR ", "internal error"))


def report(attack: Attack) -> None:
    for rpc in RPCS:
        codes = {c: n for (r, c), n in sorted(attack.outcomes.items()) if r == rpc}
        print(f"  {rpc}: {sum(codes.values())} inputs  {codes}")
    kinds: Counter[str] = Counter()
    for k, n in attack.kinds.items():
        kinds[k.split("/", 1)[1].split(":")[0] + ":" + k.split(":")[1].split("/")[0]] += n
    print("  kinds:", dict(kinds.most_common()))
    print(f"  failed checks: {len(attack.failures)}", attack.failures[:5])


def long_run(n: int, seed: int) -> None:
    proc, address, log = start_p4sim("long")
    try:
        cfg = pipeline(address)
        attack = Attack(address, cfg.p4info, cfg.p4_device_config, 1, seed)
        before, t0 = rss_mb(proc.pid), time.monotonic()
        attack.run(n)
        took = time.monotonic() - t0
        attack.close()
        alive = proc.poll() is None
        print(f"p4sim, cpe.p4, seed {seed}: {n} inputs in {took:.0f} s "
              f"({n / took:.0f}/s); switch alive: {alive}; "
              f"RSS {before:.1f} -> {rss_mb(proc.pid) if alive else 0:.1f} MB")  # fmt: skip
        report(attack)
        print(f"  tracebacks/errors in the switch log: {log_problems(log)} ({log})")
    finally:
        proc.terminate()
        proc.wait(10)


def compare(n: int, seed: int) -> None:
    try:
        from targets.bmv2 import Bmv2Switch, SwitchOptions, compile_program, missing_tools
    except ImportError:
        print("BMv2 comparison: skipped (targets/bmv2 is not on this branch)")
        return
    missing = missing_tools()
    if missing:
        print("BMv2 comparison: skipped:", "; ".join(missing))
        return
    art = compile_program(CPE)
    p4info = load_p4info(str(art.p4info_path))
    proc, address, _ = start_p4sim("compare")
    opts = SwitchOptions(grpc_address=f"127.0.0.1:{free_tcp_port('127.0.0.1')}", device_id=1,
                         cpu_port=255)  # fmt: skip
    bmv2 = Bmv2Switch(opts, LOGDIR / "bmv2.log").start()
    try:
        cfg = pipeline(address)
        same = cfg.p4info == p4info
        structural = tuple(r for r in RPCS if r != "SetForwardingPipelineConfig")
        trails = []
        for addr, info, conf, push in ((address, p4info,
                                        cfg.p4_device_config, False),
                                       (opts.grpc_address, p4info, art.json_path.read_bytes(),
                                        True)):  # fmt: skip
            attack = Attack(addr, info, conf, 1, seed, push=push)
            attack.inputs.bytes_share = 0.0
            attack.trail = []
            attack.run(n, rpcs=structural)
            attack.close()
            trails.append(attack.trail)
            print(f"  {'p4sim' if not push else 'bmv2'}: failed checks {len(attack.failures)}",
                  attack.failures[:3])  # fmt: skip
        apart = [i for i, (a, b) in enumerate(zip(*trails, strict=True)) if a[:2] != b[:2]]
        if apart:  # the inputs depend only on the seed and the P4Info's ids
            i = apart[0]
            print(f"  inputs differ from input {i}: {trails[0][i]} vs {trails[1][i]}")
        diff: Counter[tuple[str, str, str, str]] = Counter()
        for (rpc, kind, ours), (_, _, theirs) in zip(*trails, strict=True):
            if ours != theirs:
                diff[(rpc, kind, ours, theirs)] += 1
        print(f"BMv2 side by side, {n} structure-aware inputs (P4Info equal: {same}): "
              f"{sum(diff.values())} differ")  # fmt: skip
        for (rpc, kind, ours, theirs), k in diff.most_common(25):
            print(f"  {k:5d}  {rpc} {kind}: p4sim {ours}, bmv2 {theirs}")
    finally:
        bmv2.stop()
        proc.terminate()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="300 inputs, 200 compared")
    ap.add_argument("--inputs", type=int, default=100_000)
    ap.add_argument("--compare", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.smoke:
        args.inputs, args.compare = 300, 200
    long_run(args.inputs, args.seed)
    if args.compare:
        compare(args.compare, args.seed)


if __name__ == "__main__":
    main()
