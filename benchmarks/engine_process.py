#!/usr/bin/env python3
"""What running the ESP engine in its own process costs: control calls and crypto-port pps.

    sudo benchmarks/engine_process.py [--seconds 2]

In a throw-away network namespace with a veth pair (the crypto link), it
measures
  * control: installer calls per second, in process (``LockedEngine``) and over
    the engine-control socket to the engine process (``EngineClient``);
  * data path: ENCRYPT frames per second answered (result OK) on the veth (64 B
    and 1400 B MPLS-in-IP, AES-GCM-128, up to 32 frames in flight) by the engine process,
    and by ``AfPacketCryptoPort`` on a thread of this process (how the daemon
    ran it before, sharing the daemon's GIL; here it shares it with the
    sender). Frames are sent and counted on the switch side by this process.
Figures depend on the machine and its load; nothing is asserted.
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split
import argparse
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esp_engine import A, B, _frame, _rate  # type: ignore[import-not-found]

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.client import EngineClient
from controller.ipsec.esp.ports import AfPacketCryptoPort, LockedEngine
from controller.ipsec.installer import CipherSuite, Direction, SaInstaller, SaKeys, SaParams

SW, ENG = "bsw0", "beng0"
WINDOW = 32


def outbound(index: int) -> SaParams:
    keys = SaKeys(os.urandom(16), os.urandom(4))
    return SaParams(Direction.OUTBOUND, 0x1000 + index, index, A, B,
                    CipherSuite.AES_GCM_16_128, keys)  # fmt: skip


def control_rate(installer: SaInstaller, seconds: float) -> tuple[float, float]:
    """(add+delete pairs/s, counters calls/s)."""
    params = outbound(9)

    def add_delete() -> None:
        installer.add_sa(params)
        installer.delete_sa(9)

    installer.add_sa(outbound(1))
    counters = _rate(lambda: installer.counters(1), seconds / 2)
    pairs = _rate(add_delete, seconds / 2)
    installer.delete_sa(1)
    return pairs, counters


def pps(size: int, seconds: float) -> float:
    """ENCRYPT requests answered OK per second on the veth, WINDOW in flight.

    The sender takes every answer that is ready at once and sends as many new
    requests, so that its own per-frame cost is small next to the engine's. An
    answer with a non-zero result (a refusal, which costs the engine no crypto)
    stops the run with an error instead of being counted; frames that are no
    answer at all (the kernel's own IPv6 multicast) are ignored.
    """
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sock.bind((SW, 0))
    sock.setsockopt(263, 23, 1)  # PACKET_IGNORE_OUTGOING
    sock.setblocking(False)
    frame = cp.CryptoHeader(cp.Op.ENCRYPT, 1).encode() + _frame(A, B, bytes(size))
    buf = bytearray(65535)
    answered = 0
    for _ in range(WINDOW):
        sock.send(frame)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if not select.select([sock], [], [], 1.0)[0]:
            break
        ready = 0
        while True:
            try:
                got = sock.recv_into(buf)
            except BlockingIOError:
                break
            if got < cp.HEADER_LEN or buf[:2] != frame[:2]:
                continue  # not an answer (e.g. the kernel's IPv6 multicast on the veth)
            if buf[4] != cp.Result.OK:
                raise SystemExit(f"engine refused a request: {bytes(buf[: cp.HEADER_LEN]).hex()}")
            ready += 1
        answered += ready
        for _ in range(ready):
            sock.send(frame)
    rate = answered / (time.perf_counter() - start)
    sock.close()
    return rate


def measure(label: str, installer: SaInstaller, seconds: float) -> None:
    pairs, counters = control_rate(installer, seconds)
    print(f"{label:>18}: control {pairs:9,.0f} add+delete/s {counters:9,.0f} counters/s")
    installer.add_sa(outbound(1))
    for size in (64, 1400):
        print(f"{label:>18}: data {size:5d} B {pps(size, seconds):9,.0f} ENCRYPT frames/s")
    installer.delete_sa(1)


def inner(seconds: float) -> int:
    for argv in (["ip", "link", "add", SW, "type", "veth", "peer", "name", ENG],
                 ["ip", "link", "set", SW, "up"], ["ip", "link", "set", ENG, "up"]):  # fmt: skip
        subprocess.run(argv, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "engine.sock"
        proc = subprocess.Popen([sys.executable, "-m", "controller.ipsec.esp.process",
                                 "--interface", ENG, "--socket", str(path)],
                                stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            client = EngineClient(path)
            deadline = time.monotonic() + 10
            while not path.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            client.connect()
            measure("engine process", client, seconds)
            client.close()
        finally:
            proc.terminate()
            proc.wait()
    engine = LockedEngine(EspEngine())
    port = AfPacketCryptoPort(ENG, engine)
    port.start()
    measure("in-process thread", engine, seconds)
    port.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, about a second: checks that it runs"
    )
    args = parser.parse_args()
    if args.smoke:
        args.seconds = 0.1
    if args.inner:
        return inner(args.seconds)
    if os.geteuid() != 0:
        print("needs root (a network namespace with a veth pair)", file=sys.stderr)
        return 2
    ns = f"sl3vpn-bench-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        argv = ["ip", "netns", "exec", ns, sys.executable, __file__, "--inner"]
        argv += ["--seconds", str(args.seconds)]
        return subprocess.run(argv, check=False).returncode
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


if __name__ == "__main__":
    sys.exit(main())
