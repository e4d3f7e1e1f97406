"""p4.v1.TableEntry <-> p4sim table state, with P4Runtime's validation rules.

P4Runtime spec sections 9.1 (TableEntry) and 8.4 (bytestrings):

- every key field id must belong to the table and appear at most once; exact
  fields must be present; a don't-care lpm/ternary/range/optional field is
  omitted, so a prefix length of 0, a ternary mask of 0 and a full range are
  INVALID_ARGUMENT;
- lpm: prefix length <= bitwidth, value bits beyond the prefix must be zero;
- ternary: value & ~mask must be zero; range: low <= high;
- priority: > 0 when the table has ternary/range/optional fields, else 0;
- values wider than their field (or action parameter) are OUT_OF_RANGE;
- reads answer with canonical bytestrings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import grpc
from finsy.proto import p4i, p4r

from targets.p4sim.runtime import bytestrings as bs
from targets.p4sim.runtime.errors import P4RTError, invalid, unimplemented
from targets.p4sim.state import (
    ActionCall,
    Exact,
    KeyField,
    Lpm,
    MatchKind,
    Optional,
    Range,
    Table,
    TableEntry,
    Ternary,
)
from targets.p4sim.state.tables import FieldMatch

DENIED = grpc.StatusCode.PERMISSION_DENIED

_KIND_OF_ONEOF = {
    "exact": MatchKind.EXACT,
    "lpm": MatchKind.LPM,
    "ternary": MatchKind.TERNARY,
    "range": MatchKind.RANGE,
    "optional": MatchKind.OPTIONAL,
}


def decode_matches(table: Table, msg: p4r.TableEntry) -> tuple[FieldMatch | None, ...]:
    """The entry's key in state form; ``None`` for an omitted (don't-care) field."""
    return decode_field_matches(table.keys, f"table {table.name}", msg.match)


def decode_field_matches(
    keys: Sequence[KeyField], owner: str, match: Iterable[p4r.FieldMatch]
) -> tuple[FieldMatch | None, ...]:
    """FieldMatches against ``keys`` (a table's key or a value set's match), spec 9.1.1."""
    by_id = {k.id: (i, k) for i, k in enumerate(keys)}
    out: list[FieldMatch | None] = [None] * len(keys)
    seen: set[int] = set()
    for fm in match:
        if fm.field_id not in by_id:
            raise invalid(f"{owner}: no match field with id {fm.field_id}")
        if fm.field_id in seen:
            raise invalid(f"{owner}: match field id {fm.field_id} given twice")
        seen.add(fm.field_id)
        i, key = by_id[fm.field_id]
        where = f"{owner} field {key.name}"
        which = fm.WhichOneof("field_match_type")
        if which is None or _KIND_OF_ONEOF.get(which) is not key.match_kind:
            raise invalid(f"{where}: {which or 'no'} match given for a {key.match_kind} field")
        w = key.bitwidth
        top = (1 << w) - 1
        if which == "exact":
            out[i] = Exact(bs.decode(fm.exact.value, w, where))
        elif which == "lpm":
            value = bs.decode(fm.lpm.value, w, where)
            plen = fm.lpm.prefix_len
            if plen <= 0 or plen > w:
                raise invalid(f"{where}: prefix length {plen} not in 1..{w} (omit it for /0)")
            if value & (top >> plen):
                raise invalid(f"{where}: value has bits set beyond prefix length {plen}")
            out[i] = Lpm(value, plen)
        elif which == "ternary":
            value = bs.decode(fm.ternary.value, w, where)
            mask = bs.decode(fm.ternary.mask, w, f"{where} mask")
            if mask == 0:
                raise invalid(f"{where}: all-zero mask (omit the field for a wildcard)")
            if value & ~mask:
                raise invalid(f"{where}: value has bits set outside the mask")
            out[i] = Ternary(value, mask)
        elif which == "range":
            low = bs.decode(fm.range.low, w, f"{where} low")
            high = bs.decode(fm.range.high, w, f"{where} high")
            if low > high:
                raise invalid(f"{where}: range low {low} > high {high}")
            if (low, high) == (0, top):
                raise invalid(f"{where}: full range (omit the field for a wildcard)")
            out[i] = Range(low, high)
        else:
            out[i] = Optional(bs.decode(fm.optional.value, w, where))
    for i, key in enumerate(keys):
        if out[i] is None and key.match_kind is MatchKind.EXACT:
            raise invalid(f"{owner}: exact field {key.name} is missing")
    return tuple(out)


def check_priority(table: Table, priority: int) -> int:
    if table.needs_priority and priority <= 0:
        raise invalid(f"table {table.name}: needs a priority > 0 (it has non-exact/lpm fields)")
    if not table.needs_priority and priority != 0:
        raise invalid(f"table {table.name}: priority must be 0 (exact/lpm fields only)")
    if priority >= 1 << 31:
        raise invalid(f"table {table.name}: priority {priority} exceeds 2^31-1")
    return priority


def decode_action(
    table: Table, pids: ParamIds, msg: p4r.TableEntry, *, default: bool
) -> ActionCall:
    which = msg.action.WhichOneof("type")
    if which is None:
        raise invalid(f"table {table.name}: entry has no action")
    if which != "action":
        raise unimplemented(f"table {table.name}: {which} (action profiles) is not supported")
    act = msg.action.action
    spec = next((a for a in table.actions.values() if a.id == act.action_id), None)
    if spec is None:
        raise invalid(f"table {table.name}: action id {act.action_id} is not one of its actions")
    # A valid action used outside its P4Info scope is PERMISSION_DENIED, not
    # INVALID_ARGUMENT (spec 9.1.2, Action Specification).
    if default and spec.scope == "TABLE_ONLY":
        raise P4RTError(DENIED, f"table {table.name}: action {spec.name} is @tableonly")
    if not default and spec.scope == "DEFAULT_ONLY":
        raise P4RTError(DENIED, f"table {table.name}: action {spec.name} is @defaultonly")
    ids = _param_ids(pids, spec.name, spec.params)
    by_id = {pid: (i, name, w) for i, (pid, (name, w)) in enumerate(ids)}
    args: list[int | None] = [None] * len(spec.params)
    for p in act.params:
        if p.param_id not in by_id:
            raise invalid(f"action {spec.name}: no parameter with id {p.param_id}")
        i, name, w = by_id[p.param_id]
        if args[i] is not None:
            raise invalid(f"action {spec.name}: parameter {name} given twice")
        args[i] = bs.decode(p.value, w, f"action {spec.name} param {name}")
    missing = [spec.params[i][0] for i, a in enumerate(args) if a is None]
    if missing:
        raise invalid(f"action {spec.name}: missing parameter(s) {', '.join(missing)}")
    return ActionCall(spec.name, tuple(a for a in args if a is not None))


ParamIds = dict[str, tuple[int, ...]]  # action name -> P4Info param ids in declaration order


def param_ids_from_p4info(p4info: p4i.P4Info) -> ParamIds:
    return {a.preamble.name: tuple(p.id for p in a.params) for a in p4info.actions}


def _param_ids(
    pids: ParamIds, action: str, params: tuple[tuple[str, int], ...]
) -> list[tuple[int, tuple[str, int]]]:
    ids = pids.get(action) or tuple(range(1, len(params) + 1))
    return list(zip(ids, params, strict=True))


def encode_action(table: Table, pids: ParamIds, call: ActionCall) -> p4r.TableAction:
    spec = table.actions[call.action]
    out = p4r.TableAction()
    out.action.action_id = spec.id
    for (pid, _), value in zip(_param_ids(pids, spec.name, spec.params), call.args, strict=True):
        out.action.params.add(param_id=pid, value=bs.encode(value))
    return out


def encode_entry(
    table: Table, pids: ParamIds, entry: TableEntry, *, default: bool = False
) -> p4r.TableEntry:
    """The canonical P4Runtime form of a stored entry (what a Read returns)."""
    msg = p4r.TableEntry(table_id=table.id)
    if default:
        msg.is_default_action = True
    else:
        msg.match.extend(encode_field_matches(table.keys, entry.matches))
        msg.priority = entry.priority
        msg.is_const = entry.is_const
    msg.action.CopyFrom(encode_action(table, pids, entry.action))
    if entry.controller_metadata:
        msg.controller_metadata = entry.controller_metadata
    return msg


def encode_field_matches(
    keys: Sequence[KeyField], matches: Sequence[FieldMatch | None]
) -> list[p4r.FieldMatch]:
    """Canonical FieldMatches (don't-care fields omitted, shortest bytestrings)."""
    out = []
    for key, m in zip(keys, matches, strict=True):
        top = (1 << key.bitwidth) - 1
        f = p4r.FieldMatch(field_id=key.id)
        if isinstance(m, Exact):
            f.exact.value = bs.encode(m.value)
        elif isinstance(m, Lpm) and m.prefix_len:
            f.lpm.value, f.lpm.prefix_len = bs.encode(m.value), m.prefix_len
        elif isinstance(m, Ternary) and m.mask:
            f.ternary.value, f.ternary.mask = bs.encode(m.value), bs.encode(m.mask)
        elif isinstance(m, Range) and (m.low, m.high) != (0, top):
            f.range.low, f.range.high = bs.encode(m.low), bs.encode(m.high)
        elif isinstance(m, Optional) and m.value is not None:
            f.optional.value = bs.encode(m.value)
        else:
            continue
        out.append(f)
    return out


def find_table(tables: dict[int, Table], table_id: int) -> Table:
    """The table with this P4Info id; an id the P4Info does not define is INVALID_ARGUMENT.

    P4Runtime spec 8.1.1 (0 is never a valid object id in a write) and 12
    (Write RPC: "If the entity is malformed, an INVALID_ARGUMENT error is
    usually returned"): an unknown id makes the request malformed. NOT_FOUND
    is kept for things the controller creates at runtime (entries, groups,
    sessions) that are missing; PI/simple_switch_grpc answer the same way.
    """
    table = tables.get(table_id)
    if table is None:
        raise invalid(f"no table with id {table_id} in the P4Info")
    return table


def entry_from_msg(table: Table, pids: ParamIds, msg: p4r.TableEntry) -> TableEntry:
    """A validated state entry for INSERT/MODIFY (non-default)."""
    matches = decode_matches(table, msg)
    priority = check_priority(table, msg.priority)
    call = decode_action(table, pids, msg, default=False)
    return TableEntry(matches, call, priority, controller_metadata=msg.controller_metadata)


def encode_match_only(table: Table, entry: TableEntry, *, default: bool) -> p4r.TableEntry:
    """Just the identity of an entry (table, match, priority), for direct resources."""
    full = encode_entry(table, {}, entry, default=default)
    full.ClearField("action")
    full.ClearField("controller_metadata")
    full.ClearField("is_const")
    return full
