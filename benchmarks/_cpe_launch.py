"""Start p4sim or BMv2 on veth ports with the C-PE pipeline, and the ESP engine process.

Benchmark plumbing for ``cpe_targets.py`` (runs inside its network namespace).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from bmv2_tests.lib.cpe import BLACK, RED_A1, Cpe
from bmv2_tests.lib.runtime import SyncP4Runtime
from bmv2_tests.lib.target import CPU_PORT, CRYPTO_PORT, DEVICE_ID, PROGRAM, REPO
from controller.ipsec.esp.client import EngineClient
from targets.bmv2.switch import free_tcp_port, grpc_probe_address

# switch port -> (switch-side veth, traffic/engine-side veth)
IFACES = {RED_A1: ("sw1", "h1"), BLACK: ("sw5", "h5"), CRYPTO_PORT: ("sw254", "eng254")}


@dataclass
class Switch:
    kind: str
    sw: SyncP4Runtime
    stop_process: Callable[[], None]

    def cpe(self, installer: EngineClient) -> Cpe:
        crypto = SimpleNamespace(lock=contextlib.nullcontext(), engine=installer)
        return Cpe(self.sw, None, crypto)  # type: ignore[arg-type]

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.sw.close()
        self.stop_process()


def _start_p4sim(grpc: str, tmp: Path) -> tuple[object, bytes, Callable[[], None]]:
    from targets.p4sim.engine import load_program
    from targets.p4sim.runtime.bundle import bundle_from_path

    ifaces = [a for port, (sw_if, _) in sorted(IFACES.items()) for a in ("-i", f"{port}@{sw_if}")]
    argv = [sys.executable, "-m", "controller", "p4sim", "run", "--no-p4", *ifaces]
    argv += ["--device-id", str(DEVICE_ID), "--grpc-server-addr", grpc]
    argv += ["--cpu-port", str(CPU_PORT)]
    p4info = load_program(PROGRAM, defines={}).p4info
    with (tmp / "p4sim.log").open("wb") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True
        )

    def stop() -> None:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)

    host, port = grpc_probe_address(grpc)
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            stop()
            tail = (tmp / "p4sim.log").read_text(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"p4sim did not start: {' / '.join(tail)}")
        time.sleep(0.05)
    return p4info, bundle_from_path(PROGRAM).encode(), stop


def _start_bmv2(grpc: str, tmp: Path) -> tuple[object, bytes, Callable[[], None]]:
    """simple_switch_grpc through targets.bmv2 (the launcher the daemon and the lab use)."""
    from finsy.proto import p4i
    from google.protobuf import text_format

    import targets.bmv2 as bmv2

    try:
        art = bmv2.compile_program(PROGRAM)
        opts = bmv2.SwitchOptions(
            grpc_address=grpc,
            device_id=DEVICE_ID,
            cpu_port=CPU_PORT,
            interfaces={port: sw_if for port, (sw_if, _) in IFACES.items()},
        )
        switch = bmv2.Bmv2Switch(opts, tmp / "bmv2.log").start()
    except (bmv2.ToolMissing, bmv2.CompileError, bmv2.SwitchStartError) as exc:
        raise RuntimeError(str(exc).splitlines()[0]) from None
    p4info = text_format.Parse(art.p4info_path.read_text(), p4i.P4Info())
    return p4info, art.json_path.read_bytes(), switch.stop


def start_switch(kind: str, tmp: Path) -> Switch:
    """The target on the veth ports, the pipeline pushed; RuntimeError if it cannot run."""
    if kind not in ("p4sim", "bmv2"):
        raise RuntimeError(f"unknown target {kind!r}")
    grpc = f"127.0.0.1:{free_tcp_port('127.0.0.1')}"
    start = _start_p4sim if kind == "p4sim" else _start_bmv2
    p4info, config, stop = start(grpc, tmp)
    switch = Switch(kind, SyncP4Runtime(grpc, device_id=DEVICE_ID), stop)
    try:
        switch.sw.connect()
        switch.sw.set_pipeline(p4info, config)  # type: ignore[arg-type]
    except Exception:
        switch.stop()
        raise
    return switch


@dataclass
class Engine:
    proc: subprocess.Popen[bytes]
    client: EngineClient

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        self.proc.terminate()
        self.proc.wait(10)


def start_engine(sock: Path) -> Engine:
    """The ESP engine process serving the crypto port's veth, as the daemon starts it."""
    argv = [sys.executable, "-m", "controller.ipsec.esp.process"]
    argv += ["--interface", IFACES[CRYPTO_PORT][1], "--socket", str(sock)]
    proc = subprocess.Popen(argv, cwd=REPO, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not sock.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    client = EngineClient(sock)
    client.connect()
    return Engine(proc, client)
