"""Start p4sim or BMv2 on veth ports with the C-PE pipeline, and the ESP engine process.

Benchmark plumbing for ``cpe_targets.py`` (runs inside its network namespace).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from bmv2_tests.lib.cpe import BLACK, RED_A1, Cpe
from bmv2_tests.lib.runtime import SyncP4Runtime
from bmv2_tests.lib.target import CPU_PORT, CRYPTO_PORT, DEVICE_ID, PROGRAM, REPO
from controller.ipsec.esp.client import EngineClient

# switch port -> (switch-side veth, traffic/engine-side veth)
IFACES = {RED_A1: ("sw1", "h1"), BLACK: ("sw5", "h5"), CRYPTO_PORT: ("sw254", "eng254")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tool(name: str) -> Path:
    prefix = os.environ.get("SL3VPN_P4_PREFIX", "").strip()
    if prefix and os.access(Path(prefix) / "bin" / name, os.X_OK):
        return Path(prefix) / "bin" / name
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found in $SL3VPN_P4_PREFIX/bin or PATH")
    return Path(found)


def _tool_env(tool: Path) -> dict[str, str]:
    env = dict(os.environ)
    lib = tool.resolve().parent.parent / "lib"
    env["LD_LIBRARY_PATH"] = f"{lib}:{env.get('LD_LIBRARY_PATH', '')}".rstrip(":")
    return env


@dataclass
class Switch:
    kind: str
    proc: subprocess.Popen[bytes]
    sw: SyncP4Runtime

    def cpe(self, installer: EngineClient) -> Cpe:
        crypto = SimpleNamespace(lock=contextlib.nullcontext(), engine=installer)
        return Cpe(self.sw, None, crypto)  # type: ignore[arg-type]

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.sw.close()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def _artifacts(kind: str, tmp: Path) -> tuple[object, bytes]:
    from finsy.proto import p4i
    from google.protobuf import text_format

    if kind == "p4sim":
        from targets.p4sim.engine import load_program
        from targets.p4sim.runtime.bundle import bundle_from_path

        return load_program(PROGRAM, defines={}).p4info, bundle_from_path(PROGRAM).encode()
    p4c = _tool("p4c-bm2-ss")
    info, json = tmp / "cpe.p4info.txtpb", tmp / "cpe.json"
    argv = [str(p4c), "--arch", "v1model", "--p4runtime-files", str(info), "-o", str(json)]
    proc = subprocess.run([*argv, str(PROGRAM)], capture_output=True, text=True, env=_tool_env(p4c))
    if proc.returncode != 0:
        raise RuntimeError(f"p4c-bm2-ss failed: {proc.stderr.strip().splitlines()[-1:]}")
    return text_format.Parse(info.read_text(), p4i.P4Info()), json.read_bytes()


def start_switch(kind: str, tmp: Path) -> Switch:
    """The target on the veth ports, the pipeline pushed; RuntimeError if it cannot run."""
    grpc = f"127.0.0.1:{_free_port()}"
    ifaces = [a for port, (sw_if, _) in sorted(IFACES.items()) for a in ("-i", f"{port}@{sw_if}")]
    tail = ["--grpc-server-addr", grpc, "--cpu-port", str(CPU_PORT)]
    if kind == "p4sim":
        argv = [sys.executable, "-m", "controller", "p4sim", "run", "--no-p4", *ifaces]
        argv += ["--device-id", str(DEVICE_ID), *tail]
        env = dict(os.environ)
    elif kind == "bmv2":
        ssg = _tool("simple_switch_grpc")
        argv = [str(ssg), "--device-id", str(DEVICE_ID), *ifaces]
        argv += ["--thrift-port", str(_free_port()), "--no-p4", "--", *tail]
        env = _tool_env(ssg)
    else:
        raise RuntimeError(f"unknown target {kind!r}")
    p4info, config = _artifacts(kind, tmp)
    with (tmp / f"{kind}.log").open("wb") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env, start_new_session=True
        )
    sw = SyncP4Runtime(grpc, device_id=DEVICE_ID)
    switch = Switch(kind, proc, sw)
    deadline = time.monotonic() + 30
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", int(grpc.rsplit(":", 1)[1]))) == 0:
                break
        if proc.poll() is not None or time.monotonic() > deadline:
            switch.stop()
            tail = (tmp / f"{kind}.log").read_text(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(f"{kind} did not start: {' / '.join(tail)}")
        time.sleep(0.05)
    sw.connect()
    sw.set_pipeline(p4info, config)  # type: ignore[arg-type]
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
