"""What the runtime needs from a loaded P4 program, and how programs are loaded.

A :class:`LoadedProgram` is the program's P4Info plus its state objects from
``targets.p4sim.state``, keyed by P4Info id, and the packet entry point of the
executor. The gRPC server writes entries into these objects; the executor
reads them for every packet. Nothing else is shared.

:func:`state_from_p4info` builds the state objects of a program from its P4Info
alone; the engine's loader can use it, and unit tests use it to stand up a
pipeline double without compiling P4.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from finsy.proto import p4i

from targets.p4sim.runtime.value_sets import ValueSet, value_sets_from_p4info
from targets.p4sim.state import (
    ActionCall,
    ActionSpec,
    Counter,
    CounterType,
    KeyField,
    MatchKind,
    Meter,
    MeterType,
    PacketReplicationEngine,
    Register,
    Table,
)

# (ingress port, frame) -> [(egress port, frame)]
ProcessFn = Callable[[int, bytes], list[tuple[int, bytes]]]
# Like ProcessFn, plus readable lines saying what the pipeline did (parser
# states, table hits with the entry, actions, drop reason).
TraceFn = Callable[[int, bytes], tuple[list[tuple[int, bytes]], list[str]]]


class ProgramError(Exception):
    """A device config that cannot be loaded (bad bundle, P4 errors); one line."""


@dataclass
class ProgramState:
    tables: dict[int, Table] = field(default_factory=dict)
    counters: dict[int, Counter] = field(default_factory=dict)
    meters: dict[int, Meter] = field(default_factory=dict)
    registers: dict[int, Register] = field(default_factory=dict)
    pre: PacketReplicationEngine = field(default_factory=PacketReplicationEngine)
    value_sets: dict[int, ValueSet] = field(default_factory=dict)
    # TableEntry.metadata bytes by id(entry) (with the entry, so the id stays unique)
    entry_metadata: dict[int, tuple[object, bytes]] = field(default_factory=dict)
    # (PRE entry kind, id) -> (group metadata bytes, replica ports written as bytes)
    pre_extra: dict[tuple[str, int], tuple[bytes, bool]] = field(default_factory=dict)


@dataclass
class LoadedProgram:
    p4info: p4i.P4Info
    state: ProgramState
    process: ProcessFn
    trace: TraceFn | None = None


_MATCH_KINDS = {
    p4i.MatchField.EXACT: MatchKind.EXACT,
    p4i.MatchField.LPM: MatchKind.LPM,
    p4i.MatchField.TERNARY: MatchKind.TERNARY,
    p4i.MatchField.RANGE: MatchKind.RANGE,
    p4i.MatchField.OPTIONAL: MatchKind.OPTIONAL,
}

_COUNTER_UNITS = {
    p4i.CounterSpec.BYTES: CounterType.BYTES,
    p4i.CounterSpec.PACKETS: CounterType.PACKETS,
    p4i.CounterSpec.BOTH: CounterType.PACKETS_AND_BYTES,
}


def _table(info: p4i.Table, actions: dict[int, p4i.Action], p4info: p4i.P4Info) -> Table:
    keys = [
        KeyField(m.name, m.id, _MATCH_KINDS.get(m.match_type, MatchKind.EXACT), m.bitwidth)
        for m in info.match_fields
    ]
    specs = []
    for ref in info.action_refs:
        a = actions[ref.id]
        params = tuple((p.name, p.bitwidth) for p in a.params)
        scope = p4i.ActionRef.Scope.Name(ref.scope)
        specs.append(ActionSpec(a.preamble.name, a.preamble.id, params, scope))
    init = info.initial_default_action
    default_id = init.action_id or info.const_default_action_id or info.action_refs[0].id
    default_args = tuple(int.from_bytes(a, "big") for a in init.arguments) if init.action_id else ()
    if not init.action_id:
        default_args = tuple(0 for _ in actions[default_id].params)
    direct_counter = next(
        (c.preamble.name for c in p4info.direct_counters if c.direct_table_id == info.preamble.id),
        None,
    )
    direct_meter = next(
        (m.preamble.name for m in p4info.direct_meters if m.direct_table_id == info.preamble.id),
        None,
    )
    return Table(
        info.preamble.name,
        info.preamble.id,
        keys,
        specs,
        ActionCall(actions[default_id].preamble.name, default_args),
        const_default=bool(info.const_default_action_id),
        const_entries=info.is_const_table,
        size=info.size or 1024,
        direct_counter=direct_counter,
        direct_meter=direct_meter,
    )


def state_from_p4info(p4info: p4i.P4Info) -> ProgramState:
    """Empty state objects for every table and extern instance in ``p4info``."""
    actions = {a.preamble.id: a for a in p4info.actions}
    st = ProgramState()
    for t in p4info.tables:
        st.tables[t.preamble.id] = _table(t, actions, p4info)
    for c in p4info.counters:
        unit = _COUNTER_UNITS.get(c.spec.unit, CounterType.PACKETS_AND_BYTES)
        st.counters[c.preamble.id] = Counter(c.preamble.name, c.preamble.id, c.size, unit)
    for m in p4info.meters:
        mtype = MeterType.BYTES if m.spec.unit == p4i.MeterSpec.BYTES else MeterType.PACKETS
        st.meters[m.preamble.id] = Meter(m.preamble.name, m.preamble.id, m.size, mtype)
    for r in p4info.registers:
        width = r.type_spec.bitstring.bit.bitwidth or r.type_spec.bitstring.int.bitwidth
        st.registers[r.preamble.id] = Register(r.preamble.name, r.preamble.id, r.size, width)
    st.value_sets = value_sets_from_p4info(p4info)
    return st
