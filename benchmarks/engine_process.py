#!/usr/bin/env python3
"""What running the ESP engine in its own process costs: control calls and crypto-port pps.

    sudo benchmarks/engine_process.py [--seconds 2] [--window 32] [--plain-sender]
    sudo benchmarks/engine_process.py --pin --runs 5 [--baseline DIR]

In a throw-away network namespace with a veth pair (the crypto link), it
measures
  * control: installer calls per second, in process (``LockedEngine``) and over
    the engine-control socket to the engine process (``EngineClient``);
  * data path: ENCRYPT frames per second answered (result OK) on the veth (64 B
    and 1400 B MPLS-in-IP, AES-GCM-128, ``--window`` frames in flight) by the
    engine process, and by ``AfPacketCryptoPort`` on a thread of this process
    (how the daemon ran it before, sharing the daemon's GIL; here it shares it
    with the sender). Frames are sent and counted on the switch side by this
    process, through the same memory-mapped rings as the port where it can
    (``--plain-sender``: one send and one recv a frame); each line also gives
    the CPU time the engine (process or thread, from /proc) and the sender
    spent per answered frame, which a busy machine changes far less than the
    frames per second.

``--pin`` puts the engine process on CPU 0 and this sender on CPU 1, so the
two do not take turns on one core (they would on a 2-core machine shared with
other jobs). ``--runs N`` repeats the engine-process data path N times and ends
with min / median / max. ``--baseline DIR`` runs, alternately with this
checkout's, the engine process of another checkout (e.g. ``git archive`` of an
older commit, unpacked to DIR): the same sender, the same SA, the same minute.
Figures depend on the machine and its load; nothing is asserted.
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split
import argparse
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esp_engine import A, B, _frame, _rate  # type: ignore[import-not-found]

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine, ring
from controller.ipsec.esp.client import EngineClient
from controller.ipsec.esp.ports import AfPacketCryptoPort, LockedEngine
from controller.ipsec.installer import CipherSuite, Direction, SaInstaller, SaKeys, SaParams

ROOT = Path(__file__).resolve().parents[1]
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


class _Switch:
    """The switch side of the crypto link: frames out and in, the cheapest way available.

    With PACKET_MMAP rings (controller/ipsec/esp/ring.py) it costs a few struct
    calls a frame, so that the engine, not this sender, is what is measured;
    ``--plain-sender`` uses one send/recv a frame (what the benchmark did before).
    """

    def __init__(self, plain: bool) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
        self.sock.bind((SW, 0))
        self.sock.setsockopt(263, 23, 1)  # PACKET_IGNORE_OUTGOING
        self.rings = None if plain or not ring.supported() else ring.PacketRings(self.sock)
        self.sock.setblocking(self.rings is not None)
        self.buf = bytearray(65535)

    def send(self, frames: list[bytes]) -> None:
        if self.rings is not None:
            self.rings.send(frames)
            return
        for frame in frames:
            self.sock.send(frame)

    def receive(self) -> list[bytes]:
        """What arrived, after waiting up to 1 s for the first frame."""
        if self.rings is not None:
            frames = self.rings.receive(256)
            if not frames:
                self.rings.wait(1.0)
                frames = self.rings.receive(256)
            return frames
        if not select.select([self.sock], [], [], 1.0)[0]:
            return []
        frames = []
        while True:
            try:
                got = self.sock.recv_into(self.buf)
            except BlockingIOError:
                return frames
            frames.append(bytes(self.buf[: min(got, cp.HEADER_LEN)]))

    def close(self) -> None:
        if self.rings is not None:
            self.rings.close()
        self.sock.close()


def cpu_seconds(path: str) -> float:
    """User + system CPU time of a process or thread from /proc (``/proc/PID[/task/TID]``)."""
    fields = Path(path, "stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pps(size: int, seconds: float, plain: bool, window: int, engine: str) -> tuple[float, ...]:
    """ENCRYPT requests answered OK per second on the veth, ``window`` in flight.

    The sender takes every answer that is ready at once and sends as many new
    requests. An answer with a non-zero result (a refusal, which costs the
    engine no crypto) stops the run with an error instead of being counted;
    frames that are no answer at all (the kernel's own IPv6 multicast) are ignored.
    Returns (frames/s, the engine's and the sender's CPU microseconds a frame);
    ``engine`` is the /proc directory of the engine's process or thread.
    """
    switch = _Switch(plain)
    frame = cp.CryptoHeader(cp.Op.ENCRYPT, 1).encode() + _frame(A, B, bytes(size))
    answered = 0
    switch.send([frame] * window)
    start, engine_cpu, sender_cpu = time.perf_counter(), cpu_seconds(engine), time.thread_time()
    while time.perf_counter() - start < seconds:
        frames = switch.receive()
        if not frames:
            break
        ready = 0
        for got in frames:
            if len(got) < cp.HEADER_LEN or got[:2] != frame[:2]:
                continue  # not an answer (e.g. the kernel's IPv6 multicast on the veth)
            if got[4] != cp.Result.OK:
                raise SystemExit(f"engine refused a request: {bytes(got[: cp.HEADER_LEN]).hex()}")
            ready += 1
        answered += ready
        switch.send([frame] * ready)
    rate = answered / (time.perf_counter() - start)
    engine_cpu = cpu_seconds(engine) - engine_cpu
    sender_cpu = time.thread_time() - sender_cpu
    switch.close()
    return rate, engine_cpu / answered * 1e6, sender_cpu / answered * 1e6


def measure(label: str, installer: SaInstaller, args: argparse.Namespace, engine: str) -> None:
    pairs, counters = control_rate(installer, args.seconds)
    print(f"{label:>18}: control {pairs:9,.0f} add+delete/s {counters:9,.0f} counters/s")
    installer.add_sa(outbound(1))
    for size in (64, 1400):
        got = pps(size, args.seconds, args.plain_sender, args.window, engine)
        print(data_line(label, size, got), flush=True)
    installer.delete_sa(1)


def data_line(label: str, size: int, got: tuple[float, ...]) -> str:
    rate, engine_us, sender_us = got
    return (f"{label:>18}: data {size:5d} B {rate:9,.0f} ENCRYPT frames/s; CPU a frame: "
            f"engine {engine_us:5.2f} us (= {1e6 / engine_us:9,.0f}/s a core), "
            f"sender {sender_us:5.2f} us")  # fmt: skip


def start_engine(root: Path, sock: Path, pin: bool) -> subprocess.Popen[bytes]:
    """The engine process of the checkout at ``root`` (on CPU 0 when pinned)."""
    env = dict(os.environ, PYTHONPATH=str(root))
    argv = [sys.executable, "-m", "controller.ipsec.esp.process", "--interface", ENG,
            "--socket", str(sock)]  # fmt: skip
    if pin:
        argv = ["taskset", "-c", "0", *argv]
    return subprocess.Popen(argv, cwd=root, env=env, stderr=subprocess.DEVNULL)


def connect(path: Path) -> EngineClient:
    """A client of the engine process that is starting to listen on ``path``."""
    client = EngineClient(path)
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    client.connect()
    return client


def engine_runs(args: argparse.Namespace, tmp: Path) -> None:
    """The engine process's data path, ``--runs`` times (alternating with ``--baseline``)."""
    roots = [("this", ROOT)]
    if args.baseline:
        roots.insert(0, ("baseline", Path(args.baseline).resolve()))
    figures: dict[tuple[str, int], list[tuple[float, ...]]] = {}
    for run in range(args.runs):
        for name, root in roots:
            path = tmp / f"engine-{name}-{run}.sock"
            proc = start_engine(root, path, args.pin)
            try:
                client = connect(path)
                label = f"{name} engine" if args.baseline else "engine process"
                if run == 0 and not args.baseline:
                    measure(label, client, args, f"/proc/{proc.pid}")
                else:
                    client.add_sa(outbound(1))
                    for size in (64, 1400):
                        got = pps(size, args.seconds, args.plain_sender, args.window,
                                  f"/proc/{proc.pid}")  # fmt: skip
                        figures.setdefault((name, size), []).append(got)
                        print(data_line(f"{label} #{run + 1}", size, got), flush=True)
                client.close()
            finally:
                proc.terminate()
                proc.wait()
    for (name, size), got in figures.items():
        rate, engine_us, sender_us = (spread([g[k] for g in got]) for k in range(3))
        print(f"{name} engine, {size} B, {len(got)} runs (min / median / max): frames/s {rate};"
              f" CPU a frame: engine {engine_us} us, sender {sender_us} us")  # fmt: skip


def spread(values: list[float]) -> str:
    fmt = ",.0f" if values[0] > 100 else ".2f"
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def inner(args: argparse.Namespace) -> int:
    for argv in (["ip", "link", "add", SW, "type", "veth", "peer", "name", ENG],
                 ["ip", "link", "set", SW, "up"], ["ip", "link", "set", ENG, "up"]):  # fmt: skip
        subprocess.run(argv, check=True)
    if args.pin:
        os.sched_setaffinity(0, {1})  # the sender; the engine process gets CPU 0
    with tempfile.TemporaryDirectory() as tmp:
        if args.runs > 1 or args.baseline:
            engine_runs(args, Path(tmp))
            return 0
        path = Path(tmp) / "engine.sock"
        proc = start_engine(ROOT, path, args.pin)
        try:
            client = connect(path)
            measure("engine process", client, args, f"/proc/{proc.pid}")
            client.close()
        finally:
            proc.terminate()
            proc.wait()
    engine = LockedEngine(EspEngine())
    port = AfPacketCryptoPort(ENG, engine)
    port.start()
    assert port._thread is not None
    measure("in-process thread", engine, args, f"/proc/self/task/{port._thread.native_id}")
    port.close()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--window", type=int, default=WINDOW, help="frames in flight")
    parser.add_argument(
        "--plain-sender", action="store_true", help="switch side with one send/recv a frame"
    )
    parser.add_argument("--pin", action="store_true", help="engine on CPU 0, sender on CPU 1")
    parser.add_argument("--runs", type=int, default=1, help="engine-process data-path runs")
    parser.add_argument("--baseline", metavar="DIR", help="alternate with DIR's engine process")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, about a second: checks that it runs"
    )
    args = parser.parse_args()
    if args.smoke:
        args.seconds = 0.1
    if args.inner:
        return inner(args)
    if os.geteuid() != 0:
        print("needs root (a network namespace with a veth pair)", file=sys.stderr)
        return 2
    ns = f"sl3vpn-bench-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        argv = ["ip", "netns", "exec", ns, sys.executable, __file__, "--inner"]
        argv += ["--seconds", str(args.seconds), "--window", str(args.window)]
        argv += ["--plain-sender"] if args.plain_sender else []
        argv += ["--pin"] if args.pin else []
        argv += ["--runs", str(args.runs)]
        argv += ["--baseline", args.baseline] if args.baseline else []
        return subprocess.run(argv, check=False).returncode
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


if __name__ == "__main__":
    sys.exit(main())
