"""An STF script of ``packet``/``expect`` lines run on BMv2 instead of p4sim.

p4sim's STF runner drives whatever has ``process(port, frame, trace)``; here
that is simple_switch_grpc started with the program's JSON, its ports reached
over nanomsg with PTF's "nn" platform. The switch holds what the program
itself installs (const entries, default actions): scripts that add entries or
touch externs need p4sim's state API and are refused up front.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bmv2_tests.lib.dataplane import Dataplane
from targets import bmv2
from targets.bmv2.switch import free_tcp_port
from targets.p4sim.stf import StfResult, StfRunner

COMMANDS = {"packet", "expect", "wait", "no_packet"}
FIRST_FRAME_WAIT = 1.5  # seconds for the first frame a packet makes (none: it was dropped)
NEXT_FRAME_WAIT = 0.2  # seconds of quiet after which a packet made no more frames


class Bmv2Frames:
    """Frames through BMv2, in the shape of p4sim's ``Switch.process``."""

    def __init__(self, dp: Dataplane) -> None:
        self.dp = dp

    def process(self, port: int, frame: bytes, trace: object = None) -> list[tuple[int, bytes]]:
        self.dp.send(port, frame)
        outs: list[tuple[int, bytes]] = []
        timeout = FIRST_FRAME_WAIT
        while True:
            res = self.dp.dp.poll(0, None, timeout=timeout)
            if res is None or getattr(res, "packet", None) is None:
                return outs
            outs.append((int(res.port), bytes(res.packet)))
            timeout = NEXT_FRAME_WAIT


def script_ports(text: str) -> list[int]:
    """The ports the script names; refuses commands this runner cannot carry out."""
    ports: set[int] = set()
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        cmd, _, rest = line.partition(" ")
        if cmd not in COMMANDS:
            raise ValueError(f"line {n}: {cmd!r} needs p4sim's state API, not run on BMv2")
        if cmd in ("packet", "expect"):
            ports.add(int(rest.split()[0], 0))
    return sorted(ports)


@contextmanager
def bmv2_frames(program: Path, ports: list[int], workdir: Path) -> Iterator[Bmv2Frames]:
    """simple_switch_grpc running ``program`` (compiled by p4c-bm2-ss), ``ports`` attached."""
    art = bmv2.compile_program(program, cache_dir=workdir / "cache")
    opts = bmv2.SwitchOptions(
        grpc_address=f"127.0.0.1:{free_tcp_port('127.0.0.1')}",
        packet_in=f"ipc://{workdir}/frames.ipc",
        program_json=art.json_path,
    )
    switch = bmv2.Bmv2Switch(opts, workdir / "bmv2.log").start()
    dp = None
    try:
        dp = Dataplane(opts.packet_in or "", ports, ports)
        yield Bmv2Frames(dp)
    finally:
        if dp is not None:
            dp.close()
        switch.stop()


def run_stf_on_bmv2(program: Path, text: str, workdir: Path) -> StfResult:
    ports = script_ports(text)
    with bmv2_frames(program, ports, workdir) as frames:
        runner = StfRunner(frames, None)  # type: ignore[arg-type]  # only process() is used
        for i, line in enumerate(text.splitlines(), 1):
            runner.run_line(i, line)
        return runner.finish()
