"""Parser value sets over P4Runtime: ValueSetEntry write and read (spec 9.8).

P4Info describes a value set by its id, its ``match`` fields (one nameless EXACT field, id 1,
for ``value_set<bit<W>>``; one field per member for a struct, with the match
kind of its ``@match`` annotation) and its ``size``. The controller replaces
the whole set at once::

    value_set_entry {
      value_set_id: 0x03000001
      members { match { field_id: 1  exact { value: "\\x22\\xf3" } } }
      members { match { field_id: 1  exact { value: "\\x89\\x3b" } } }
    }

Rules (spec 9.8 "ValueSetEntry"): only MODIFY (INSERT/DELETE are
INVALID_ARGUMENT); the members given replace the set, an empty list empties
it; more members than ``size`` is RESOURCE_EXHAUSTED; the same member twice is
ALREADY_EXISTS; FieldMatches follow the table-entry rules (9.1.1). No priority.

The engine's compiled parser matches a select key against a list of
``(value, mask)`` pairs, the select values packed first-field-most-significant
(``compiler/parsers.py: valueset_match``). Each member becomes one pair;
the list object is shared with the compiled parser and replaced in place,
under the device lock, so a packet sees the old set or the new one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
from finsy.proto import p4i, p4r

from targets.p4sim.runtime.errors import P4RTError, invalid, unimplemented
from targets.p4sim.runtime.table_codec import decode_field_matches, encode_field_matches
from targets.p4sim.state import Exact, KeyField, Lpm, MatchKind, Optional, Range, Ternary
from targets.p4sim.state.tables import FieldMatch

Member = tuple[FieldMatch | None, ...]

_KINDS = {
    p4i.MatchField.EXACT: MatchKind.EXACT,
    p4i.MatchField.LPM: MatchKind.LPM,
    p4i.MatchField.TERNARY: MatchKind.TERNARY,
    p4i.MatchField.RANGE: MatchKind.RANGE,
    p4i.MatchField.OPTIONAL: MatchKind.OPTIONAL,
}


@dataclass
class ValueSet:
    """One parser value set: its P4Info shape, the members as written, the engine's list."""

    name: str
    id: int
    size: int
    keys: tuple[KeyField, ...]
    custom: str = ""  # a match field with an architecture-specific match kind
    pairs: list[tuple[int, int]] = field(default_factory=list)  # shared with the parser
    members: list[Member] = field(default_factory=list)

    def replace(self, members: list[Member]) -> None:
        self.pairs[:] = [_pair(self.keys, m) for m in members]  # in place: the parser holds it
        self.members = members


def value_sets_from_p4info(
    p4info: p4i.P4Info, engine_lists: dict[str, list[tuple[int, int]]] | None = None
) -> dict[int, ValueSet]:
    """A ValueSet per P4Info value set, bound to the engine's list of the same name."""
    out = {}
    for vs in p4info.value_sets:
        keys = tuple(
            KeyField(m.name or vs.preamble.name, m.id, _match_kind(m), m.bitwidth) for m in vs.match
        )
        custom = next((m.name for m in vs.match if m.WhichOneof("match") != "match_type"), "")
        pairs = (engine_lists or {}).get(vs.preamble.name)
        vset = ValueSet(vs.preamble.name, vs.preamble.id, vs.size, keys, custom)
        if pairs is not None:
            vset.pairs = pairs
        out[vs.preamble.id] = vset
    return out


def _match_kind(m: p4i.MatchField) -> MatchKind:
    # other_match_type (custom kinds) is recorded in ValueSet.custom and refused on write
    return _KINDS.get(m.match_type, MatchKind.EXACT)


def write(sets: dict[int, ValueSet], op: int, entry: p4r.ValueSetEntry) -> None:
    """Replace one value set's members; P4RTError on any rule violation (nothing changes)."""
    vset = sets.get(entry.value_set_id)
    if vset is None:
        # An id the P4Info does not define is a malformed request (spec 8.1.1, 12).
        raise invalid(f"no value set with id {entry.value_set_id} in the P4Info")
    if op != p4r.Update.MODIFY:
        name = p4r.Update.Type.Name(op) if op in p4r.Update.Type.values() else str(op)
        raise invalid(f"value set {vset.name}: only MODIFY is allowed ({name} given)")
    if vset.custom:
        raise unimplemented(f"value set {vset.name}: custom match kind on {vset.custom}")
    if len(entry.members) > vset.size:
        raise P4RTError(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            f"value set {vset.name}: {len(entry.members)} members exceed its size {vset.size}",
        )
    members: list[Member] = []
    for i, m in enumerate(entry.members):
        owner = f"value set {vset.name} member {i}"
        member = _normalise(vset.keys, decode_field_matches(vset.keys, owner, m.match))
        if any(isinstance(f, Range) for f in member):
            # The compiled parser matches (value, mask) pairs; a range is not one.
            raise unimplemented(f"{owner}: range matches in value sets are not supported")
        if member in members:
            raise P4RTError(grpc.StatusCode.ALREADY_EXISTS, f"{owner}: duplicate member")
        members.append(member)
    vset.replace(members)


def read(sets: dict[int, ValueSet], entry: p4r.ValueSetEntry) -> Iterator[p4r.Entity]:
    """One ValueSetEntry per selected set (id 0 = every set), members canonical."""
    if entry.value_set_id == 0:
        selected = sorted(sets.values(), key=lambda v: v.id)
    elif entry.value_set_id in sets:
        selected = [sets[entry.value_set_id]]
    else:
        raise invalid(f"no value set with id {entry.value_set_id} in the P4Info")
    for vset in selected:
        out = p4r.Entity()
        vse = out.value_set_entry
        vse.value_set_id = vset.id
        for member in vset.members:
            vse.members.add().match.extend(encode_field_matches(vset.keys, member))
        yield out


def _normalise(keys: tuple[KeyField, ...], member: Member) -> Member:
    """Omitted optional fields as Optional(None), so equal members compare equal."""
    return tuple(
        Optional(None) if m is None and k.match_kind is MatchKind.OPTIONAL else m
        for k, m in zip(keys, member, strict=True)
    )


def _pair(keys: tuple[KeyField, ...], member: Member) -> tuple[int, int]:
    """The member as one (value, mask) over the packed select key, first field on top."""
    value = mask = 0
    for key, m in zip(keys, member, strict=True):
        top = (1 << key.bitwidth) - 1
        v = k = 0
        if isinstance(m, Exact):
            v, k = m.value, top
        elif isinstance(m, Lpm):
            k = top ^ (top >> m.prefix_len)
            v = m.value & k
        elif isinstance(m, Ternary):
            v, k = m.value & m.mask, m.mask
        elif isinstance(m, Optional) and m.value is not None:
            v, k = m.value, top
        value = (value << key.bitwidth) | v
        mask = (mask << key.bitwidth) | k
    return value, mask
