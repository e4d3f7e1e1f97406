"""TableEntry writes and reads against the engine's tables (P4Runtime spec 9.1).

INSERT/MODIFY/DELETE of match entries and MODIFY of the default entry, with
the spec's rules: const tables and const entries (9.1.3), MODIFY without
action (9.1.2), direct resources (9.1.5), the default entry (9.1.6), the
metadata bytes kept for read-write symmetry, and the wildcard-read filters
(9.1.4). Message <-> state conversion and match validation are in
table_codec.py; direct-resource fields in entities.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from finsy.proto import p4r

from targets.p4sim.runtime import entities
from targets.p4sim.runtime.errors import P4RTError, invalid
from targets.p4sim.runtime.program import ProgramState
from targets.p4sim.runtime.table_codec import (
    ParamIds,
    decode_action,
    decode_matches,
    entry_from_msg,
)
from targets.p4sim.runtime.table_schema import ENTITY_TABLE_ENTRY, Schemas, field
from targets.p4sim.state import StateError, Table, TableEntry


def write(st: ProgramState, schemas: Schemas, op: int, te: p4r.TableEntry) -> None:
    """Apply one TableEntry update; P4RTError/StateError on failure."""
    schema = schemas[te.table_id]
    table, pids = schema.table, schemas.pids
    if te.is_const:
        # spec 9.1: is_const must be false in every INSERT/MODIFY/DELETE
        raise invalid(f"table {table.name}: is_const must not be set in a write")
    if te.is_default_action:
        _write_default(st, table, pids, op, te)
    elif op == p4r.Update.INSERT:
        if table.const_entries:
            raise _const_denied(table, "INSERT into")
        if not table.keys:
            # spec 9.1: a keyless table only has its default entry
            raise invalid(f"table {table.name} has no key: only its default entry exists")
        fast = schema.decode(te)
        if fast is None:  # not the common valid shape: checked the general way
            entry = entry_from_msg(table, pids, te)
            entities.check_entry_extras(table, te)
            entities.apply_entry_extras(table, te, entry)
            table.insert(entry)
        else:
            entry = fast[0]
            table.insert_checked(entry, fast[1])
        if te.metadata:
            _keep_metadata(st, entry, te.metadata)
    elif op == p4r.Update.MODIFY:
        if table.const_entries or _is_const_entry(table, te):
            _modify_const(st, table, te)
            return
        if not te.HasField("action"):
            # spec 9.1.2: an unset action in a MODIFY keeps the entry's action
            _modify_extras(st, table, te)
            return
        entry = entry_from_msg(table, pids, te)
        entities.check_entry_extras(table, te)
        table.modify(entry)
        stored = table.get(entry.matches, entry.priority)
        entities.apply_entry_extras(table, te, stored, modify=True)
        _keep_metadata(st, stored, te.metadata)
    else:
        # DELETE identifies the entry by match and priority; the action is ignored.
        if table.const_entries or _is_const_entry(table, te):
            raise _const_denied(table, "DELETE from")
        gone = table.get(decode_matches(table, te), _priority(table, te))
        table.delete(decode_matches(table, te), _priority(table, te))
        _keep_metadata(st, gone, b"")


def _modify_const(st: ProgramState, table: Table, te: p4r.TableEntry) -> None:
    """MODIFY of a const entry: only its direct resources (spec 9.1.3, Constant Tables)."""
    if te.HasField("action"):
        raise _const_denied(table, "MODIFY of the action in")
    _modify_extras(st, table, te)


def _modify_extras(st: ProgramState, table: Table, te: p4r.TableEntry) -> None:
    """A MODIFY without action: direct resources (and the cookie) of an existing entry."""
    entry = table.get(decode_matches(table, te), _priority(table, te))
    entities.check_entry_extras(table, te)
    entities.apply_entry_extras(table, te, entry, modify=True)
    entry.controller_metadata = te.controller_metadata
    _keep_metadata(st, entry, te.metadata)


def _write_default(
    st: ProgramState, table: Table, pids: ParamIds, op: int, te: p4r.TableEntry
) -> None:
    if op != p4r.Update.MODIFY:
        raise invalid(f"table {table.name}: the default entry can only be MODIFYed")
    if te.match or te.priority:
        raise invalid(f"table {table.name}: a default entry has no match and no priority")
    if te.idle_timeout_ns or te.HasField("time_since_last_hit"):
        raise invalid(f"table {table.name}: a default entry has no idle timeout (spec 9.1.7)")
    if table.const_default:
        raise P4RTError(
            grpc.StatusCode.PERMISSION_DENIED, f"table {table.name}: default action is const"
        )
    # Spec 9.1.6: apart from these rules the default entry is a regular entry,
    # direct resources and cookie included; resetting it (no action) also
    # resets its cookie and direct-resource configuration.
    entities.check_entry_extras(table, te)
    entry = table.default_entry
    if te.HasField("action"):
        table.set_default(decode_action(table, pids, te, default=True))
        entities.apply_entry_extras(table, te, entry, modify=True)
        entry.controller_metadata = te.controller_metadata
        _keep_metadata(st, entry, te.metadata)
    else:
        table.reset_default()  # no action = back to the program's initial default
        entry.controller_metadata = 0
        _keep_metadata(st, entry, b"")
        entry.meter_config, entry.meter_state = None, []


def read(st: ProgramState, schemas: Schemas, te: p4r.TableEntry) -> Iterator[bytes]:
    """The entries one (possibly wildcard) TableEntry read request selects (spec 9.1.4),
    each as the bytes of a ``p4.v1.Entity``."""
    if te.table_id == 0 and te.match:
        raise invalid("a wildcard read over all tables (table_id 0) cannot filter on match")
    ids = list(st.tables) if te.table_id == 0 else [te.table_id]
    filtered = bool(te.priority or te.controller_metadata or te.HasField("action"))
    for tid in ids:
        schema = schemas[tid]
        table = schema.table
        with_counters = te.HasField("counter_data") and table.direct_counter is not None
        if te.is_default_action:
            found = [(table.default_entry, True)]
        elif te.match:
            matches = decode_matches(table, te)
            try:
                found = [(table.get(matches, _priority(table, te)), False)]
            except StateError:
                found = []
        else:
            found = [(e, False) for e in table.entries()]
        kept_by_id = st.entry_metadata
        for e, is_default in found:
            if filtered and not _read_filter(table, te, e):
                continue
            kept = kept_by_id[id(e)][1] if id(e) in kept_by_id else b""
            if te.metadata and kept != te.metadata:
                continue  # spec 9.1.4: a non-empty metadata filters the read
            if kept or with_counters:
                msg = p4r.TableEntry.FromString(schema.encoded(e, default=is_default))
                msg.metadata = kept
                if with_counters:
                    msg.counter_data.packet_count = e.packets
                    msg.counter_data.byte_count = e.bytes
                yield field(ENTITY_TABLE_ENTRY, msg.SerializeToString())
            else:
                yield field(ENTITY_TABLE_ENTRY, schema.encoded(e, default=is_default))


def _priority(table: Table, te: p4r.TableEntry) -> int:
    return te.priority if table.needs_priority else 0


def _keep_metadata(st: ProgramState, entry: TableEntry, metadata: bytes) -> None:
    """TableEntry.metadata is opaque to the target but read back with the entry (spec 9.1).

    Kept beside the state (keyed by the entry object, held so its id stays
    unique) because the engine's entries have no place for it.
    """
    if metadata:
        st.entry_metadata[id(entry)] = (entry, metadata)
    else:
        st.entry_metadata.pop(id(entry), None)


def _read_filter(table: Table, te: p4r.TableEntry, e: TableEntry) -> bool:
    """Spec 9.1.4 (Wildcard Reads): a non-default priority, controller_metadata or
    action_id in the request selects only the entries that have it."""
    if te.priority and e.priority != te.priority:
        return False
    if te.controller_metadata and e.controller_metadata != te.controller_metadata:
        return False
    if te.action.WhichOneof("type") == "action" and te.action.action.action_id:
        spec = table.actions.get(getattr(e.action, "action", ""))
        return spec is not None and spec.id == te.action.action.action_id
    return True


def _const_denied(table: Table, what: str) -> P4RTError:
    # P4Runtime spec 9.1.3 (Constant Tables): the only writes allowed on a
    # table with const entries are MODIFYs of direct resources and of a
    # non-const default action; anything else is PERMISSION_DENIED. Entries
    # marked const in a preinitialized table behave the same (9.1.4).
    return P4RTError(grpc.StatusCode.PERMISSION_DENIED, f"{what} table {table.name}: const entries")


def _is_const_entry(table: Table, te: p4r.TableEntry) -> bool:
    """Whether the entry this update names exists and is marked const."""
    try:
        return table.get(decode_matches(table, te), _priority(table, te)).is_const
    except StateError:
        return False
