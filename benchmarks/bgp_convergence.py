#!/usr/bin/env python3
"""Receive and best-path N VPN-IPv4 routes: our speaker vs GoBGP, same feed, same run.

A feeder session (our wire codecs, pre-encoded UPDATEs: 4096-octet messages,
one RD per route, RT 65000:100, one label each) sends N routes followed by
End-of-RIB, first to our asyncio speaker, then to gobgpd. The time runs from
the first UPDATE octet sent to the moment the receiver's Loc-RIB holds all N
destinations (ours: checked in-process every 10 ms; GoBGP: `gobgp global rib
summary` polled every 200 ms, so GoBGP's figure can be up to 0.2 s high).
Memory per route is the RSS growth of the receiving process divided by N.
CPU is the receiver's own over the same span (ours: the speaker's thread;
gobgpd: all its threads, /proc/PID/stat): on a shared machine the wall-clock
ratio swings with the load, the CPU ratio much less.

GoBGP runs in its own network namespace (needs root, like the interop tests).

Usage: sudo benchmarks/bgp_convergence.py [--routes 100000] [--skip-gobgp] [--smoke]
(--smoke: 300 routes, a few seconds; it only checks that both halves run.)
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split
import argparse
import asyncio
import ipaddress
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "interop"))

from controller.bgp import convert
from controller.bgp.aio import BgpSpeaker
from controller.bgp.config import NeighborConfig, SpeakerConfig
from controller.bgp.negotiate import Negotiated
from controller.bgp.path import VPNV4, Attrs, Color, Nlri
from controller.bgp.wire.attributes.ext_communities import ExtCommunity
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.nlri.rd import RouteDistinguisher


def build_feed(n: int) -> bytes:
    """N VPN-IPv4 routes as UPDATE messages (plus the End-of-RIB marker)."""
    attrs = Attrs(
        next_hop=ipaddress.ip_address("10.255.0.9"),
        local_pref=100,
        ext_communities=(ExtCommunity.route_target("65000:100"),),
    )
    routes = []
    for i in range(n):
        rd = RouteDistinguisher.parse(f"65000:{i // 65536 + 1}")
        net = ipaddress.ip_network(((10 << 24) | (i << 8), 24))
        routes.append((Nlri(VPNV4, net, rd), attrs, (16 + i % 1000,)))
    ctx = CodecContext()
    neg = Negotiated(frozenset({VPNV4}), True, True, True, False, None, frozenset({VPNV4}), ctx)
    msgs = [*convert.encode_updates(routes, [], neg), convert.end_of_rib(VPNV4)]
    return b"".join(m.encode(ctx) for m in msgs)


def rss_kib(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def feeder(sock: socket.socket, src: str) -> object:
    from peers.rawbgp import RawSpeaker

    from controller.bgp.wire.constants import Family

    sp = RawSpeaker(sock, 65000, src, (Family(1, 128),))
    sp.establish()
    return sp


def cpu_secs(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Result(NamedTuple):
    secs: float  # wall clock, first octet sent to all N routes in the Loc-RIB
    cpu: float  # the receiver's CPU seconds over that span
    mem: float  # RSS growth per route, octets


def run_ours(feed: bytes, n: int) -> Result:
    ready = threading.Event()
    done = threading.Event()
    box: dict[str, object] = {}
    stop = threading.Event()

    async def main() -> None:
        cfg = SpeakerConfig(
            65000,
            ipaddress.ip_address("10.255.255.1"),
            neighbors=(
                NeighborConfig(
                    ipaddress.ip_address("127.0.0.1"),
                    65000,
                    Color.RED,
                    passive=True,
                    families=(VPNV4,),
                ),
            ),
        )
        sp = BgpSpeaker(cfg, listen_host="127.0.0.2", listen_port=0)
        box["rss0"] = rss_kib()
        await sp.start()
        sp.set_transport_protected(ipaddress.ip_address("127.0.0.1"), True)
        box["port"] = sp.port
        box["cpu0"] = time.thread_time()
        ready.set()
        while len(sp.core.red) < n:
            await asyncio.sleep(0.01)
        box["t_end"] = time.perf_counter()
        box["cpu1"] = time.thread_time()
        box["rss1"] = rss_kib()
        done.set()
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await sp.stop()

    th = threading.Thread(target=lambda: asyncio.run(main()))
    th.start()
    ready.wait(10)
    sock = socket.create_connection(
        ("127.0.0.2", int(box["port"])), source_address=("127.0.0.1", 0)
    )  # type: ignore[call-overload]
    sp = feeder(sock, "127.0.0.1")
    t0 = time.perf_counter()
    sock.sendall(feed)
    done.wait(600)
    stop.set()
    th.join(30)
    sp.close()  # type: ignore[attr-defined]
    secs = float(box["t_end"]) - t0  # type: ignore[arg-type]
    kib = int(box["rss1"]) - int(box["rss0"])  # type: ignore[call-overload]
    cpu = float(box["cpu1"]) - float(box["cpu0"])  # type: ignore[arg-type]
    return Result(secs, cpu, kib * 1024 / n)


def run_gobgp(feed: bytes, n: int, limit: float) -> Result:
    from peers.daemon import Neighbor, PeerSpec
    from peers.gobgp import GoBgp
    from peers.netns import make_lab

    lab = make_lab("bench", n_us=1)
    daemon = None
    try:
        spec = PeerSpec(
            65000, lab.peer_ip, lab.peer_ip, [Neighbor(lab.us_ips[0], 65000, ("vpnv4",))]
        )
        daemon = GoBgp(lab.peer, spec, Path(tempfile.mkdtemp(prefix="bgpbench-")))
        daemon.start()
        assert daemon.proc is not None
        gobgp_pid = daemon.proc.pid  # `ip netns exec` became gobgpd itself
        rss0 = rss_kib(gobgp_pid)
        sock = lab.us.tcp_connect(lab.us_ips[0], lab.peer_ip, 179)
        sp = feeder(sock, lab.us_ips[0])
        cpu0 = cpu_secs(gobgp_pid)
        t0 = time.perf_counter()
        sock.sendall(feed)
        while True:
            out = daemon.cli("global", "rib", "summary", "-a", "vpnv4")
            if f"Destination: {n}," in out or f"Destination: {n}\n" in out:
                break
            if time.perf_counter() - t0 > limit:
                raise SystemExit(f"gobgp: not all {n} routes after {limit:.0f} s: {out.strip()}")
            time.sleep(0.2)
        secs = time.perf_counter() - t0
        cpu = cpu_secs(gobgp_pid) - cpu0
        rss1 = rss_kib(gobgp_pid)
        sp.close()  # type: ignore[attr-defined]
        return Result(secs, cpu, (rss1 - rss0) * 1024 / n)
    finally:
        if daemon is not None:
            daemon.stop()
        lab.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--routes", type=int, default=100_000)
    ap.add_argument("--skip-gobgp", action="store_true")
    ap.add_argument("--smoke", action="store_true", help="300 routes: checks that it runs")
    args = ap.parse_args()
    n = 300 if args.smoke else args.routes
    t = time.perf_counter()
    feed = build_feed(n)
    print(
        f"feed: {n} VPN-IPv4 routes, {len(feed)} octets, built in {time.perf_counter() - t:.2f} s"
    )
    ours = run_ours(feed, n)
    show("ours ", ours, n)
    if args.skip_gobgp:
        return 0
    if os.geteuid() != 0 or shutil.which("gobgpd") is None:
        print("gobgp: skipped: needs root and gobgpd (Debian package gobgpd)")
        return 0
    gob = run_gobgp(feed, n, limit=60 + n / 100)
    show("gobgp", gob, n)
    # a small feed may not grow the RSS (or use a clock tick of CPU): no ratio then
    memory = f"{ours.mem / gob.mem:.2f}x" if gob.mem > 0 else "n/a"
    cpu = f"{ours.cpu / gob.cpu:.2f}x" if gob.cpu > 0 else "n/a"
    print(f"ratio ours/gobgp time: {ours.secs / gob.secs:.2f}x   CPU: {cpu}   memory: {memory}")
    return 0


def show(who: str, r: Result, n: int) -> None:
    print(
        f"{who}: {r.secs:7.2f} s  {n / r.secs:9.0f} routes/s  CPU {r.cpu:6.2f} s  "
        f"{r.mem:6.0f} B/route (RSS growth)"
    )


if __name__ == "__main__":
    sys.exit(main())
