"""Fuzz our BGP and IKE listeners over real sockets (issue 14, "a hostile peer").

    sudo .venv/bin/python -m tests.fuzz.run --bgp 100000 --ike 100000 [--seed 1]

Runs in a fresh network namespace of its own (``unshare --net``; root needed),
starts each listener as a separate process (``targets.py``), drives it with
mutated messages (``drivers.py``, ``mutate.py``) while a good peer keeps its
session, and prints what was tried and what happened: inputs sent, the good
session's drops, internal errors and tracebacks of the target, its memory at
the start and end. Exit status 1 if the target failed (crashed, traceback,
internal error, good session lost).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.fuzz import drivers, targets

ROOT = Path(__file__).resolve().parents[2]
BGP_PORT = 1179


def _in_own_netns(argv: list[str]) -> int | None:
    """Re-run under ``unshare --net`` once; None when already there."""
    if os.environ.get("SL3VPN_FUZZ_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        for net in ("127.0.0.0/8",):
            subprocess.run(["ip", "route", "replace", "local", net, "dev", "lo"], check=False)
        return None
    env = {**os.environ, "SL3VPN_FUZZ_NETNS": "1"}
    cmd = ["unshare", "--net", sys.executable, "-m", "tests.fuzz.run", *argv]
    return subprocess.run(cmd, env=env, cwd=ROOT).returncode


class Target:
    def __init__(self, kind: str, workdir: Path) -> None:
        self.status = workdir / f"{kind}.json"
        self.stderr = workdir / f"{kind}.err"
        args = ["target", kind, "--status", str(self.status), "--port", str(BGP_PORT)]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz.run", *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.stderr.open("w"),
            text=True,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "READY":
            raise SystemExit(f"{kind} target did not start: {self.stderr.read_text()[-2000:]}")

    def read(self) -> dict[str, Any]:
        time.sleep(0.6)
        return json.loads(self.status.read_text())

    def stop(self) -> tuple[int | None, str]:
        alive = self.proc.poll() is None
        self.proc.terminate()
        self.proc.wait(timeout=10)
        return (None if alive else self.proc.returncode), self.stderr.read_text()


def fuzz(kind: str, total: int, seed: int, workdir: Path) -> dict[str, Any]:
    target = Target(kind, workdir)
    time.sleep(1.0)
    before = target.read()
    rng = random.Random(seed)
    if kind == "bgp":
        out = asyncio.run(drivers.bgp(BGP_PORT, total, rng, target.read))
    else:
        out = asyncio.run(drivers.ike(total, rng, target.read))
    after = out.target_at_end
    died, stderr = target.stop()
    tracebacks = stderr.count("Traceback")
    report = {
        "kind": kind,
        "inputs": out.sent,
        "seconds": round(out.seconds, 1),
        "connections": out.connections,
        "not_sent": out.connect_errors,  # connect refused, or UDP socket buffer full
        "good_session_drops": out.good_drops,
        "good_checks": out.good_checks,
        "target_exit_during_run": died,
        "tracebacks": tracebacks,
        "internal_errors": after.get("errors", {}),
        "rss_kb_before": before["rss_kb"],
        "rss_kb_after": after["rss_kb"],
        "target_after": {k: v for k, v in after.items() if k not in ("errors", "rss_kb")},
        "mutations": dict(sorted(out.tried.items())),
    }
    report["ok"] = (
        died is None and tracebacks == 0 and not report["internal_errors"] and out.good_drops == 0
    )
    return report


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz.run")
    sub = p.add_subparsers(dest="cmd")
    t = sub.add_parser("target")
    t.add_argument("kind", choices=("bgp", "ike"))
    t.add_argument("--status", type=Path, required=True)
    t.add_argument("--port", type=int, default=BGP_PORT)
    p.add_argument("--bgp", type=int, default=0, help="BGP messages to send")
    p.add_argument("--ike", type=int, default=0, help="IKE datagrams to send")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, help="write the reports here too")
    args = p.parse_args(argv)
    if args.cmd == "target":
        coro = (
            targets.bgp(args.port, args.status) if args.kind == "bgp" else targets.ike(args.status)
        )
        asyncio.run(coro)
        return 0
    code = _in_own_netns(argv)
    if code is not None:
        return code
    reports = []
    with tempfile.TemporaryDirectory(prefix="sl3vpn-fuzz-draft-") as tmp:
        for kind in ("bgp", "ike"):
            n = getattr(args, kind)
            if n:
                reports.append(fuzz(kind, n, args.seed, Path(tmp)))
    for r in reports:
        print(json.dumps({k: v for k, v in r.items() if k != "mutations"}, indent=1))
        print(f"{r['kind']} mutations tried: {r['mutations']}")
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1))
    return 0 if all(r["ok"] for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
