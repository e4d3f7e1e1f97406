"""Writes and reads of the non-table entities (P4Runtime spec sections 9.4-9.7).

Counters, direct counters, registers, meters, direct meters and the packet
replication engine. Extern arrays exist for the program's whole life, so they
only accept MODIFY (INSERT/DELETE are INVALID_ARGUMENT); an index beyond the
array is OUT_OF_RANGE; a zero id or an unset index on read is a wildcard.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

from finsy.proto import p4r

from targets.p4sim.runtime import bytestrings as bs
from targets.p4sim.runtime import pre_entries, value_sets
from targets.p4sim.runtime.errors import P4RTError, invalid, out_of_range, unimplemented
from targets.p4sim.runtime.program import ProgramState
from targets.p4sim.runtime.table_codec import decode_matches, find_table
from targets.p4sim.state import (
    Counter,
    Meter,
    MeterConfig,
    Register,
    StateError,
    Table,
    TableEntry,
)

T = TypeVar("T")
MODIFY = p4r.Update.MODIFY


def _modify_only(op: int, what: str) -> None:
    if op != MODIFY:
        raise invalid(f"{what}: only MODIFY is allowed ({p4r.Update.Type.Name(op)} given)")


def _get(items: dict[int, T], key: int, what: str) -> T:
    # An id the P4Info does not define is a malformed request (spec 8.1.1 and
    # 12, see table_codec.find_table): INVALID_ARGUMENT, not NOT_FOUND.
    item = items.get(key)
    if item is None:
        raise invalid(f"no {what} with id {key} in the P4Info")
    return item


def _meter_config(cfg: p4r.MeterConfig, what: str) -> MeterConfig | None:
    if cfg.ByteSize() == 0:
        return None  # an empty config resets the meter to "all green"
    if cfg.cir < 0 or cfg.pir < 0 or cfg.cburst < 0 or cfg.pburst < 0:
        raise invalid(f"{what}: negative rate or burst")
    if cfg.cir > cfg.pir:
        raise invalid(f"{what}: CIR {cfg.cir} exceeds PIR {cfg.pir}")
    if cfg.eburst:
        # v1model meters are two-rate three-colour: eburst must be unset (spec 9.3)
        raise invalid(f"{what}: eburst is only for single-rate meters")
    return MeterConfig(cfg.cir, cfg.cburst, cfg.pir, cfg.pburst)


def _encode_meter(config: MeterConfig | None) -> p4r.MeterConfig:
    if config is None:
        return p4r.MeterConfig()
    return p4r.MeterConfig(
        cir=config.cir, cburst=config.cburst, pir=config.pir, pburst=config.pburst
    )


def _direct_entry(st: ProgramState, te: p4r.TableEntry, what: str) -> TableEntry:
    table = find_table(st.tables, te.table_id)
    attached = table.direct_counter if "counter" in what else table.direct_meter
    if attached is None:
        raise invalid(f"table {table.name} has no {what.replace('_entry', '').replace('_', ' ')}")
    if te.is_default_action:
        return table.default_entry
    matches = decode_matches(table, te)
    try:
        return table.get(matches, te.priority)
    except StateError as exc:
        raise P4RTError.from_state(exc) from None


def check_entry_extras(table: Table, te: p4r.TableEntry) -> None:
    """Reject table entry fields this table cannot honour (spec 9.1: INVALID_ARGUMENT)."""
    if te.idle_timeout_ns or te.HasField("time_since_last_hit"):
        raise invalid(f"table {table.name} does not support idle timeout")
    _no_color_counters(te.HasField("meter_counter_data"), f"table {table.name}")
    if te.HasField("counter_data") and table.direct_counter is None:
        raise invalid(f"table {table.name} has no direct counter for counter_data")
    if te.HasField("meter_config") and table.direct_meter is None:
        raise invalid(f"table {table.name} has no direct meter for meter_config")
    if te.HasField("meter_config"):
        _meter_config(te.meter_config, f"table {table.name} meter_config")


def apply_entry_extras(
    table: Table, te: p4r.TableEntry, entry: TableEntry, *, modify: bool = False
) -> None:
    """Direct counter data / meter config given inline with an INSERT or MODIFY.

    Spec 9.1.5 (Direct Resources): an unset counter_data leaves the counter
    alone; an unset meter_config in a MODIFY resets the meter to its default
    (every packet GREEN).
    """
    if te.HasField("counter_data"):
        entry.packets, entry.bytes = te.counter_data.packet_count, te.counter_data.byte_count
    if te.HasField("meter_config"):
        entry.meter_config = _meter_config(te.meter_config, f"table {table.name} meter_config")
        entry.meter_state = []
    elif modify and table.direct_meter is not None:
        entry.meter_config, entry.meter_state = None, []


def write(st: ProgramState, op: int, entity: p4r.Entity) -> None:
    """Apply one non-table update; P4RTError on failure."""
    which = entity.WhichOneof("entity")
    try:
        if which == "counter_entry":
            ce = entity.counter_entry
            _modify_only(op, "counter")
            c = _get(st.counters, ce.counter_id, "counter")
            if ce.HasField("data"):  # spec 9.2.2: unset data leaves the counter alone
                for i in _write_cells(c.size, ce.index, ce.HasField("index"), f"counter {c.name}"):
                    c.write(i, ce.data.packet_count, ce.data.byte_count)
        elif which == "direct_counter_entry":
            dce = entity.direct_counter_entry
            _modify_only(op, "direct counter")
            e = _direct_entry(st, dce.table_entry, "direct counter")
            if dce.HasField("data"):  # spec 9.2.1: unset data leaves the counter alone
                e.packets, e.bytes = dce.data.packet_count, dce.data.byte_count
        elif which == "register_entry":
            re_ = entity.register_entry
            _modify_only(op, "register")
            r = _get(st.registers, re_.register_id, "register")
            if re_.data.WhichOneof("data") != "bitstring":
                raise invalid(f"register {r.name}: data must be a bitstring")
            value = bs.decode(re_.data.bitstring, r.width, f"register {r.name}")
            for i in _write_cells(r.size, re_.index, re_.HasField("index"), f"register {r.name}"):
                r.write(i, value)
        elif which == "meter_entry":
            me = entity.meter_entry
            _modify_only(op, "meter")
            m = _get(st.meters, me.meter_id, "meter")
            _no_color_counters(me.HasField("counter_data"), f"meter {m.name}")
            cfg = _meter_config(me.config, f"meter {m.name}")
            for i in _write_cells(m.size, me.index, me.HasField("index"), f"meter {m.name}"):
                m.set_config(i, cfg)
        elif which == "direct_meter_entry":
            dme = entity.direct_meter_entry
            _modify_only(op, "direct meter")
            _no_color_counters(dme.HasField("counter_data"), "direct meter")
            e = _direct_entry(st, dme.table_entry, "direct meter")
            e.meter_config = _meter_config(dme.config, "direct meter")
            e.meter_state = []
        elif which == "packet_replication_engine_entry":
            pre_entries.write(st, op, entity.packet_replication_engine_entry)
        elif which == "value_set_entry":
            value_sets.write(st.value_sets, op, entity.value_set_entry)
        elif which is None:
            raise invalid("update has no entity set")  # malformed (spec 12)
        else:
            raise unimplemented(f"writing {which} is not supported")
    except StateError as exc:
        raise P4RTError.from_state(exc) from None


def _write_cells(size: int, index: p4r.Index, has_index: bool, what: str) -> range:
    """The cells a MODIFY sets: all of them when index is unset (spec 9.2.2, 9.3.2, 9.9);
    a negative index is INVALID_ARGUMENT, one beyond the array OUT_OF_RANGE."""
    if not has_index:
        return range(size)
    if index.index < 0:
        raise invalid(f"{what}: negative index {index.index}")
    if index.index >= size:
        raise out_of_range(f"{what}: index {index.index} out of range (size {size})")
    return range(index.index, index.index + 1)


def _no_color_counters(present: bool, what: str) -> None:
    # spec 9.3.3: targets without per-colour meter counters answer UNIMPLEMENTED
    if present:
        raise unimplemented(f"{what}: per-colour counter_data is not supported")


def _indices(size: int, index: p4r.Index, has_index: bool, what: str) -> range:
    if not has_index:
        return range(size)
    if index.index < 0:
        raise invalid(f"{what}: negative index {index.index}")
    if not 0 <= index.index < size:
        raise P4RTError.from_state(
            StateError(f"{what}: index {index.index} out of range", "out_of_range")
        )
    return range(index.index, index.index + 1)


def _select(items: dict[int, T], key: int, what: str) -> list[T]:
    return list(items.values()) if key == 0 else [_get(items, key, what)]


def read(st: ProgramState, entity: p4r.Entity) -> Iterator[p4r.Entity]:
    """Entities matching one (possibly wildcard) read request entity."""
    which = entity.WhichOneof("entity")
    if which == "counter_entry":
        ce = entity.counter_entry
        for c in _select(st.counters, ce.counter_id, "counter"):
            yield from _read_counter(c, ce)
    elif which == "register_entry":
        re_ = entity.register_entry
        for r in _select(st.registers, re_.register_id, "register"):
            yield from _read_register(r, re_)
    elif which == "meter_entry":
        me = entity.meter_entry
        for m in _select(st.meters, me.meter_id, "meter"):
            yield from _read_meter(m, me)
    elif which in ("direct_counter_entry", "direct_meter_entry"):
        yield from _read_direct(st, entity, which)
    elif which == "packet_replication_engine_entry":
        yield from pre_entries.read(st, entity.packet_replication_engine_entry)
    elif which == "value_set_entry":
        yield from value_sets.read(st.value_sets, entity.value_set_entry)
    else:
        raise unimplemented(f"reading {which or 'an empty entity'} is not supported")


def _read_counter(c: Counter, req: p4r.CounterEntry) -> Iterator[p4r.Entity]:
    for i in _indices(c.size, req.index, req.HasField("index"), f"counter {c.name}"):
        out = p4r.Entity()
        ce = out.counter_entry
        ce.counter_id, ce.index.index = c.id, i
        ce.data.packet_count, ce.data.byte_count = c.packets[i], c.bytes[i]
        yield out


def _read_register(r: Register, req: p4r.RegisterEntry) -> Iterator[p4r.Entity]:
    for i in _indices(r.size, req.index, req.HasField("index"), f"register {r.name}"):
        out = p4r.Entity()
        re_ = out.register_entry
        re_.register_id, re_.index.index = r.id, i
        re_.data.bitstring = bs.encode(r.cells[i])
        yield out


def _read_meter(m: Meter, req: p4r.MeterEntry) -> Iterator[p4r.Entity]:
    for i in _indices(m.size, req.index, req.HasField("index"), f"meter {m.name}"):
        out = p4r.Entity()
        me = out.meter_entry
        me.meter_id, me.index.index = m.id, i
        cfg = m.get_config(i)
        if cfg is not None:
            me.config.CopyFrom(_encode_meter(cfg))
        yield out


def _read_direct(st: ProgramState, entity: p4r.Entity, which: str) -> Iterator[p4r.Entity]:
    from targets.p4sim.runtime.table_codec import encode_match_only

    req = getattr(entity, which)
    te = req.table_entry
    counter = which == "direct_counter_entry"
    tables = list(st.tables.values()) if te.table_id == 0 else [find_table(st.tables, te.table_id)]
    for table in tables:
        if (table.direct_counter if counter else table.direct_meter) is None:
            if te.table_id:
                raise invalid(
                    f"table {table.name} has no direct {'counter' if counter else 'meter'}"
                )
            continue
        if te.match or te.is_default_action:
            entries = [_direct_entry(st, te, which)]
        else:
            entries = list(table.entries())
        for e in entries:
            out = p4r.Entity()
            d = getattr(out, which)
            d.table_entry.CopyFrom(encode_match_only(table, e, default=e is table.default_entry))
            if counter:
                d.data.packet_count, d.data.byte_count = e.packets, e.bytes
            elif isinstance(e.meter_config, MeterConfig):
                d.config.CopyFrom(_encode_meter(e.meter_config))
            yield out
