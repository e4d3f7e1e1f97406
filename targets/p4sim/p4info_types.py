"""P4 types as P4Info P4DataTypeSpec, with the named ones collected in type_info.

This is what p4c's type converter does for register cells, digests, table
keys and action parameters: a named type (struct, header, header union,
stack, enum, serializable enum) is referred to by name and described once in
``type_info``; bit strings and bool are written inline.
"""

from __future__ import annotations

from typing import Any

from finsy.proto.p4.config.v1 import p4types_pb2

from targets.p4sim import types as T
from targets.p4sim.compiler.infos import NewTypeInfo


def type_spec(t: T.P4Type, spec: Any, type_info: Any) -> None:
    """Fill ``spec`` (a P4DataTypeSpec) for ``t``, adding named types to ``type_info``."""
    if isinstance(t, T.BitsT):
        (spec.bitstring.int if t.signed else spec.bitstring.bit).bitwidth = t.width
    elif t == T.BOOL:
        spec.bool.SetInParent()
    elif isinstance(t, T.VarbitT):
        spec.bitstring.varbit.max_bitwidth = t.max
    elif isinstance(t, T.EnumT) and t.under is not None:
        spec.serializable_enum.name = t.name
        _serializable_enum(t, t.under, type_info)
    elif isinstance(t, T.EnumT):
        spec.enum.name = t.name
        if t.name not in type_info.enums:
            members = type_info.enums[t.name].members
            for name in t.members:
                members.add(name=name)
    elif isinstance(t, T.StackT):
        spec.header_stack.header.name = t.elem.name
        spec.header_stack.size = t.size
        _named_struct(t.elem, p4types_pb2.P4DataTypeSpec(), type_info)
    elif isinstance(t, T.TupleT):
        for e in t.elems:
            type_spec(e, spec.tuple.members.add(), type_info)
    elif isinstance(t, T.StructT):
        _named_struct(t, spec, type_info)
    elif t == T.ERROR:
        spec.error.SetInParent()
    else:
        raise TypeError(f"{t} has no P4Info type spec")


def new_type(nt: NewTypeInfo, type_info: Any) -> int | None:
    """Describe a ``type`` declaration in ``type_info.new_types``; the P4Runtime
    width of its values when ``@p4runtime_translation`` gives one (0 for a string,
    P4Runtime spec 8.4 "Translation of port numbers"), else None."""
    ann = next((a for a in nt.annotations if a.name == "p4runtime_translation"), None)
    args = list(ann.args) if ann is not None else []
    width: int | None = None
    if ann is not None:
        width = next((a for a in args[1:] if isinstance(a, int)), 0)
    if nt.name in type_info.new_types:
        return width
    entry = type_info.new_types[nt.name]
    if ann is None:
        type_spec(nt.underlying, entry.original_type, type_info)
        return None
    entry.translated_type.uri = str(args[0]) if args else ""
    if width:
        entry.translated_type.sdn_bitwidth = width
    else:
        entry.translated_type.sdn_string.SetInParent()
    return width


def named_types(types: list[Any], type_info: Any) -> None:
    """Describe the named types among ``types`` in ``type_info`` (no spec kept)."""
    for t in types:
        if isinstance(t, T.EnumT | T.StructT | T.StackT):
            type_spec(t, p4types_pb2.P4DataTypeSpec(), type_info)


def _serializable_enum(t: T.EnumT, under: T.BitsT, type_info: Any) -> None:
    if t.name in type_info.serializable_enums:
        return
    se = type_info.serializable_enums[t.name]
    se.underlying_type.bitwidth = under.width
    nbytes = (under.width + 7) // 8
    for name, value in t.members.items():
        se.members.add(name=name, value=(value & under.mask).to_bytes(nbytes, "big"))


def _named_struct(t: T.StructT, spec: Any, type_info: Any) -> None:
    kind = {"struct": "struct", "header": "header", "header_union": "header_union"}[t.kind]
    getattr(spec, kind).name = t.name
    table = {"struct": type_info.structs, "header": type_info.headers}.get(
        kind, type_info.header_unions
    )
    if t.name in table:
        return
    entry = table[t.name]
    for fname, ft in t.fields.items():
        m = entry.members.add(name=fname)
        if kind == "header_union":
            assert isinstance(ft, T.StructT)
            m.header.name = ft.name
            _named_struct(ft, p4types_pb2.P4DataTypeSpec(), type_info)
        elif kind == "header":
            if isinstance(ft, T.VarbitT):
                m.type_spec.varbit.max_bitwidth = ft.max
            elif isinstance(ft, T.BitsT) and ft.signed:
                m.type_spec.int.bitwidth = ft.width
            else:
                m.type_spec.bit.bitwidth = T.width_of(ft)
        else:
            type_spec(ft, m.type_spec, type_info)
