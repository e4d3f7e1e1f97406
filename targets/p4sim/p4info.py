"""P4Info generation with p4c's naming and id rules.

* Names are fully qualified: control instance + local name (top-level blocks
  are named after their declarations), `@name` overrides the local part and a
  leading '.' makes it absolute.
* Ids: (resource prefix << 24) | (Jenkins one-at-a-time hash of the name &
  0xFFFFFF). `@id` values are reserved first; on a collision the hash is
  incremented (wrapping within 24 bits) until free, as p4c does.
* Aliases are the shortest dot-separated suffix unique among all names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from finsy.proto import p4i

from targets.p4sim import types as T
from targets.p4sim.compiler.gen import Generated
from targets.p4sim.compiler.infos import NewTypeInfo
from targets.p4sim.frontend import ast as A
from targets.p4sim.p4info_types import named_types, new_type, type_spec

ACTION, TABLE, VALUE_SET, CONTROLLER_HEADER = 0x01, 0x02, 0x03, 0x04
ACTION_PROFILE = 0x11
EXTERN_PREFIX = {
    "counter": 0x12,
    "direct_counter": 0x13,
    "meter": 0x14,
    "direct_meter": 0x15,
    "register": 0x16,
    "value_set": VALUE_SET,
    "action_profile": ACTION_PROFILE,
    "action_selector": ACTION_PROFILE,
}
COUNTER, DIRECT_COUNTER, METER, DIRECT_METER, REGISTER, DIGEST = 0x12, 0x13, 0x14, 0x15, 0x16, 0x17
MATCH_TYPES = {"exact": 2, "lpm": 3, "ternary": 4, "range": 5, "optional": 6}
# Annotations p4c consumes itself rather than copying into P4Info.
HIDDEN_ANNOTATIONS = {
    "name",
    "id",
    "defaultonly",
    "tableonly",
    "field_list",
    "hidden",
    "pipeline",
    "deparser",
    "metadata",
    "alias",
    "priority",
    "controller_header",
    "match",
}


def jenkins_one_at_a_time(data: bytes) -> int:
    h = 0
    for b in data:
        h = (h + b) & 0xFFFFFFFF
        h = (h + (h << 10)) & 0xFFFFFFFF
        h ^= h >> 6
    h = (h + (h << 3)) & 0xFFFFFFFF
    h ^= h >> 11
    h = (h + (h << 15)) & 0xFFFFFFFF
    return h


class IdAllocator:
    def __init__(self) -> None:
        self.used: set[int] = set()
        self.ids: dict[tuple[int, str], int] = {}

    def reserve(self, prefix: int, name: str, annotations: Iterable[A.Annotation]) -> None:
        for a in annotations:
            if a.name == "id" and a.args and isinstance(a.args[0], int):
                v = a.args[0]
                i = v if v >> 24 else (prefix << 24) | v
                self.used.add(i)
                self.ids[(prefix, name)] = i

    def get(self, prefix: int, name: str) -> int:
        k = (prefix, name)
        if k in self.ids:
            return self.ids[k]
        low = jenkins_one_at_a_time(name.encode()) & 0xFFFFFF
        while (prefix << 24) | low in self.used:
            low = (low + 1) & 0xFFFFFF
        i = (prefix << 24) | low
        self.used.add(i)
        self.ids[k] = i
        return i


def alias_map(names: Iterable[str]) -> dict[str, str]:
    names = list(dict.fromkeys(names))
    out = {}
    for n in names:
        parts = n.split(".")
        for k in range(1, len(parts) + 1):
            suffix = ".".join(parts[-k:])
            clash = [m for m in names if m != n and (m == suffix or m.endswith("." + suffix))]
            if not clash:
                out[n] = suffix
                break
        else:
            out[n] = n
    return out


def _annos(
    annotations: Iterable[A.Annotation], keep: frozenset[str] | set[str] = frozenset()
) -> list[str]:
    out = []
    for a in annotations:
        if a.name in HIDDEN_ANNOTATIONS and a.name not in keep:
            continue
        if a.args:
            args = ", ".join(f'"{x}"' if isinstance(x, str) else str(x) for x in a.args)
            out.append(f"@{a.name}({args})")
        else:
            out.append(f"@{a.name}")
    return out


def build_p4info(g: Generated, ids: IdAllocator | None = None) -> tuple[Any, IdAllocator]:
    """P4Info message for a generated program, and the id allocator used."""
    ids = ids or IdAllocator()
    info = p4i.P4Info()
    info.pkg_info.arch = g.arch
    # p4c drops tables never applied from live code, and actions nothing live uses.
    tables = {fq: t for fq, t in g.tables.items() if t.applied}
    live = g.called_actions | {a for t in tables.values() for a, _, _ in t.actions}
    actions = {fq: a for fq, a in g.actions.items() if fq in live}
    # Reserve @id values first so hashed ids avoid them.
    for a in actions.values():
        ids.reserve(ACTION, a.fq, a.annotations)
    for t in tables.values():
        ids.reserve(TABLE, t.fq, t.annotations)
    kinds = {
        "counter": COUNTER,
        "direct_counter": DIRECT_COUNTER,
        "meter": METER,
        "direct_meter": DIRECT_METER,
        "register": REGISTER,
        "value_set": VALUE_SET,
        "action_profile": ACTION_PROFILE,
        "action_selector": ACTION_PROFILE,
    }
    for e in g.externs.values():
        if e.kind in kinds:
            ids.reserve(kinds[e.kind], e.fq, e.annotations)
    all_names = [*tables, *actions, *g.externs]
    aliases = alias_map(all_names)

    def preamble(msg: Any, prefix: int, name: str, annotations: Iterable[A.Annotation]) -> None:
        msg.preamble.id = ids.get(prefix, name)
        msg.preamble.name = name
        msg.preamble.alias = aliases.get(name, name)
        msg.preamble.annotations.extend(_annos(annotations))

    for t in tables.values():
        tm = info.tables.add()
        preamble(tm, TABLE, t.fq, t.annotations)
        for i, k in enumerate(t.keys, 1):
            mf = tm.match_fields.add(id=i, name=k.name, bitwidth=k.width)
            if k.new_type is not None:
                _name_new_type(mf, k.new_type, info.type_info)
            if k.match_kind in MATCH_TYPES:
                mf.match_type = MATCH_TYPES[k.match_kind]
            else:
                mf.other_match_type = k.match_kind
        for fq, scope, annos in t.actions:
            ar = tm.action_refs.add(id=ids.get(ACTION, fq))
            _action_ref_annotations(ar, scope, annos)
        if t.const_default:
            tm.const_default_action_id = ids.get(ACTION, t.default_action[0])
        # No initial_default_action: p4c 1.2.4.8 (the reference) does not write it.
        for res in (t.direct_counter, t.direct_meter):
            if res:
                kind = g.externs[res].kind
                tm.direct_resource_ids.append(ids.get(kinds[kind], res))
        if t.implementation:
            tm.implementation_id = ids.get(ACTION_PROFILE, t.implementation)
        tm.size = t.size
        if t.idle_timeout:
            tm.idle_timeout_behavior = p4i.Table.IdleTimeoutBehavior.NOTIFY_CONTROL
        if t.entries is not None:
            tm.is_const_table = t.const_entries
            tm.has_initial_entries = bool(t.entries)  # p4c: an empty list has none
    for a in actions.values():
        am = info.actions.add()
        preamble(am, ACTION, a.fq, a.annotations)
        for i, (pn, w) in enumerate(a.params, 1):
            pm = am.params.add(id=i, name=pn, bitwidth=w)
            nt = a.new_types[i - 1] if i <= len(a.new_types) else None
            if nt is not None:
                _name_new_type(pm, nt, info.type_info)
    for e in g.externs.values():
        if e.kind == "counter":
            m = info.counters.add()
            preamble(m, COUNTER, e.fq, e.annotations)
            m.spec.unit = _counter_unit(e.unit)
            m.size = e.size
        elif e.kind == "direct_counter" and e.table in tables:
            m = info.direct_counters.add()
            preamble(m, DIRECT_COUNTER, e.fq, e.annotations)
            m.spec.unit = _counter_unit(e.unit)
            m.direct_table_id = ids.get(TABLE, e.table)
        elif e.kind == "meter":
            m = info.meters.add()
            preamble(m, METER, e.fq, e.annotations)
            m.spec.unit = _meter_unit(e.unit)
            m.size = e.size
        elif e.kind == "direct_meter" and e.table in tables:
            m = info.direct_meters.add()
            preamble(m, DIRECT_METER, e.fq, e.annotations)
            m.spec.unit = _meter_unit(e.unit)
            m.direct_table_id = ids.get(TABLE, e.table)
        elif e.kind == "register":
            m = info.registers.add()
            preamble(m, REGISTER, e.fq, e.annotations)
            if e.elem_type is not None:
                type_spec(e.elem_type, m.type_spec, info.type_info)
            else:
                m.type_spec.bitstring.bit.bitwidth = e.width
            m.size = e.size
        elif e.kind in ("action_profile", "action_selector"):
            m = info.action_profiles.add()
            preamble(m, ACTION_PROFILE, e.fq, e.annotations)
            m.table_ids.extend(ids.get(TABLE, t) for t in e.tables if t in tables)
            m.with_selector = e.kind == "action_selector"
            m.size = e.size
        elif e.kind == "value_set":
            m = info.value_sets.add()
            preamble(m, VALUE_SET, e.fq, e.annotations)
            _value_set_match(m, e.members, e.width)
            m.size = e.size
    for ch in g.controller_headers:
        m = info.controller_packet_metadata.add()
        # p4c hashes the header type's control-plane name (its @name, else the type
        # name), not the name in @controller_header, which is only the preamble's name.
        renamed = next((a for a in ch.annotations if a.name == "name" and a.args), None)
        m.preamble.id = ids.get(
            CONTROLLER_HEADER, str(renamed.args[0]) if renamed else ch.type_name
        )
        m.preamble.name = ch.name
        m.preamble.alias = ch.name
        m.preamble.annotations.append(f'@controller_header("{ch.name}")')
        for fid, (fn, w, fa) in zip(_field_ids(ch.fields), ch.fields, strict=True):
            md = m.metadata.add(id=fid, name=fn, bitwidth=w)
            md.annotations.extend(_annos(fa))
            nt = ch.new_types[len(m.metadata) - 1] if ch.new_types else None
            if nt is not None:
                _name_new_type(md, nt, info.type_info)
    for name, st in g.digests.items():
        m = info.digests.add()
        m.preamble.id = ids.get(DIGEST, name)
        m.preamble.name = name
        m.preamble.alias = name
        if isinstance(st, T.StructT | T.TupleT):
            type_spec(st, m.type_spec, info.type_info)
        else:
            m.type_spec.struct.name = name
    # Types p4c converts without writing a spec: keys' and action parameters'.
    named_types([k.type for t in tables.values() for k in t.keys], info.type_info)
    named_types([pt for a in actions.values() for pt in a.types], info.type_info)
    if _writes_type_info(g, info):
        info.type_info.SetInParent()
    return info, ids


def _name_new_type(msg: Any, nt: NewTypeInfo, type_info: Any) -> None:
    """A key, action parameter or controller header field of a ``type``: named in
    ``type_name``, with the translated width when ``@p4runtime_translation`` has one."""
    msg.type_name.name = nt.name
    width = new_type(nt, type_info)
    if width is not None:
        msg.bitwidth = width


def _action_ref_annotations(ar: Any, scope: str, annos: list[A.Annotation]) -> None:
    """An action reference keeps every annotation written on it (in order, so an
    unknown one such as a misspelt ``@defaut_only`` too); the NoAction p4c adds
    to a table has a ``@defaultonly`` of its own."""
    kept = [a for a in annos if a.name in ("defaultonly", "tableonly")]
    ar.annotations.extend(_annos(annos, keep={"defaultonly", "tableonly"}))
    if scope == "DEFAULT_ONLY":
        ar.scope = p4i.ActionRef.Scope.DEFAULT_ONLY
        if not kept:
            ar.annotations.append("@defaultonly")
    elif scope == "TABLE_ONLY":
        ar.scope = p4i.ActionRef.Scope.TABLE_ONLY


def _writes_type_info(g: Generated, info: Any) -> bool:
    """Whether p4c writes ``type_info`` (maybe empty): it creates it on the first type it
    converts: a table's keys, an action parameter, an extern instance (of any extern
    type), an extern function called from a control, a controller header field."""
    return bool(
        info.tables
        or any(a.params for a in info.actions)
        or any(e.kind != "value_set" for e in g.externs.values())
        or g.type_info_uses
        or any(m.metadata for m in info.controller_packet_metadata)
    )


def _value_set_match(
    msg: Any, members: list[tuple[str, int, list[A.Annotation]]], width: int
) -> None:
    """The ValueSet's match fields as p4c writes them (P4Runtime spec 8.3 "ValueSet").

    value_set<bit<W>>: one field, id 1, bitwidth W, EXACT and no name. A struct:
    one field per member in declaration order, named by @name or the member name,
    its @id kept and the others numbered 1, 2, ... skipping taken ids (p4c's
    FieldIdAllocator), match kind from @match (EXACT by default), annotations
    other than @match/@id/@name copied.
    """
    if not members:
        msg.match.add(id=1, bitwidth=width, match_type=MATCH_TYPES["exact"])
        return
    for fid, (name, bits, annos) in zip(_field_ids(members), members, strict=True):
        mf = msg.match.add(id=fid, name=_str_arg(annos, "name") or name, bitwidth=bits)
        kind = _str_arg(annos, "match") or "exact"
        if kind in MATCH_TYPES:
            mf.match_type = MATCH_TYPES[kind]
        else:
            mf.other_match_type = kind
        mf.annotations.extend(_annos(annos))


def _field_ids(members: list[tuple[str, int, list[A.Annotation]]]) -> list[int]:
    """Ids of value-set match fields and controller header fields (p4c's
    FieldIdAllocator): an ``@id`` is kept, the others get 1, 2, ... skipping taken ids."""
    fixed = [_int_arg(annos, "id") for _, _, annos in members]
    taken = {i for i in fixed if i is not None}
    out, next_id = [], 1
    for fid in fixed:
        if fid is None:
            while next_id in taken:
                next_id += 1
            fid = next_id
            taken.add(fid)
        out.append(fid)
    return out


def _int_arg(annos: Iterable[A.Annotation], name: str) -> int | None:
    a = next((a for a in annos if a.name == name), None)
    return a.args[0] if a is not None and a.args and isinstance(a.args[0], int) else None


def _str_arg(annos: Iterable[A.Annotation], name: str) -> str | None:
    a = next((a for a in annos if a.name == name), None)
    return str(a.args[0]) if a is not None and a.args else None


def _counter_unit(unit: str) -> int:
    return {"bytes": 1, "packets": 2, "packets_and_bytes": 3}.get(unit, 0)


def _meter_unit(unit: str) -> int:
    return {"bytes": 1, "packets": 2}.get(unit, 0)
