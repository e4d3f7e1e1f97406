"""The engine contract the P4Runtime server loads programs through.

``load_program(main, defines)`` compiles a program and returns an
:class:`EngineProgram` with ``p4info``, ``state``, ``process`` and ``trace``
(see targets/p4sim/runtime/README.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from targets.p4sim.program import Program, load
from targets.p4sim.state import SwitchState
from targets.p4sim.switch import PacketTrace, Switch
from targets.p4sim.tna_switch import TnaSwitch


class EngineProgram:
    def __init__(self, program: Program) -> None:
        self.program = program
        # The architecture is the program's: V1Switch (v1model) or Switch (TNA).
        self.switch: Switch | TnaSwitch = (
            TnaSwitch(program) if program.gen.arch == "tna" else Switch(program)
        )
        self.p4info: Any = program.p4info
        self.state: SwitchState = self.switch.state

    def process(self, port: int, frame: bytes) -> list[tuple[int, bytes]]:
        return self.switch.process(port, frame)

    def trace(self, port: int, frame: bytes) -> list[str]:
        """Process a frame and describe what the pipeline did, one line per event."""
        tr = PacketTrace()
        out = self.switch.process(port, frame, tr)
        lines = str(tr).splitlines()
        lines += [f"output port {p}: {len(f)} bytes" for p, f in out] or ["no output"]
        return lines


def load_program(
    main: str | os.PathLike[str],
    defines: Mapping[str, str] | None = None,
    includes: Sequence[str | os.PathLike[str]] = (),
) -> EngineProgram:
    return EngineProgram(load(main, includes, defines or {}))
