#!/usr/bin/env python3
"""Packets/s delivered by p4sim over veth/AF_PACKET for a one-table IPv4 LPM program.

    sudo benchmarks/p4sim_ports.py [--seconds 3] [--size 64] [--rate PPS]

Builds a network namespace with two veth pairs (sw1-h1, sw2-h2), runs the
switch in its own process on sw1/sw2 (ports 1 and 2), blasts 64-byte IPv4
frames into h1 from this process and counts what arrives on h2. The switch
runs the LPM program below through the p4sim engine when it is available
(``--pipeline engine``); ``--pipeline state`` runs the same lookup written
directly against p4sim's table state (no P4 executor), to separate the cost
of the port path from the cost of the executor. Prints offered and delivered
packets/s.
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split
import argparse
import multiprocessing as mp
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LPM_P4 = r"""
#include <core.p4>
#include <v1model.p4>
header ethernet_t { bit<48> dst; bit<48> src; bit<16> ether_type; }
header ipv4_t {
    bit<4> version; bit<4> ihl; bit<8> tos; bit<16> total_len; bit<16> id;
    bit<3> flags; bit<13> frag; bit<8> ttl; bit<8> protocol; bit<16> csum;
    bit<32> src; bit<32> dst;
}
struct headers_t { ethernet_t eth; ipv4_t ipv4; }
struct meta_t { }
parser P(packet_in pkt, out headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    state start { pkt.extract(hdr.eth); transition select(hdr.eth.ether_type) {
        0x0800: ipv4; default: accept; } }
    state ipv4 { pkt.extract(hdr.ipv4); transition accept; }
}
control VC(inout headers_t hdr, inout meta_t m) { apply { } }
control I(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) {
    action drop() { mark_to_drop(sm); }
    action forward(bit<9> port) { sm.egress_spec = port; }
    table ipv4_lpm {
        key = { hdr.ipv4.dst: lpm; }
        actions = { forward; drop; }
        default_action = drop();
        size = 1024;
    }
    apply { if (hdr.ipv4.isValid()) { ipv4_lpm.apply(); } else { drop(); } }
}
control E(inout headers_t hdr, inout meta_t m, inout standard_metadata_t sm) { apply { } }
control CC(inout headers_t hdr, inout meta_t m) { apply { } }
control D(packet_out pkt, in headers_t hdr) { apply { pkt.emit(hdr.eth); pkt.emit(hdr.ipv4); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def _engine_device() -> object:
    from targets.p4sim.runtime.bundle import Bundle
    from targets.p4sim.runtime.device import Device
    from targets.p4sim.runtime.loader import load_engine
    from targets.p4sim.state import ActionCall, Lpm, TableEntry

    device = Device(load_engine)
    device.load_at_start(Bundle("main.p4", {"main.p4": LPM_P4}))
    assert device.pipeline is not None
    (table,) = device.pipeline.program.state.tables.values()
    action = next(a for a in table.actions if a.endswith("forward"))
    table.insert(TableEntry((Lpm(0x0A000000, 8),), ActionCall(action, (2,))))
    return device


def _state_device() -> object:
    """The same one-table LPM router, hand-written against p4sim's table state."""
    from targets.p4sim.runtime.device import Device, Pipeline
    from targets.p4sim.runtime.program import LoadedProgram, ProgramState
    from targets.p4sim.runtime.table_schema import Schemas
    from targets.p4sim.state import ActionCall, ActionSpec, KeyField, Lpm, MatchKind, Table
    from targets.p4sim.state import TableEntry as Entry

    table = Table(
        "I.ipv4_lpm", 1, [KeyField("hdr.ipv4.dst", 1, MatchKind.LPM, 32)],
        [ActionSpec("I.forward", 1, (("port", 9),)), ActionSpec("I.drop", 2, ())],
        ActionCall("I.drop"),
    )  # fmt: skip
    table.insert(Entry((Lpm(0x0A000000, 8),), ActionCall("I.forward", (2,))))

    def process(port: int, frame: bytes) -> list[tuple[int, bytes]]:
        if len(frame) < 34 or frame[12:14] != b"\x08\x00":
            return []
        hit = table.lookup((int.from_bytes(frame[30:34], "big"),))
        call = hit.action if hit is not None else table.default_entry.action
        return [(call.args[0], frame)] if call.action == "I.forward" else []

    from finsy.proto import p4i, p4r

    device = Device(lambda b: None)  # type: ignore[arg-type,return-value]
    program = LoadedProgram(p4i.P4Info(), ProgramState(tables={1: table}), process)
    schemas = Schemas(program.state.tables, {})
    device.pipeline = Pipeline(p4r.ForwardingPipelineConfig(), program, {}, {}, schemas)
    return device


def run_switch(kind: str, ready: Any, stop: Any) -> None:
    from targets.p4sim.runtime.ports import AfPacketPort, PortManager

    device = _engine_device() if kind == "engine" else _state_device()
    ports = PortManager(device)  # type: ignore[arg-type]
    device.emit = ports.emit  # type: ignore[attr-defined]
    ports.add(1, AfPacketPort(1, "sw1"))
    ports.add(2, AfPacketPort(2, "sw2"))
    ports.start()
    ready.set()
    stop.wait()
    ports.close()


def frame(size: int, seq: int) -> bytes:
    eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, size - 14, seq & 0xFFFF, 0, 64, 17, 0,
        bytes([192, 168, 0, 1]), bytes([10, 1, 2, 3]),
    )  # fmt: skip
    body = b"P4SIMBENCH" + struct.pack("!I", seq)
    return (eth + ip + body).ljust(size, b"\x00")


def measure(seconds: float, size: int, kind: str, rate: float) -> None:
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    sw = ctx.Process(target=run_switch, args=(kind, ready, stop), daemon=True)
    sw.start()
    deadline = time.monotonic() + 60
    while not ready.wait(0.2):
        if not sw.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the switch process did not start (see its error above)")
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    tx.bind(("h1", 0))
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    rx.bind(("h2", 0))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    rx.settimeout(0.5)
    got = 0
    done = threading.Event()

    def receive() -> None:
        nonlocal got
        while not done.is_set():
            try:
                data = rx.recv(2048)
            except TimeoutError:
                continue
            if b"P4SIMBENCH" in data:
                got += 1

    t = threading.Thread(target=receive, daemon=True)
    t.start()
    frames = [frame(size, i) for i in range(256)]
    sent = 0
    start = time.perf_counter()
    end = start + seconds
    while (now := time.perf_counter()) < end:
        if rate and sent >= (now - start) * rate:
            time.sleep(0.0005)  # paced: wait for the schedule to catch up
            continue
        for f in frames[:16]:
            try:
                tx.send(f)
                sent += 1
            except OSError:  # tx queue full: count only what left
                pass
    elapsed = time.perf_counter() - start
    time.sleep(1.0)  # drain what the switch still has queued
    done.set()
    t.join()
    stop.set()
    sw.join(5)
    print(
        f"p4sim AF_PACKET/veth, one-table LPM ({kind}), {size} B"
        f"{f', paced at {rate:,.0f} pps' if rate else ''}: "
        f"offered {sent / elapsed:,.0f} pps, delivered {got / elapsed:,.0f} pps "
        f"({got}/{sent} frames in {elapsed:.1f} s)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--pipeline", choices=["engine", "state", "both"], default="both")
    ap.add_argument("--rate", type=float, default=0, help="offered pps (0 = as fast as possible)")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument(
        "--smoke", action="store_true", help="tiny sizes, about a second: checks that it runs"
    )
    args = ap.parse_args()
    if args.smoke:
        args.seconds = 0.3
    kinds = ["engine", "state"] if args.pipeline == "both" else [args.pipeline]
    if args.inside:
        failed = 0
        for kind in kinds:
            try:
                measure(args.seconds, args.size, kind, args.rate)
            except Exception as exc:
                print(f"p4sim AF_PACKET/veth ({kind}): not measured: {exc}")
                failed += 1
        return 1 if failed else 0
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 1
    ns = f"p4simbench{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        for i in (1, 2):
            subprocess.run(
                ["ip", "-n", ns, "link", "add", f"sw{i}", "type", "veth", "peer", "name", f"h{i}"],
                check=True,
            )
            for dev in (f"sw{i}", f"h{i}"):
                subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
                subprocess.run(
                    [
                        "ip",
                        "netns",
                        "exec",
                        ns,
                        "sysctl",
                        "-qw",
                        f"net.ipv6.conf.{dev}.disable_ipv6=1",
                    ],
                    check=False,
                )
        cmd = [sys.executable, __file__, "--inside", "--seconds", str(args.seconds)]
        cmd += ["--size", str(args.size), "--pipeline", args.pipeline, "--rate", str(args.rate)]
        return subprocess.run(["ip", "netns", "exec", ns, *cmd], check=False).returncode
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


if __name__ == "__main__":
    sys.exit(main())
