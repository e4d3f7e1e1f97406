#!/usr/bin/env python3
"""Packets per second of the C-PE program on p4sim, with the ESP engine on the crypto port.

    benchmarks/cpe_pps.py [--seconds S]

Red -> black (VRF lookup, label push, MPLS-in-IP, ESP encrypt, second pass,
black routing) and black -> red (ESP decrypt, SA/tunnel check, label pop,
VRF lookup), for 64-octet and 1400-octet Ethernet frames. Each pass is the
whole in-process path: P4Runtime-configured p4sim Device -> crypto port ->
ESP engine -> Device again. Prints one line per case; figures depend on this
machine and are not asserted anywhere.
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scapy.layers.l2 import Ether

from bmv2_tests.lib.cpe import (
    BLACK,
    BLACK_GW_MAC,
    RED_A1,
    V4,
    VRF_A,
    Cpe,
    host_mac,
    router_mac,
)
from bmv2_tests.lib.inproc import InProcessSwitch
from bmv2_tests.lib.packets import eth, mpls_in_ip, tenant_ip

LABEL = 100


def sized_tenant_packet(frame_len: int, dst: str, src: str, ttl: int = 64) -> object:
    overhead = len(eth("00:00:00:00:00:00", "00:00:00:00:00:00", tenant_ip(4, src, dst, ttl, b"")))
    return tenant_ip(4, src, dst, ttl, b"p" * max(0, frame_len - overhead))


def run(
    name: str, size: int, frame: bytes, port: int, switch: InProcessSwitch, seconds: float
) -> None:
    want = BLACK if port == RED_A1 else RED_A1
    got = switch.send(port, frame)
    if [p for p, _ in got] != [want]:
        raise SystemExit(f"{name}: expected one frame out of port {want}, got {got!r}")
    black_len = len(got[0][1]) if port == RED_A1 else len(frame)
    sent, delivered, start = 0, 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(100):
            delivered += len(switch.send(port, frame))
        sent += 100
    if delivered != sent:
        raise SystemExit(f"{name}: only {delivered} of {sent} frames came out of port {want}")
    print(
        f"{name:<22} tenant {size:>4} B  black {black_len:>4} B  {sent / elapsed:8.0f} pkt/s"
        f"  ({sent} in {elapsed:.2f}s)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=2.0, help="time per case")
    ap.add_argument(
        "--smoke", action="store_true", help="tiny sizes, about a second: checks that it runs"
    )
    args = ap.parse_args()
    if args.smoke:
        args.seconds = 0.1

    switch = InProcessSwitch()
    cpe = Cpe(switch, None, switch.crypto)  # type: ignore[arg-type]
    cpe.set_up_vrf_a(V4)
    cpe.set_up_black(V4)
    # Anti-replay off on the inbound SA so one ESP frame can be resent; the
    # window check is a few integer operations and does not change the figure.
    tunnel = cpe.set_up_tunnel(V4, replay_window=0)
    cpe.set_up_remote_route(V4, VRF_A, V4.remote_net, LABEL, tunnel.tunnel_id)
    cpe.set_up_vpn_label(LABEL, VRF_A)

    print(f"p4sim in-process, p4src/cpe.p4, AES-GCM-128 transport mode, {args.seconds}s per case")
    for size in (64, 1400):
        ip = sized_tenant_packet(size, V4.remote_host, V4.tenant_host1)
        frame = eth(host_mac(RED_A1), router_mac(RED_A1), ip)
        run("red->black (encrypt)", size, frame, RED_A1, switch, args.seconds)
        inner = sized_tenant_packet(size, V4.tenant_host1, V4.remote_host, ttl=30)
        plain = mpls_in_ip(4, V4.peer_loopback, V4.our_loopback, LABEL, inner)
        esp = tunnel.in_sa.encrypt(plain)
        esp_frame = bytes(Ether(src=BLACK_GW_MAC, dst=router_mac(BLACK)) / esp)
        run("black->red (decrypt)", size, esp_frame, BLACK, switch, args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
