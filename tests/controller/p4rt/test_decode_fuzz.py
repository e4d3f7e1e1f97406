"""Whatever a server sends, decoding gives an entity or a one-line P4RuntimeClientError."""

from __future__ import annotations

import pytest
from finsy.proto import p4r
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.p4rt import Codec, P4RuntimeClientError, entity_string

pytestmark = pytest.mark.unit

TABLE_IDS = [33554433, 33554434, 33554435, 33554436, 0, 7]
ACTION_IDS = [16777217, 16777218, 16777219, 16777221, 16777222, 5]
small_bytes = st.binary(max_size=18)


@st.composite
def field_matches(draw: st.DrawFn) -> p4r.FieldMatch:
    fm = p4r.FieldMatch(field_id=draw(st.integers(0, 5)))
    kind = draw(st.sampled_from(["exact", "lpm", "ternary", "range", "optional", "none"]))
    if kind == "exact":
        fm.exact.value = draw(small_bytes)
    elif kind == "lpm":
        fm.lpm.value = draw(small_bytes)
        fm.lpm.prefix_len = draw(st.integers(-3, 140))
    elif kind == "ternary":
        fm.ternary.value = draw(small_bytes)
        fm.ternary.mask = draw(small_bytes)
    elif kind == "range":
        fm.range.low = draw(small_bytes)
        fm.range.high = draw(small_bytes)
    elif kind == "optional":
        fm.optional.value = draw(small_bytes)
    return fm


@st.composite
def table_entities(draw: st.DrawFn) -> p4r.Entity:
    ent = p4r.Entity()
    te = ent.table_entry
    te.table_id = draw(st.sampled_from(TABLE_IDS))
    te.match.extend(draw(st.lists(field_matches(), max_size=4)))
    te.priority = draw(st.integers(-2, 5))
    te.is_default_action = draw(st.booleans())
    if draw(st.booleans()):
        act = te.action.action
        act.action_id = draw(st.sampled_from(ACTION_IDS))
        for pid in draw(st.lists(st.integers(0, 3), max_size=3)):
            act.params.add(param_id=pid, value=draw(small_bytes))
    return ent


@st.composite
def other_entities(draw: st.DrawFn) -> p4r.Entity:
    ent = p4r.Entity()
    kind = draw(st.sampled_from(["counter", "register", "meter", "mcast", "clone", "vset"]))
    if kind == "counter":
        ent.counter_entry.counter_id = draw(st.sampled_from([302055425, 1]))
        ent.counter_entry.index.index = draw(st.integers(-1, 20))
    elif kind == "register":
        ent.register_entry.register_id = draw(st.sampled_from([369098753, 2]))
        ent.register_entry.data.bitstring = draw(small_bytes)
    elif kind == "meter":
        ent.meter_entry.meter_id = draw(st.sampled_from([335544321, 3]))
    elif kind == "mcast":
        mg = ent.packet_replication_engine_entry.multicast_group_entry
        mg.multicast_group_id = draw(st.integers(0, 9))
        for port in draw(st.lists(small_bytes, max_size=3)):
            mg.replicas.add(port=port)
    elif kind == "clone":
        cs = ent.packet_replication_engine_entry.clone_session_entry
        cs.session_id = draw(st.integers(0, 9))
        cs.replicas.add(egress_port=draw(st.integers(0, 600)))
    else:
        vs = ent.value_set_entry
        vs.value_set_id = draw(st.sampled_from([50331649, 4]))
        vs.members.add().match.extend(draw(st.lists(field_matches(), max_size=2)))
    return ent


def check(codec: Codec, msg: p4r.Entity) -> None:
    try:
        ent = codec.decode(msg)
    except P4RuntimeClientError as exc:
        assert "\n" not in str(exc)
        return
    # Anything that decodes can be shown.
    try:
        text = entity_string(codec, ent)
    except P4RuntimeClientError:
        return  # e.g. a decoded entry that a stricter encoder refuses (no action)
    assert "\n" not in text


@settings(max_examples=300, deadline=None)
@given(msg=table_entities())
def test_random_table_entries_never_escape_as_other_errors(codec: Codec, msg: p4r.Entity) -> None:
    check(codec, msg)


@settings(max_examples=200, deadline=None)
@given(msg=other_entities())
def test_random_other_entities_never_escape(codec: Codec, msg: p4r.Entity) -> None:
    check(codec, msg)


@settings(max_examples=200, deadline=None)
@given(ids=st.lists(st.tuples(st.integers(0, 4), small_bytes), max_size=4))
def test_random_packet_in_metadata(codec: Codec, ids: list[tuple[int, bytes]]) -> None:
    msg = p4r.PacketIn(payload=b"x")
    for mid, value in ids:
        msg.metadata.add(metadata_id=mid, value=value)
    try:
        pkt = codec.decode_packet_in(msg)
    except P4RuntimeClientError as exc:
        assert "\n" not in str(exc)
        return
    assert set(pkt.metadata) <= {"ingress_port", "reason"}
