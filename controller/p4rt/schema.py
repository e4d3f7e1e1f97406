"""P4Info schema: names <-> IDs for every object a controller touches.

Controller code names tables, actions, fields and externs; this module is the
only place that turns those names into P4Info IDs (P4Runtime spec v1.4,
section 6 "P4Info"). A name may be the fully qualified P4 name
("MyIngress.vrf_fib") or the unique short alias P4Info carries ("vrf_fib").
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from finsy.proto import p4i

from controller.p4rt.errors import SchemaError

MATCH_TYPES = {
    p4i.MatchField.EXACT: "exact",
    p4i.MatchField.LPM: "lpm",
    p4i.MatchField.TERNARY: "ternary",
    p4i.MatchField.RANGE: "range",
    p4i.MatchField.OPTIONAL: "optional",
}


@dataclass(frozen=True)
class Named:
    """Something P4Info gives an ID, a full name and an alias."""

    id: int
    name: str
    alias: str

    @property
    def short(self) -> str:
        """The name controller code and readable strings use."""
        return self.alias or self.name


@dataclass(frozen=True)
class Field(Named):
    """A match field, action parameter or packet metadata field."""

    bitwidth: int
    match_type: str = ""


@dataclass(frozen=True)
class Action(Named):
    params: tuple[Field, ...]

    def param(self, name: str) -> Field:
        return _find_field(self.params, name, f"action {self.short}: parameter")


@dataclass(frozen=True)
class Table(Named):
    match_fields: tuple[Field, ...]
    action_ids: tuple[int, ...]
    # Actions restricted by @tableonly / @defaultonly (P4Info ActionRef.scope).
    table_only_ids: frozenset[int]
    default_only_ids: frozenset[int]
    size: int
    const_default_action_id: int
    direct_resource_ids: tuple[int, ...]
    is_const: bool

    def match_field(self, name: str) -> Field:
        return _find_field(self.match_fields, name, f"table {self.short}: match field")

    def match_field_by_id(self, field_id: int) -> Field:
        for fld in self.match_fields:
            if fld.id == field_id:
                return fld
        raise SchemaError(f"table {self.short}: no match field with id {field_id}")

    @property
    def needs_priority(self) -> bool:
        """Tables with ternary, range or optional fields order entries by priority."""
        return any(f.match_type in ("ternary", "range", "optional") for f in self.match_fields)


@dataclass(frozen=True)
class Extern(Named):
    """Counter, direct counter, meter, register or value set."""

    size: int = 0
    unit: str = ""
    direct_table_id: int = 0
    bitwidth: int = 0
    match_fields: tuple[Field, ...] = ()


@dataclass(frozen=True)
class PacketMetadata(Named):
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field:
        return _find_field(self.fields, name, f"{self.short} metadata")


def _find_field(fields: Iterable[Field], name: str, what: str) -> Field:
    for fld in fields:
        if name in (fld.name, fld.alias):
            return fld
    known = ", ".join(f.name for f in fields)
    raise SchemaError(f"{what} {name!r} does not exist (known: {known})")


T = TypeVar("T", bound=Named)


@dataclass
class Space(Generic[T]):
    """One kind of P4Info object, looked up by name, alias or ID."""

    kind: str
    by_id: dict[int, T] = field(default_factory=dict)
    by_name: dict[str, T] = field(default_factory=dict)

    def add(self, obj: T) -> None:
        self.by_id[obj.id] = obj
        self.by_name[obj.name] = obj
        # An alias shared by two objects would be ambiguous; the full name still works.
        if obj.alias and obj.alias not in self.by_name:
            self.by_name[obj.alias] = obj

    def __getitem__(self, key: str | int) -> T:
        try:
            return self.by_id[key] if isinstance(key, int) else self.by_name[key]
        except KeyError:
            raise SchemaError(f"P4Info has no {self.kind} {key!r}") from None

    def __iter__(self) -> Iterator[T]:
        return iter(self.by_id.values())

    def __len__(self) -> int:
        return len(self.by_id)


def _named(pre: p4i.Preamble) -> tuple[int, str, str]:
    return pre.id, pre.name, pre.alias


class P4Schema:
    """Lookup tables built from one ``p4.config.v1.P4Info`` message."""

    def __init__(self, p4info: p4i.P4Info) -> None:
        self.p4info = p4info
        self.tables: Space[Table] = Space("table")
        self.actions: Space[Action] = Space("action")
        self.counters: Space[Extern] = Space("counter")
        self.direct_counters: Space[Extern] = Space("direct counter")
        self.meters: Space[Extern] = Space("meter")
        self.direct_meters: Space[Extern] = Space("direct meter")
        self.registers: Space[Extern] = Space("register")
        self.value_sets: Space[Extern] = Space("value set")
        self.packet_metadata: Space[PacketMetadata] = Space("controller packet metadata")
        for act in p4info.actions:
            params = tuple(Field(p.id, p.name, "", p.bitwidth) for p in act.params)
            self.actions.add(Action(*_named(act.preamble), params=params))
        for tbl in p4info.tables:
            fields = tuple(
                Field(m.id, m.name, "", m.bitwidth, MATCH_TYPES.get(m.match_type, "unspecified"))
                for m in tbl.match_fields
            )
            self.tables.add(
                Table(
                    *_named(tbl.preamble),
                    match_fields=fields,
                    action_ids=tuple(ref.id for ref in tbl.action_refs),
                    table_only_ids=frozenset(
                        r.id for r in tbl.action_refs if r.scope == p4i.ActionRef.TABLE_ONLY
                    ),
                    default_only_ids=frozenset(
                        r.id for r in tbl.action_refs if r.scope == p4i.ActionRef.DEFAULT_ONLY
                    ),
                    size=tbl.size,
                    const_default_action_id=tbl.const_default_action_id,
                    direct_resource_ids=tuple(tbl.direct_resource_ids),
                    is_const=tbl.is_const_table,
                )
            )
        for ctr in p4info.counters:
            unit = p4i.CounterSpec.Unit.Name(ctr.spec.unit)
            self.counters.add(Extern(*_named(ctr.preamble), size=ctr.size, unit=unit))
        for dct in p4info.direct_counters:
            unit = p4i.CounterSpec.Unit.Name(dct.spec.unit)
            self.direct_counters.add(
                Extern(*_named(dct.preamble), unit=unit, direct_table_id=dct.direct_table_id)
            )
        for mtr in p4info.meters:
            unit = p4i.MeterSpec.Unit.Name(mtr.spec.unit)
            self.meters.add(Extern(*_named(mtr.preamble), size=mtr.size, unit=unit))
        for dmt in p4info.direct_meters:
            self.direct_meters.add(
                Extern(*_named(dmt.preamble), direct_table_id=dmt.direct_table_id)
            )
        for reg in p4info.registers:
            width = reg.type_spec.bitstring.bit.bitwidth
            self.registers.add(Extern(*_named(reg.preamble), size=reg.size, bitwidth=width))
        for vs in p4info.value_sets:
            short = vs.preamble.alias or vs.preamble.name
            # P4Runtime spec 8.3: a value_set<bit<W>> has one match field, id 1,
            # with NO name; callers know it by the value set's own name (alias).
            unnamed = len(vs.match) == 1 and not vs.match[0].name
            fields = tuple(
                Field(
                    m.id,
                    m.name,
                    short if unnamed else "",
                    m.bitwidth,
                    MATCH_TYPES.get(m.match_type, "exact"),
                )
                for m in vs.match
            )
            self.value_sets.add(Extern(*_named(vs.preamble), size=vs.size, match_fields=fields))
        for cpm in p4info.controller_packet_metadata:
            mfields = tuple(Field(m.id, m.name, "", m.bitwidth) for m in cpm.metadata)
            self.packet_metadata.add(PacketMetadata(*_named(cpm.preamble), fields=mfields))

    def table_action(self, table: Table, action_name: str, *, default: bool = False) -> Action:
        """The action, checked to be one the table may run (as entry or as default)."""
        act = self.actions[action_name]
        if act.id not in table.action_ids:
            allowed = ", ".join(self.actions[i].short for i in table.action_ids)
            raise SchemaError(
                f"table {table.short}: action {act.short} not allowed (allowed: {allowed})"
            )
        if default and act.id in table.table_only_ids:
            raise SchemaError(f"table {table.short}: action {act.short} is @tableonly")
        if not default and act.id in table.default_only_ids:
            raise SchemaError(f"table {table.short}: action {act.short} is @defaultonly")
        return act

    @classmethod
    def from_text(cls, text: str) -> P4Schema:
        """Build from P4Info in protobuf text format (what p4c writes with --p4runtime-files)."""
        # Imported by name: the protobuf runtime ships no type stubs in this environment.
        text_format = importlib.import_module("google.protobuf.text_format")
        return cls(text_format.Parse(text, p4i.P4Info()))


def load_p4info(source: str | bytes) -> p4i.P4Info:
    """A P4Info from a file path (text or binary protobuf) or from text-format content."""
    text_format = importlib.import_module("google.protobuf.text_format")
    if isinstance(source, bytes):
        return p4i.P4Info.FromString(source)
    if "\n" not in source and (source.endswith((".txt", ".txtpb", ".pb", ".bin", ".p4info"))):
        with open(source, "rb") as fh:
            data = fh.read()
        if source.endswith((".pb", ".bin")):
            return p4i.P4Info.FromString(data)
        return text_format.Parse(data.decode(), p4i.P4Info())
    return text_format.Parse(source, p4i.P4Info())
