"""Start ``simple_switch_grpc`` and stop it again, by PID.

Each instance gets its own thrift port (a free one unless given) and its own
nanomsg notifications socket: BMv2's defaults (9090 and
``ipc:///tmp/bmv2-<device-id>-notifications.ipc``) clash as soon as two
switches run at once, even in different network namespaces (/tmp is shared).

The program is normally not given at start (``--no-p4``): the controller pushes
the BMv2 JSON and P4Info over P4Runtime, the same path as for p4sim.
Readiness is the gRPC port accepting connections; a switch that exits or does
not listen in time is reported with the tail of its log.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from targets.bmv2.tools import SWITCH, find_tool, tool_env


class SwitchStartError(Exception):
    """simple_switch_grpc did not come up; the message carries its log tail."""


@dataclass
class SwitchOptions:
    grpc_address: str = "127.0.0.1:9559"
    device_id: int = 1
    cpu_port: int | None = None
    interfaces: dict[int, str] = field(default_factory=dict)  # port -> Linux interface
    packet_in: str | None = None  # nanomsg address (ipc://...) carrying every port's frames
    thrift_port: int | None = None  # None: a free one is chosen at start
    notifications_addr: str | None = None  # None: a socket beside the log file
    log_level: str | None = None  # BMv2's own per-packet log into the log file (slow)
    program_json: Path | None = None  # None: start without a program (--no-p4)
    extra_args: list[str] = field(default_factory=list)  # before "--"


def free_tcp_port(host: str = "0.0.0.0") -> int:
    """A TCP port nothing listens on now (BMv2's thrift server binds every address)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def switch_argv(
    binary: Path, opts: SwitchOptions, thrift_port: int, notifications: str
) -> list[str]:
    """The command line for ``opts`` (pure: no file or process access)."""
    argv = [str(binary), "--device-id", str(opts.device_id)]
    for port, ifname in sorted(opts.interfaces.items()):
        argv += ["-i", f"{port}@{ifname}"]
    if opts.packet_in is not None:
        argv += ["--packet-in", opts.packet_in]
    argv += ["--thrift-port", str(thrift_port), "--notifications-addr", notifications]
    if opts.log_level is not None:
        argv += ["--log-console", "--log-level", opts.log_level]
    argv += opts.extra_args
    argv += [str(opts.program_json)] if opts.program_json is not None else ["--no-p4"]
    argv += ["--", "--grpc-server-addr", opts.grpc_address]
    if opts.cpu_port is not None:
        argv += ["--cpu-port", str(opts.cpu_port)]
    return argv


def grpc_probe_address(grpc_address: str) -> tuple[str, int]:
    """Where to connect to see the gRPC server listening (a wildcard means loopback)."""
    host, _, port = grpc_address.rpartition(":")
    host = host.strip("[]")
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(host, host)
    return host, int(port)


class Bmv2Switch:
    """One simple_switch_grpc process in its own process group, logging to ``log_path``."""

    def __init__(self, opts: SwitchOptions, log_path: Path) -> None:
        self.opts = opts
        self.log_path = log_path
        self.thrift_port = opts.thrift_port or free_tcp_port()
        self.notifications = opts.notifications_addr or (
            f"ipc://{log_path.parent.resolve()}/bmv2-{self.thrift_port}-notifications.ipc"
        )
        self.binary = find_tool(SWITCH)
        self.argv = switch_argv(self.binary, opts, self.thrift_port, self.notifications)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not started"
        return self.proc.pid

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, ready_timeout: float = 30.0) -> Bmv2Switch:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=tool_env(self.binary),
                start_new_session=True,  # its own process group: stop() ends all of it
            )
        self.wait_ready(ready_timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        host, port = grpc_probe_address(self.opts.grpc_address)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise SwitchStartError(
                    f"{SWITCH} exited with status {self.proc.returncode} at start; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise SwitchStartError(
            f"{SWITCH} did not listen on {self.opts.grpc_address} within {timeout:g}s; "
            f"log {self.log_path}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:]) or "(empty log)"

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM to its process group, SIGKILL after ``grace`` seconds."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(grace)
        except ProcessLookupError:
            self.proc.wait(grace)
