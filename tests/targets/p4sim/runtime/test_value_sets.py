"""Parser value sets over real gRPC on the real engine (P4Runtime spec 9.8 ValueSetEntry).

valueset.p4 takes parse_tag for any EtherType in ``tag_types``; a tagged frame
leaves on port 2, an untagged one on port 1. So each write below is checked
both by reading it back and by what the parser does with a frame.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest
from finsy.proto import p4r
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.p4rt import P4RuntimeClient, ValueSetEntry
from targets.p4sim.runtime import value_sets
from targets.p4sim.runtime.errors import P4RTError
from targets.p4sim.runtime.ports import InprocPort
from targets.p4sim.runtime.value_sets import ValueSet, _pair
from targets.p4sim.state import Exact, KeyField, Lpm, MatchKind, Optional, Ternary

from .conftest import Rig, write_errors
from .engine_rig import valueset_p4info

pytestmark = pytest.mark.unit
C = grpc.StatusCode
INSERT, MODIFY, DELETE = p4r.Update.INSERT, p4r.Update.MODIFY, p4r.Update.DELETE


def vs_id() -> int:
    (vs,) = valueset_p4info().value_sets
    return vs.preamble.id


def vs_entity(*ether_types: bytes, value_set_id: int | None = None) -> p4r.Entity:
    out = p4r.Entity()
    vse = out.value_set_entry
    vse.value_set_id = vs_id() if value_set_id is None else value_set_id
    for et in ether_types:
        vse.members.add().match.add(field_id=1).exact.value = et
    return out


def frame(ether_type: int) -> bytes:
    eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01" + ether_type.to_bytes(2, "big")
    return (eth + b"\x07\x02").ljust(64, b"\x00")


async def egress(wire: InprocPort, ether_type: int, port: int = 1) -> int:
    await asyncio.to_thread(wire.inject, port, frame(ether_type))
    out_port, _ = await asyncio.to_thread(wire.sent.get, True, 5)
    return out_port


async def write_error(rig: Rig, upd: p4r.Update) -> p4r.Error:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await rig.write(upd)
    assert exc.value.code() == C.UNKNOWN
    (err,) = write_errors(exc.value)
    return err


async def test_modify_changes_the_parser_and_reads_back(
    vs_rig: tuple[Rig, InprocPort],
) -> None:
    rig, wire = vs_rig
    assert await egress(wire, 0x22F3) == 1  # empty set: not parsed as tagged
    await rig.write(p4r.Update(type=MODIFY, entity=vs_entity(b"\x22\xf3", b"\x00\x00\x89\x3b")))
    assert await egress(wire, 0x22F3) == 2
    assert await egress(wire, 0x893B) == 2
    assert await egress(wire, 0x0800) == 1
    (got,) = await rig.read(vs_entity())  # members are ignored in a read request
    values = [m.match[0].exact.value for m in got.value_set_entry.members]
    assert values == [b"\x22\xf3", b"\x89\x3b"]  # canonical: the padding is gone
    # a MODIFY replaces the whole set; an empty one restores the initial state
    await rig.write(p4r.Update(type=MODIFY, entity=vs_entity(b"\x08\x06")))
    assert await egress(wire, 0x22F3) == 1
    assert await egress(wire, 0x0806) == 2
    await rig.write(p4r.Update(type=MODIFY, entity=vs_entity()))
    assert await egress(wire, 0x0806) == 1
    (got,) = await rig.read(vs_entity(value_set_id=0))  # wildcard: every value set
    assert got.value_set_entry.value_set_id == vs_id()
    assert not got.value_set_entry.members


async def test_value_set_errors_follow_spec_9_8(vs_rig: tuple[Rig, InprocPort]) -> None:
    rig, wire = vs_rig
    await rig.write(p4r.Update(type=MODIFY, entity=vs_entity(b"\x22\xf3")))
    cases = [
        (INSERT, vs_entity(b"\x08\x00"), C.INVALID_ARGUMENT, "only MODIFY"),
        (DELETE, vs_entity(), C.INVALID_ARGUMENT, "only MODIFY"),
        (MODIFY, vs_entity(*[bytes([1, i]) for i in range(5)]), C.RESOURCE_EXHAUSTED, "size 4"),
        (MODIFY, vs_entity(b"\x08\x00", b"\x00\x08\x00"), C.ALREADY_EXISTS, "duplicate"),
        (MODIFY, vs_entity(b"\x01\x00\x00"), C.OUT_OF_RANGE, "tag_types"),  # 17 bits
        (MODIFY, vs_entity(b"\x08\x00", value_set_id=12345), C.INVALID_ARGUMENT, "12345"),
    ]
    wrong_field = vs_entity(b"\x08\x00")
    wrong_field.value_set_entry.members[0].match[0].field_id = 2
    cases.append((MODIFY, wrong_field, C.INVALID_ARGUMENT, "field with id 2"))
    no_field = vs_entity(b"\x08\x00")
    del no_field.value_set_entry.members[0].match[:]
    cases.append((MODIFY, no_field, C.INVALID_ARGUMENT, "missing"))
    wrong_kind = vs_entity(b"\x08\x00")
    wrong_kind.value_set_entry.members[0].match[0].lpm.value = b"\x08\x00"
    cases.append((MODIFY, wrong_kind, C.INVALID_ARGUMENT, "lpm match"))
    for op, ent, code, needle in cases:
        err = await write_error(rig, p4r.Update(type=op, entity=ent))
        assert (err.canonical_code, needle in err.message) == (code.value[0], True), err.message
    # none of the refused writes touched the set
    assert await egress(wire, 0x22F3) == 2
    assert await egress(wire, 0x0800) == 1
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await rig.read(vs_entity(value_set_id=999))
    assert exc.value.code() == C.INVALID_ARGUMENT


async def test_controller_client_writes_and_reads_value_sets(
    vs_rig: tuple[Rig, InprocPort],
) -> None:
    rig, wire = vs_rig
    client = P4RuntimeClient(f"127.0.0.1:{rig.port}", device_id=0, election_id=20)
    await client.connect()
    try:
        client.use_pipeline(valueset_p4info())
        # P4Runtime spec 8.3 / p4c: the one field of a value_set<bit<W>> has id 1 and
        # no name; the controller keys it by the value set's own name both ways.
        await client.modify([ValueSetEntry("tag_types", [{"tag_types": 0x88CC}])])
        (got,) = await client.read([ValueSetEntry("tag_types")])
        assert isinstance(got, ValueSetEntry) and got.members == [{"tag_types": 0x88CC}]
    finally:
        await client.close()
    assert await egress(wire, 0x88CC) == 2


def test_members_pack_first_field_on_top() -> None:
    """A struct value set's fields pack like the parser packs a tuple select key."""
    keys = (
        KeyField("a", 1, MatchKind.EXACT, 8),
        KeyField("b", 2, MatchKind.TERNARY, 8),
        KeyField("c", 3, MatchKind.LPM, 8),
        KeyField("d", 4, MatchKind.OPTIONAL, 4),
    )
    member = (Exact(0x12), Ternary(0x30, 0xF0), Lpm(0x80, 1), Optional(None))
    assert _pair(keys, member) == (0x123080_0, 0xFFF080_0)
    vs = ValueSet("s", 1, 2, keys)
    shared = vs.pairs
    vs.replace([member, (Exact(1), None, None, Optional(5))])
    assert shared is vs.pairs and shared[1] == (0x010000_5, 0xFF0000_F)


