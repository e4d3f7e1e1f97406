"""Start the P4 target under test and push the C-PE pipeline to it.

``SL3VPN_TARGET`` chooses the target from outside the suite:

* ``p4sim`` (default): our software target, ``sl3vpn p4sim run`` with its
  P4Runtime server and nanomsg packet port, the program pushed as a source
  bundle with the P4Info p4sim's compiler generates.
* ``bmv2``: ``p4c-bm2-ss`` compiles ``p4src/cpe.p4`` (cached) and
  ``simple_switch_grpc --packet-in`` runs it, both through the launcher in
  ``targets/bmv2`` (tools from ``$SL3VPN_P4_PREFIX/bin``, then PATH).

``SL3VPN_PROGRAM`` chooses the program: ``v1model`` (default,
``p4src/cpe.p4``) or ``tna`` (``p4src/cpe_tna.p4``, which only p4sim runs:
BMv2 has no TNA architecture, so ``tna`` with ``bmv2`` is a skip).

Whatever cannot be found is reported as a skip reason, never as a failure.
The process is started in its own process group and stopped by its PID.
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from finsy.proto import p4i
from google.protobuf import text_format

import targets.bmv2 as bmv2
from targets.bmv2.switch import free_tcp_port

REPO = Path(__file__).resolve().parents[2]
PROGRAMS = {"v1model": REPO / "p4src" / "cpe.p4", "tna": REPO / "p4src" / "cpe_tna.p4"}
PROGRAM = PROGRAMS["v1model"]  # the benchmarks' program, whatever SL3VPN_PROGRAM says
CPU_PORT = 255
CRYPTO_PORT = 254
DEVICE_ID = 1


class TargetUnavailable(Exception):
    """The chosen target cannot run here; the message is the skip reason."""


@dataclass
class RunningTarget:
    kind: str
    grpc_address: str
    nn_address: str
    p4info: p4i.P4Info
    device_config: bytes
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def target_kind() -> str:
    kind = os.environ.get("SL3VPN_TARGET", "p4sim").strip().lower() or "p4sim"
    if kind not in ("p4sim", "bmv2"):
        raise TargetUnavailable(f"SL3VPN_TARGET={kind!r}: expected 'p4sim' or 'bmv2'")
    return kind


def program_kind() -> str:
    kind = os.environ.get("SL3VPN_PROGRAM", "v1model").strip().lower() or "v1model"
    if kind not in PROGRAMS:
        raise TargetUnavailable(f"SL3VPN_PROGRAM={kind!r}: expected 'v1model' or 'tna'")
    return kind


def program_path() -> Path:
    """The C-PE program SL3VPN_PROGRAM selects (cpe.p4 unless it says tna)."""
    return PROGRAMS[program_kind()]


def _sl3vpn() -> list[str]:
    return [sys.executable, "-m", "controller"]


def _p4sim_artifacts(workdir: Path, path: Path) -> tuple[p4i.P4Info, bytes]:
    """P4Info from p4sim's compiler (as p4c would write it) and the source bundle."""
    from targets.p4sim.runtime.bundle import bundle_from_path

    try:
        engine = importlib.import_module("targets.p4sim.engine")
    except ImportError as exc:
        raise TargetUnavailable(f"p4sim engine not available: {exc}") from None
    # A program p4sim rejects is a failure of the suite, not a reason to skip.
    program = engine.load_program(path, defines={})
    p4info: p4i.P4Info = program.p4info
    (workdir / f"{path.stem}.p4info.txt").write_text(text_format.MessageToString(p4info))
    return p4info, bundle_from_path(path).encode()


def _bmv2_artifacts(path: Path) -> tuple[p4i.P4Info, bytes]:
    try:
        art = bmv2.compile_program(path)
    except bmv2.ToolMissing as exc:
        raise TargetUnavailable(f"SL3VPN_TARGET=bmv2 but {exc}") from None
    except bmv2.CompileError as exc:  # a program p4c rejects fails the suite
        raise AssertionError(str(exc)) from None
    p4info = text_format.Parse(art.p4info_path.read_text(), p4i.P4Info())
    return p4info, art.json_path.read_bytes()


def start_target(workdir: Path, program: str | None = None) -> RunningTarget:
    """Start the target chosen by SL3VPN_TARGET with the program SL3VPN_PROGRAM
    chooses (``program`` overrides it); raise TargetUnavailable to skip."""
    kind = target_kind()
    program = program or program_kind()
    if kind == "bmv2" and program == "tna":
        raise TargetUnavailable(
            "SL3VPN_PROGRAM=tna needs SL3VPN_TARGET=p4sim: BMv2 has no TNA architecture"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    grpc_port = free_tcp_port("127.0.0.1")
    grpc_address = f"127.0.0.1:{grpc_port}"
    nn_address = f"ipc://{workdir}/dataplane-{os.getpid()}.ipc"
    log_path = workdir / f"{kind}.log"
    if kind == "bmv2":
        return _start_bmv2(grpc_address, nn_address, log_path, PROGRAMS[program])
    p4info, config = _p4sim_artifacts(workdir, PROGRAMS[program])
    cmd = [*_sl3vpn(), "p4sim", "run", "--no-p4", "--device-id", str(DEVICE_ID)]
    cmd += ["--packet-in", nn_address, "--grpc-server-addr", grpc_address]
    cmd += ["--cpu-port", str(CPU_PORT)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True
        )
    target = RunningTarget(kind, grpc_address, nn_address, p4info, config, proc, log_path)
    _wait_listening(target, grpc_port)
    return target


def _start_bmv2(grpc_address: str, nn_address: str, log_path: Path, path: Path) -> RunningTarget:
    missing = bmv2.missing_tools()  # every missing tool in the skip reason, not the first
    if missing:
        raise TargetUnavailable(f"SL3VPN_TARGET=bmv2 but {'; '.join(missing)}")
    p4info, config = _bmv2_artifacts(path)
    opts = bmv2.SwitchOptions(
        grpc_address=grpc_address, device_id=DEVICE_ID, cpu_port=CPU_PORT, packet_in=nn_address
    )
    try:
        switch = bmv2.Bmv2Switch(opts, log_path)
        switch.start()
    except bmv2.ToolMissing as exc:
        raise TargetUnavailable(f"SL3VPN_TARGET=bmv2 but {exc}") from None
    except bmv2.SwitchStartError as exc:
        raise AssertionError(str(exc)) from None
    assert switch.proc is not None
    return RunningTarget("bmv2", grpc_address, nn_address, p4info, config, switch.proc, log_path)


def _wait_listening(target: RunningTarget, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if target.proc.poll() is not None:
            raise TargetUnavailable(
                f"{target.kind} exited with {target.proc.returncode}: {target.log_tail(5)}"
            )
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    target.stop()
    raise AssertionError(f"{target.kind} did not listen on {port} within {timeout}s")
