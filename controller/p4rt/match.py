"""Match fields <-> ``p4.v1.FieldMatch`` (P4Runtime spec v1.4, section 9.1.1).

Encoding is strict the way a server is: LPM values have no bits beyond the
prefix, ternary values have no bits outside the mask, ranges have low <= high.
Don't-care matches (LPM /0, ternary mask 0, full range) are omitted, as the
spec requires, so that they compare equal to what a server reads back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from finsy.proto import p4r

from controller.p4rt.errors import P4ValueError, SchemaError
from controller.p4rt.schema import Extern, Field
from controller.p4rt.values import decode, encode, parse_int, parse_prefix, to_bytes


def _pair(value: Any, sep: str, what: str) -> tuple[Any, Any]:
    if isinstance(value, tuple) and len(value) == 2:
        return value[0], value[1]
    if isinstance(value, str) and sep in value:
        first, _, second = value.partition(sep)
        return first.strip(), second.strip()
    raise P4ValueError(f"{what}: expected (a, b) or 'a{sep}b', got {value!r}")


def encode_field(fld: Field, value: Any, what: str) -> p4r.FieldMatch | None:
    """One FieldMatch, or None when the value is a don't-care that must be omitted."""
    what = f"{what} field {fld.short}"
    fm = p4r.FieldMatch(field_id=fld.id)
    width = fld.bitwidth
    kind = fld.match_type
    if kind == "exact":
        fm.exact.value = encode(value, width, what)
    elif kind == "optional":
        fm.optional.value = encode(value, width, what)
    elif kind == "lpm":
        number, length = parse_prefix(value, width, what)
        if length == 0:
            return None
        fm.lpm.value = to_bytes(number)
        fm.lpm.prefix_len = length
    elif kind == "ternary":
        raw_value, raw_mask = _pair(value, "&&&", what)
        number = parse_int(raw_value, width, what)
        mask = parse_int(raw_mask, width, what)
        if number & ~mask:
            raise P4ValueError(f"{what}: value {raw_value!r} has bits outside mask {raw_mask!r}")
        if mask == 0:
            return None
        fm.ternary.value = to_bytes(number)
        fm.ternary.mask = to_bytes(mask)
    elif kind == "range":
        raw_low, raw_high = _pair(value, "..", what)
        low = parse_int(raw_low, width, what)
        high = parse_int(raw_high, width, what)
        if low > high:
            raise P4ValueError(f"{what}: range low {low} is above high {high}")
        if low == 0 and high == (1 << width) - 1:
            return None
        fm.range.low = to_bytes(low)
        fm.range.high = to_bytes(high)
    else:
        raise SchemaError(f"{what}: match type {kind!r} is not supported")
    return fm


def encode_match(
    fields: Iterable[Field],
    match: Mapping[str, Any],
    what: str,
    *,
    for_read: bool = False,
) -> list[p4r.FieldMatch]:
    """FieldMatches in P4Info order; exact fields are required unless reading."""
    fields = tuple(fields)
    known = {f.name for f in fields} | {f.alias for f in fields if f.alias}
    for name in match:
        if name not in known:
            names = ", ".join(f.name for f in fields)
            raise SchemaError(f"{what}: no match field {name!r} (fields: {names})")
    out: list[p4r.FieldMatch] = []
    for fld in fields:
        value = match.get(fld.name, match.get(fld.alias) if fld.alias else None)
        if value is None:
            if fld.match_type == "exact" and not for_read:
                raise P4ValueError(f"{what}: exact field {fld.name} must be given")
            continue
        fm = encode_field(fld, value, what)
        if fm is not None:
            out.append(fm)
    return out


def decode_match(
    fields: Iterable[Field], matches: Iterable[p4r.FieldMatch], what: str
) -> dict[str, Any]:
    """Match dict (names -> ints/tuples) from FieldMatches."""
    by_id = {f.id: f for f in fields}
    out: dict[str, Any] = {}
    for fm in matches:
        fld = by_id.get(fm.field_id)
        if fld is None:
            raise SchemaError(f"{what}: unknown match field id {fm.field_id}")
        w = fld.bitwidth
        fwhat = f"{what} field {fld.short}"
        kind = fm.WhichOneof("field_match_type")
        if kind == "exact":
            out[fld.name] = decode(fm.exact.value, w, fwhat)
        elif kind == "optional":
            out[fld.name] = decode(fm.optional.value, w, fwhat)
        elif kind == "lpm":
            out[fld.name] = (decode(fm.lpm.value, w, fwhat), fm.lpm.prefix_len)
        elif kind == "ternary":
            out[fld.name] = (decode(fm.ternary.value, w, fwhat), decode(fm.ternary.mask, w, fwhat))
        elif kind == "range":
            out[fld.name] = (decode(fm.range.low, w, fwhat), decode(fm.range.high, w, fwhat))
        else:
            raise SchemaError(f"{fwhat}: unsupported match kind {kind!r}")
    return out


def value_set_member(vs: Extern, member: Any, what: str) -> Mapping[str, Any]:
    """A value set member as a match dict keyed by P4Info field names.

    Struct value sets are keyed by member name. A value_set<bit<W>> has one
    field with no name (P4Runtime spec 8.3), so its member may be given as
    ``{short_name: v}``, ``{full_name: v}``, ``{"": v}`` (the P4Info name) or
    positionally as the bare value ``v``.
    """
    fields = vs.match_fields
    single = fields[0] if len(fields) == 1 and not fields[0].name else None
    if not isinstance(member, Mapping):
        if single is None:
            names = ", ".join(f.name for f in fields)
            raise P4ValueError(
                f"{what}: a member is a dict of its fields ({names}), got {member!r}"
            )
        return {"": member}
    if single is not None and len(member) == 1:
        (key,) = member
        if key in (vs.name, vs.alias):
            return {"": member[key]}
    return member


def value_set_read(vs: Extern, decoded: dict[str, Any]) -> dict[str, Any]:
    """A decoded member keyed as callers name it: the unnamed field of a
    value_set<bit<W>> (P4Runtime spec 8.3: id 1, no name) by the set's own name."""
    fields = vs.match_fields
    if len(fields) == 1 and not fields[0].name and "" in decoded:
        return {vs.short: decoded[""]}
    return decoded
