"""Desired-state reconciliation: the minimal Write that makes the switch hold what we want.

``diff`` is a pure function over encoded entities: given what the switch should
hold and what it holds (from a wildcard Read), it returns the INSERT, MODIFY and
DELETE updates, and nothing for entries already right. Order matters to a
pipeline whose entries refer to each other (a route names a tunnel index, the
tunnel names an SA): deletes come first, dependents before what they depend on;
then inserts, referenced entries before their dependents; then modifies, which
may now point at the new entries. A server may reorder updates inside one
Write (P4Runtime spec v1.4, section 12.2), so each dependency level is its own
phase, written as separate Write RPCs. The
dependency order is a list of table names, "a later table may refer to
entries of an earlier one"; packet replication entries come before all tables.

Table default entries and indexed externs (counters, registers, meters, value
sets) always exist on the switch, so they are only ever MODIFYed; counters are
statistics, not state, and are never part of a diff.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from finsy.proto import p4r

from controller.p4rt.canonical import describe
from controller.p4rt.codec import Codec
from controller.p4rt.entities import TableEntry
from controller.p4rt.errors import P4ValueError

INSERT = p4r.Update.INSERT
MODIFY = p4r.Update.MODIFY
DELETE = p4r.Update.DELETE

_ALWAYS_EXIST = (
    "counter_entry",
    "register_entry",
    "meter_entry",
    "value_set_entry",
    "direct_meter_entry",
)


@dataclass(frozen=True)
class Plan:
    """The updates of one reconciliation as phases; each phase is one or more Writes."""

    phases: list[list[p4r.Update]]
    unchanged: int

    @property
    def updates(self) -> list[p4r.Update]:
        """All updates in write order."""
        return [upd for phase in self.phases for upd in phase]

    @property
    def counts(self) -> dict[str, int]:
        out = {"insert": 0, "modify": 0, "delete": 0}
        for upd in self.updates:
            out[p4r.Update.Type.Name(upd.type).lower()] += 1
        return out


def normalize(msg: p4r.Entity) -> p4r.Entity:
    """The entity without read-only data (counters, const flag), matches sorted by id:
    ``msg`` itself when it is so already (never modified), else a copy."""
    if msg.WhichOneof("entity") == "table_entry":
        te = msg.table_entry
        ids = [m.field_id for m in te.match]
        has = te.HasField
        extra = has("counter_data") or has("meter_counter_data") or has("time_since_last_hit")
        if not extra and not te.is_const and ids == sorted(ids):
            return msg
    out = p4r.Entity()
    out.CopyFrom(msg)
    if out.WhichOneof("entity") == "table_entry":
        te = out.table_entry
        te.ClearField("counter_data")
        te.ClearField("meter_counter_data")
        te.ClearField("is_const")
        te.ClearField("time_since_last_hit")
        matches = sorted(te.match, key=lambda m: m.field_id)
        del te.match[:]
        te.match.extend(matches)
    return out


def entity_key(msg: p4r.Entity) -> bytes:
    """Identity of an entity on the switch: what Write addresses, without its data."""
    kind = msg.WhichOneof("entity")
    if kind == "table_entry":
        # Table id, default flag, priority and the matches sorted by field id (a
        # server may order them differently), each after its length; the leading
        # "T" (0x54, an end-group tag) begins no serialized Entity, so no other
        # kind's key.
        te = msg.table_entry
        out = [b"T%d/%d/%d" % (te.table_id, te.is_default_action, te.priority)]
        for m in sorted(te.match, key=lambda m: m.field_id):
            data = m.SerializeToString(deterministic=True)
            out.append(b"/%d:%s" % (len(data), data))
        return b"".join(out)
    ident = p4r.Entity()
    if kind == "packet_replication_engine_entry":
        pre = msg.packet_replication_engine_entry
        if pre.WhichOneof("type") == "multicast_group_entry":
            mg_id = pre.multicast_group_entry.multicast_group_id
            ident.packet_replication_engine_entry.multicast_group_entry.multicast_group_id = mg_id
        else:
            sid = pre.clone_session_entry.session_id
            ident.packet_replication_engine_entry.clone_session_entry.session_id = sid
    elif kind == "counter_entry":
        ident.counter_entry.counter_id = msg.counter_entry.counter_id
        ident.counter_entry.index.CopyFrom(msg.counter_entry.index)
    elif kind == "register_entry":
        ident.register_entry.register_id = msg.register_entry.register_id
        ident.register_entry.index.CopyFrom(msg.register_entry.index)
    elif kind == "meter_entry":
        ident.meter_entry.meter_id = msg.meter_entry.meter_id
        ident.meter_entry.index.CopyFrom(msg.meter_entry.index)
    elif kind == "value_set_entry":
        ident.value_set_entry.value_set_id = msg.value_set_entry.value_set_id
    else:
        ident.CopyFrom(msg)
    return ident.SerializeToString(deterministic=True)


def _rank(codec: Codec, msg: p4r.Entity, order: dict[int, int]) -> int:
    kind = msg.WhichOneof("entity")
    if kind == "packet_replication_engine_entry":
        return -1
    if kind == "table_entry":
        return order.get(msg.table_entry.table_id, len(order))
    return len(order) + 1


def diff(
    codec: Codec,
    desired: Iterable[p4r.Entity],
    current: Iterable[p4r.Entity],
    *,
    order: Sequence[str] = (),
) -> Plan:
    """The minimal updates turning ``current`` into ``desired`` (both encoded entities)."""
    tables = codec.schema.tables
    table_order = {tables[name].id: i for i, name in enumerate(order)}
    # Tables not named in ``order`` keep their P4Info order after the named ones.
    for tbl in tables:
        table_order.setdefault(tbl.id, len(table_order))
    const_ids = {t.id for t in tables if t.is_const}

    have: dict[bytes, p4r.Entity] = {}
    for msg in current:
        norm = normalize(msg)
        have[entity_key(norm)] = norm
    want: dict[bytes, p4r.Entity] = {}
    for msg in desired:
        norm = normalize(msg)
        key = entity_key(norm)
        prev = want.get(key)
        if prev is not None and prev != norm:
            # Two different wishes for one entry: writing either would silently lose the other.
            raise P4ValueError(
                f"desired state has conflicting entries: {describe(codec, prev)} "
                f"vs {describe(codec, norm)}"
            )
        want[key] = norm

    deletes: list[p4r.Entity] = []
    modifies: list[p4r.Entity] = []
    inserts: list[p4r.Entity] = []
    unchanged = 0
    for key, msg in want.items():
        old = have.get(key)
        kind = msg.WhichOneof("entity")
        always = kind in _ALWAYS_EXIST or (
            kind == "table_entry" and msg.table_entry.is_default_action
        )
        if old is None:
            (modifies if always else inserts).append(msg)
        elif old.SerializeToString(deterministic=True) != msg.SerializeToString(deterministic=True):
            modifies.append(msg)
        else:
            unchanged += 1
    for key, msg in have.items():
        if key in want:
            continue
        kind = msg.WhichOneof("entity")
        if kind in _ALWAYS_EXIST or kind in ("counter_entry", "direct_counter_entry"):
            continue  # cannot be deleted; left as they are
        if kind == "table_entry" and (
            msg.table_entry.is_default_action or msg.table_entry.table_id in const_ids
        ):
            continue
        deletes.append(msg)

    def rank(m: p4r.Entity) -> int:
        return _rank(codec, m, table_order)

    phases = _phases(DELETE, deletes, rank, reverse=True)
    phases += _phases(INSERT, inserts, rank)
    if modifies:
        phases.append([p4r.Update(type=MODIFY, entity=m) for m in sorted(modifies, key=rank)])
    return Plan(phases, unchanged)


def _phases(
    kind: int, msgs: list[p4r.Entity], rank: Callable[[p4r.Entity], int], *, reverse: bool = False
) -> list[list[p4r.Update]]:
    """One phase per dependency level, in level order."""
    levels: dict[int, list[p4r.Update]] = {}
    for msg in msgs:
        levels.setdefault(rank(msg), []).append(p4r.Update(type=kind, entity=msg))  # type: ignore[arg-type]
    return [levels[r] for r in sorted(levels, reverse=reverse)]


def check_scope(codec: Codec, wanted: list[p4r.Entity], reads: list[p4r.Entity]) -> None:
    """Refuse desired entries that the scope does not read: they would be re-inserted
    on every pass (ALREADY_EXISTS) instead of being compared."""
    tables = {r.table_entry.table_id for r in reads if r.WhichOneof("entity") == "table_entry"}
    pre = {
        r.packet_replication_engine_entry.WhichOneof("type")
        for r in reads
        if r.WhichOneof("entity") == "packet_replication_engine_entry"
    }
    for msg in wanted:
        kind = msg.WhichOneof("entity")
        if kind == "table_entry" and not msg.table_entry.is_default_action:
            tid = msg.table_entry.table_id
            if 0 not in tables and tid not in tables:
                name = codec.schema.tables[tid].short
                raise P4ValueError(
                    f"reconcile: table {name} has desired entries but is not in scope"
                )
        elif kind == "packet_replication_engine_entry":
            sub = msg.packet_replication_engine_entry.WhichOneof("type")
            if sub not in pre:
                raise P4ValueError(f"reconcile: {sub} entries desired but not in scope")


@dataclass(frozen=True)
class EntryPlan:
    """``plan_changes``' answer: phases of (update type, table entries), in write order."""

    phases: list[tuple[p4r.Update.Type.ValueType, list[TableEntry]]]

    @property
    def counts(self) -> dict[str, int]:
        out = {"insert": 0, "modify": 0, "delete": 0}
        for kind, ents in self.phases:
            out[p4r.Update.Type.Name(kind).lower()] += len(ents)
        return out