async def test_value_sets_on_the_pipeline_double_are_empty(primed: Rig) -> None:
    """A program without value sets answers a wildcard value-set read with nothing."""
    assert await primed.read(p4r.Entity(value_set_entry=p4r.ValueSetEntry())) == []


_FUZZ_KEYS = (
    KeyField("a", 1, MatchKind.EXACT, 12),
    KeyField("b", 2, MatchKind.TERNARY, 8),
    KeyField("c", 3, MatchKind.OPTIONAL, 4),
)
_field_match = st.builds(
    lambda fid, kind, v, m: _fm(fid, kind, v, m),
    st.integers(0, 4),
    st.sampled_from(["exact", "ternary", "optional", "lpm", "range", None]),
    st.binary(max_size=3),
    st.binary(max_size=3),
)


def _valid_member(a: int, b: tuple[int, int] | None, c: int | None) -> list[p4r.FieldMatch]:
    out = [_fm(1, "exact", a.to_bytes(2, "big"), b"")]
    if b is not None and b[1]:
        out.append(_fm(2, "ternary", bytes([b[0] & b[1]]), bytes([b[1]])))
    if c is not None:
        out.append(_fm(3, "optional", bytes([c]), b""))
    return out


_member = st.one_of(
    st.lists(_field_match, max_size=4),
    st.builds(
        _valid_member,
        st.integers(0, 0xFFF),
        st.none() | st.tuples(st.integers(0, 255), st.integers(0, 255)),
        st.none() | st.integers(0, 15),
    ),
)


def _fm(fid: int, kind: str | None, v: bytes, m: bytes) -> p4r.FieldMatch:
    f = p4r.FieldMatch(field_id=fid)
    if kind == "exact":
        f.exact.value = v
    elif kind == "ternary":
        f.ternary.value, f.ternary.mask = v, m
    elif kind == "optional":
        f.optional.value = v
    elif kind == "lpm":
        f.lpm.value, f.lpm.prefix_len = v, len(m)
    elif kind == "range":
        f.range.low, f.range.high = v, m
    return f


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_member, max_size=4),
    st.sampled_from([MODIFY, MODIFY, MODIFY, INSERT, DELETE, 0, 7]),
    st.lists(st.integers(0, (1 << 24) - 1), max_size=8),
)
def test_random_value_set_writes_fail_cleanly_or_match_like_the_members(
    members: list[list[p4r.FieldMatch]], op: int, keys: list[int]
) -> None:
    """Any ValueSetEntry is applied or refused with a P4RTError; the set is all-or-nothing."""
    vs = ValueSet("s", 7, 3, _FUZZ_KEYS)
    vs.replace([(Exact(1), None, Optional(None))])
    before = list(vs.pairs)
    entry = p4r.ValueSetEntry(value_set_id=7)
    for m in members:
        entry.members.add().match.extend(m)
    try:
        value_sets.write({7: vs}, op, entry)
    except P4RTError as exc:
        assert exc.message and vs.pairs == before
        return
    # Accepted: a packed key is in the set iff some member matches it field by field;
    # each member's own value is one such key.
    witnesses = [(_val(ma) << 12) | (_val(mb) << 4) | _val(mc) for ma, mb, mc in vs.members]
    for w in witnesses:
        assert any((w & mk) == v for v, mk in vs.pairs)
    for key in keys + witnesses:
        a, b, c = key >> 12, (key >> 4) & 0xFF, key & 0xF
        by_member = any(
            _field_ok(ma, a) and _field_ok(mb, b) and _field_ok(mc, c) for ma, mb, mc in vs.members
        )
        assert any((key & mk) == v for v, mk in vs.pairs) == by_member


def _val(m: object) -> int:
    return getattr(m, "value", None) or 0


def _field_ok(m: object, x: int) -> bool:
    if m is None:
        return True
    if isinstance(m, Exact):
        return x == m.value
    if isinstance(m, Ternary):
        return x & m.mask == m.value & m.mask
    assert isinstance(m, Optional)
    return m.value is None or x == m.value
