#!/usr/bin/env python3
"""The C-PE program on p4sim and on BMv2, same run: packets/s over veth and P4Runtime writes/s.

    sudo benchmarks/cpe_targets.py [--seconds 3] [--rate PPS] [--targets p4sim,bmv2]
                                   [--entries 10000] [--smoke]

In a throw-away network namespace each target in turn runs ``p4src/cpe.p4``
on veth ports (red port 1, black port 5, the crypto port 254 wired to the
ESP engine process, as the daemon runs it), configured over P4Runtime with
the packet suite's helpers (VRF A, black default route, one IPv4 tunnel with
AES-GCM-128; anti-replay off so one ESP frame can be resent). This process
blasts frames into the red or black veth and counts what comes out of the
other:

* red -> black: tenant frames of 64 and 1400 octets, counted as ESP on black;
* black -> red: the peer's ESP of such frames, counted as tenant frames on red.

Then P4Runtime: 10,000 ``vrf_fib_v4`` entries inserted in writes of 1,000,
then deleted the same way (entries/s). BMv2 comes from p4c-bm2-ss and
simple_switch_grpc in ``$SL3VPN_P4_PREFIX/bin`` or on PATH; a missing tool
skips that target with a line saying so. Figures only, nothing asserted.
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _cpe_launch import IFACES, Switch, start_engine, start_switch  # type: ignore[import-not-found]
from scapy.layers.l2 import Ether

from bmv2_tests.lib.cpe import BLACK, BLACK_GW_MAC, RED_A1, V4, VRF_A, Cpe, host_mac, router_mac
from bmv2_tests.lib.packets import eth, mpls_in_ip, tenant_ip
from controller.p4rt import TableEntry

LABEL = 100
MARK = b"CPEBENCH"
BATCH = 1_000


def tenant(size: int, src: str, dst: str, ttl: int = 64) -> object:
    base = len(eth("00:00:00:00:00:00", "00:00:00:00:00:00", tenant_ip(4, src, dst, ttl, b"")))
    return tenant_ip(4, src, dst, ttl, MARK + b"p" * max(0, size - base - len(MARK)))


def blast(
    tx_if: str, rx_if: str, frame: bytes, want: bytes, seconds: float, rate: float
) -> tuple[int, int, float]:
    """Send ``frame`` for ``seconds`` (paced at ``rate`` pkt/s, or as fast as the socket
    takes it when 0); count the frames on ``rx_if`` that contain ``want``. Returns sent,
    received and the time from the first send to the last frame received (at least
    ``seconds``): what the switch still delivers after sending stops is part of its rate."""
    import socket
    import threading

    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    tx.bind((tx_if, 0))
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    rx.bind((rx_if, 0))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    rx.settimeout(0.3)
    got, last, done = 0, 0.0, threading.Event()

    def receive() -> None:
        nonlocal got, last
        while not done.is_set():
            try:
                data = rx.recv(4096)
            except TimeoutError:
                continue
            if want in data:
                got += 1
                last = time.perf_counter()

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    start = time.perf_counter()
    sent, end = 0, start + seconds
    while (now := time.perf_counter()) < end:
        if rate and sent >= (now - start) * rate:
            time.sleep(0.0005)  # paced: let the schedule catch up
            continue
        for _ in range(16):
            try:
                tx.send(frame)
                sent += 1
            except OSError:  # queue full: only what left counts
                pass
    time.sleep(1.0)  # what the switch and engine still hold
    done.set()
    thread.join()
    tx.close()
    rx.close()
    return sent, got, max(seconds, last - start)


def traffic(sw: Switch, cpe: Cpe, seconds: float, rate: float) -> None:
    tunnel = cpe.set_up_tunnel(V4, replay_window=0)
    cpe.set_up_remote_route(V4, VRF_A, V4.remote_net, LABEL, tunnel.tunnel_id)
    cpe.set_up_vpn_label(LABEL, VRF_A)
    spi = tunnel.out_params.spi.to_bytes(4, "big")
    red, black = IFACES[RED_A1][1], IFACES[BLACK][1]
    for size in (64, 1400):
        ip = tenant(size, V4.tenant_host1, V4.remote_host)
        frame = eth(host_mac(RED_A1), router_mac(RED_A1), ip)  # type: ignore[arg-type]
        got = blast(red, black, frame, spi, seconds, rate)
        report(sw.kind, f"red->black {size:>4} B", seconds, *got)
        inner = tenant(size, V4.remote_host, V4.tenant_host1, ttl=30)
        esp = tunnel.in_sa.encrypt(mpls_in_ip(4, V4.peer_loopback, V4.our_loopback, LABEL, inner))
        frame = bytes(Ether(src=BLACK_GW_MAC, dst=router_mac(BLACK)) / esp)
        got = blast(black, red, frame, MARK, seconds, rate)
        report(sw.kind, f"black->red {size:>4} B", seconds, *got)


def report(kind: str, case: str, seconds: float, sent: int, got: int, span: float) -> None:
    print(
        f"{kind:<6} {case}: offered {sent / seconds:9,.0f} pkt/s, delivered {got / span:9,.0f}"
        f" pkt/s ({got} of {sent} frames; sent for {seconds:.1f} s, last out at {span:.1f} s)",
        flush=True,
    )


def writes(sw: Switch, cpe: Cpe, entries_n: int) -> None:
    """10,000 LPM routes in writes of 1,000: insert, then delete."""
    nh = 1  # set_up_vrf_a's first next hop (RED_A1)
    entries = [
        TableEntry(
            "vrf_fib_v4",
            {"vrf_id": VRF_A, "ipv4_dst": f"11.{i >> 8}.{i & 255}.0/24"},
            "route_local",
            {"nexthop_id": nh},
        )
        for i in range(entries_n)
    ]
    batches = [entries[i : i + BATCH] for i in range(0, entries_n, BATCH)]
    for verb, call in (("insert", cpe.sw.insert), ("delete", cpe.sw.delete)):
        start = time.perf_counter()
        for batch in batches:
            call(batch)
        elapsed = time.perf_counter() - start
        print(
            f"{sw.kind:<6} P4Runtime {verb} {entries_n:,} entries in writes of {BATCH:,}:"
            f" {entries_n / elapsed:9,.0f} entries/s ({elapsed:.2f} s)",
            flush=True,
        )


def inside(kinds: list[str], seconds: float, rate: float, entries_n: int) -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)  # P4Runtime, engine socket
    for sw_if, peer_if in IFACES.values():
        veth = ["ip", "link", "add", sw_if, "type", "veth", "peer", "name", peer_if]
        subprocess.run(veth, check=True)
        for dev in (sw_if, peer_if):
            # No IPv6 on the links: the kernel's MLD/ND frames would be counted as traffic.
            subprocess.run(["sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1"], check=False)
            subprocess.run(["ip", "link", "set", dev, "up"], check=True)
    with tempfile.TemporaryDirectory(prefix="cpebench-") as tmp:
        for kind in kinds:
            try:
                sw = start_switch(kind, Path(tmp))
            except RuntimeError as exc:
                print(f"{kind:<6} not measured: {exc}", flush=True)
                continue
            engine = start_engine(Path(tmp) / f"{kind}-engine.sock")
            try:
                cpe = sw.cpe(engine.client)
                cpe.set_up_vrf_a(V4)
                cpe.set_up_black(V4)
                traffic(sw, cpe, seconds, rate)
                writes(sw, cpe, entries_n)
            finally:
                engine.stop()
                sw.stop()
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="time per traffic case")
    ap.add_argument("--rate", type=float, default=0, help="offered pkt/s (0: as fast as possible)")
    ap.add_argument("--targets", default="p4sim,bmv2", help="comma-separated: p4sim, bmv2")
    ap.add_argument("--netns", default=f"cpebench-{os.getpid()}", help="namespace name")
    ap.add_argument("--entries", type=int, default=10_000, help="P4Runtime entries written")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes: checks that it runs")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.smoke:
        args.seconds, args.entries = 0.3, BATCH
    kinds = [k.strip() for k in args.targets.split(",") if k.strip()]
    if args.inside:
        return inside(kinds, args.seconds, args.rate, args.entries)
    if os.geteuid() != 0:
        print("needs root (a network namespace with veth pairs)", file=sys.stderr)
        return 2
    subprocess.run(["ip", "netns", "add", args.netns], check=True)
    try:
        argv = ["ip", "netns", "exec", args.netns, sys.executable, __file__, "--inside"]
        argv += ["--seconds", str(args.seconds), "--rate", str(args.rate)]
        argv += ["--targets", ",".join(kinds), "--entries", str(args.entries)]
        return subprocess.run(argv, check=False).returncode
    finally:
        subprocess.run(["ip", "netns", "del", args.netns], check=False)


if __name__ == "__main__":
    sys.exit(main())