def plan_changes(
    codec: Codec,
    changes: Iterable[tuple[TableEntry | None, TableEntry | None]],
    *,
    order: Sequence[str] = (),
) -> EntryPlan:
    """``diff``'s phases for known changes, (was, now) per entry key, without encoding.

    For a caller that knows what the switch holds under each key because it wrote
    it (the daemon's incremental writer): no entry is encoded, parsed or compared
    here; the entries go out by the write templates, pipelined with the RPCs.
    The same rules as ``diff``: default entries are only modified, never deleted;
    const tables are never deleted from; deletes dependents first, inserts
    dependencies first, each table rank its own phase, then the modifies.
    """
    tables = codec.schema.tables
    # by full name and alias; tables not in ``order`` after them in P4Info order, as diff
    rank: dict[str, int] = {}
    last = 0  # ends past every table: for one the P4Info lacks (the encoder refuses it)
    for tbl in [tables[name] for name in order] + list(tables):
        if tbl.name not in rank:
            rank[tbl.name] = rank[tbl.short] = last
            last += 1
    const = {n for t in tables if t.is_const for n in (t.name, t.short)}
    deletes: dict[int, list[TableEntry]] = {}
    inserts: dict[int, list[TableEntry]] = {}
    modifies: list[tuple[int, TableEntry]] = []
    for was, now in changes:
        if now is None:
            if was is None or was.is_default or was.table in const:
                continue
            deletes.setdefault(rank.get(was.table, last), []).append(was)
        elif was is None and not now.is_default:
            inserts.setdefault(rank.get(now.table, last), []).append(now)
        elif was != now:
            modifies.append((rank.get(now.table, last), now))
    phases = [(DELETE, deletes[r]) for r in sorted(deletes, reverse=True)]
    phases += [(INSERT, inserts[r]) for r in sorted(inserts)]
    if modifies:
        phases.append((MODIFY, [ent for _, ent in sorted(modifies, key=lambda m: m[0])]))
    return EntryPlan(phases)
