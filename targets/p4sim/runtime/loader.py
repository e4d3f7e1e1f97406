"""Load a device config bundle with the p4sim engine (front end, compiler, executor)."""

from __future__ import annotations

import importlib
import tempfile
from pathlib import Path
from typing import Any

from targets.p4sim.runtime.bundle import Bundle
from targets.p4sim.runtime.program import LoadedProgram, ProgramError, ProgramState, TraceFn
from targets.p4sim.runtime.value_sets import value_sets_from_p4info
from targets.p4sim.state import SwitchState


def state_by_id(state: SwitchState) -> ProgramState:
    """The engine's name-keyed state, re-indexed by P4Info id (same objects)."""
    st = ProgramState(pre=state.pre)
    # A table never applied has no P4Info id (p4c drops it): not reachable over P4Runtime.
    st.tables = {t.id: t for t in state.tables.values() if t.id}
    st.counters = {c.id: c for c in state.counters.values()}
    st.meters = {m.id: m for m in state.meters.values()}
    st.registers = {r.id: r for r in state.registers.values()}
    return st


def load_engine(bundle: Bundle) -> LoadedProgram:
    """Compile the bundle's main file with p4sim's engine; ProgramError on any problem."""
    try:
        engine = importlib.import_module("targets.p4sim.engine")
    except ImportError:
        raise ProgramError("the p4sim engine (targets.p4sim.engine) is not available") from None
    with tempfile.TemporaryDirectory(prefix="p4sim-bundle-") as tmp:
        main = bundle.materialize(Path(tmp))
        try:
            program = engine.load_program(main, defines=bundle.defines)
        except Exception as exc:  # the engine's errors are one-line user-facing messages
            raise ProgramError(str(exc).replace(tmp + "/", "")) from None
    state = state_by_id(program.state)
    # The compiled parser's value-set lists, by fully-qualified name (Switch.value_sets).
    lists = getattr(getattr(program, "switch", None), "value_sets", None) or {}
    state.value_sets = value_sets_from_p4info(program.p4info, lists)
    return LoadedProgram(program.p4info, state, program.process, _trace_fn(program))


def _trace_fn(program: Any) -> TraceFn | None:
    """A trace function that processes the packet once and returns outputs and lines."""
    switch = getattr(program, "switch", None)
    try:
        packet_trace = importlib.import_module("targets.p4sim.switch").PacketTrace
    except (ImportError, AttributeError):
        packet_trace = None
    if switch is None or packet_trace is None:
        return getattr(program, "trace", None)

    def trace(port: int, frame: bytes) -> tuple[list[tuple[int, bytes]], list[str]]:
        tr = packet_trace()
        out = switch.process(port, frame, tr)
        lines = str(tr).splitlines()
        lines += [f"output port {p}: {len(f)} bytes" for p, f in out] or ["no output (dropped)"]
        return out, lines

    return trace
