"""Entities <-> p4.v1.Entity: round trips, strictness and canonical strings."""

from __future__ import annotations

import re

import pytest
from finsy.proto import p4r
from hypothesis import given
from hypothesis import strategies as st

from controller.p4rt import (
    CloneSession,
    Codec,
    CounterData,
    CounterEntry,
    DirectCounterEntry,
    DirectMeterEntry,
    MeterConfig,
    MeterEntry,
    MulticastGroup,
    P4ValueError,
    PacketIn,
    PacketOut,
    RegisterEntry,
    Replica,
    SchemaError,
    TableEntry,
    ValueSetEntry,
    entity_string,
)

pytestmark = pytest.mark.unit

ROUTE = TableEntry(
    "vrf_fib", {"vrf": 2, "dst": "10.1.0.0/16"}, "push_label", {"label": 100, "tunnel": 3}
)


def round_trip(codec: Codec, ent: object) -> object:
    msg = codec.encode(ent)  # type: ignore[arg-type]
    back = codec.decode(msg)
    # Decoded entities re-encode to exactly the same bytes.
    assert codec.encode(back).SerializeToString() == msg.SerializeToString()
    return back


def test_table_entry_encodes_canonical_ids_and_bytes(codec: Codec) -> None:
    msg = codec.encode(ROUTE).table_entry
    assert msg.table_id == 33554433
    assert [(m.field_id, m.WhichOneof("field_match_type")) for m in msg.match] == [
        (1, "exact"),
        (2, "lpm"),
    ]
    assert msg.match[0].exact.value == b"\x02"
    assert msg.match[1].lpm.value == b"\x0a\x01\x00\x00"
    assert msg.match[1].lpm.prefix_len == 16
    assert msg.action.action.action_id == 16777217
    assert [(p.param_id, p.value) for p in msg.action.action.params] == [(1, b"d"), (2, b"\x03")]


def test_table_entry_round_trip_gives_ints(codec: Codec) -> None:
    back = round_trip(codec, ROUTE)
    assert back == TableEntry(
        "vrf_fib", {"vrf": 2, "dst": (0x0A010000, 16)}, "push_label", {"label": 100, "tunnel": 3}
    )


def test_full_names_and_aliases_are_the_same_object(codec: Codec) -> None:
    full = TableEntry(
        "MyIngress.vrf_fib",
        {"vrf": 2, "dst": "10.1.0.0/16"},
        "MyIngress.push_label",
        {"label": 100, "tunnel": 3},
    )
    assert codec.encode(full) == codec.encode(ROUTE)


def test_ternary_range_optional_and_dont_care(codec: Codec) -> None:
    acl = TableEntry(
        "acl",
        {"src_addr": "10.0.0.0&&&255.0.0.0", "proto": (6, 0xFF), "dport": "179..179", "in_port": 4},
        "punt",
        priority=10,
    )
    back = round_trip(codec, acl)
    assert entity_string(codec, back) == (
        "acl prio=10 src_addr=10.0.0.0&&&255.0.0.0 proto=6&&&0xff dport=179..179 in_port=4"
        " -> punt()"
    )
    # Don't-care values are omitted, as the spec requires.
    wild = TableEntry("acl", {"src_addr": (0, 0), "dport": (0, 0xFFFF)}, "drop", priority=1)
    assert list(codec.encode(wild).table_entry.match) == []
    lpm0 = TableEntry("vrf_fib", {"vrf": 1, "dst": "0.0.0.0/0"}, "drop")
    assert len(codec.encode(lpm0).table_entry.match) == 1
    assert entity_string(codec, lpm0) == "vrf_fib vrf=1 -> drop()"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (TableEntry("nope", {}, "drop"), "P4Info has no table 'nope'"),
        (TableEntry("vrf_fib", {"dst": "10.0.0.0/8"}, "drop"), "exact field vrf must be given"),
        (TableEntry("vrf_fib", {"vrf": 1, "bogus": 1}, "drop"), "no match field 'bogus'"),
        (TableEntry("vrf_fib", {"vrf": 1}, "punt"), "action punt not allowed"),
        (
            TableEntry("vrf_fib", {"vrf": 1}, "push_label", {"label": 1}),
            "parameter tunnel must be given",
        ),
        (
            TableEntry("vrf_fib", {"vrf": 1}, "push_label", {"label": 1 << 20, "tunnel": 1}),
            "does not fit in 20 bits",
        ),
        (TableEntry("vrf_fib", {"vrf": 1}, "drop", {"x": 1}), "no parameter"),
        (TableEntry("vrf_fib", {"vrf": 1}), "needs an action"),
        (TableEntry("vrf_fib", {"vrf": 1}, "drop", priority=3), "priority must be 0"),
        (TableEntry("acl", {"proto": (6, 0xFF)}, "punt"), "priority > 0"),
        (TableEntry("acl", {"proto": (7, 0x06)}, "punt", priority=1), "bits outside mask"),
        (TableEntry("acl", {"dport": "200..100"}, "punt", priority=1), "above high"),
        (TableEntry("acl", {"dport": 5}, "punt", priority=1), "expected (a, b)"),
        (TableEntry("vrf_fib", {"vrf": 1, "dst": "10.0.0.1/8"}, "drop"), "host bits"),
        (TableEntry("vrf_fib", {"vrf": 1}, "drop", is_default=True), "default entry has no"),
        (TableEntry("vrf_fib", {"vrf": 1}, "NoAction"), "action NoAction is @defaultonly"),
        (TableEntry("acl", action="punt", is_default=True), "action punt is @tableonly"),
    ],
)
def test_bad_entries_are_one_line_errors(codec: Codec, entry: TableEntry, message: str) -> None:
    with pytest.raises((P4ValueError, SchemaError), match=re.escape(message)) as info:
        codec.encode(entry)
    assert "\n" not in str(info.value)


def test_default_entry(codec: Codec) -> None:
    default = TableEntry("vrf_fib", action="drop", is_default=True)
    msg = codec.encode(default).table_entry
    assert msg.is_default_action and not msg.match
    assert entity_string(codec, round_trip(codec, default)) == "vrf_fib default -> drop()"


def test_wildcard_read_encodings(codec: Codec) -> None:
    assert codec.encode(TableEntry("vrf_fib"), for_read=True).table_entry == p4r.TableEntry(
        table_id=33554433
    )
    assert codec.encode(TableEntry("*"), for_read=True).table_entry == p4r.TableEntry()
    assert not codec.encode(CounterEntry("drop_reason"), for_read=True).counter_entry.HasField(
        "index"
    )


def test_externs_round_trip(codec: Codec) -> None:
    cases = [
        CounterEntry("drop_reason", 3, CounterData(packets=7, bytes=448)),
        RegisterEntry("sa_seq", 5, 2**40),
        MeterEntry("port_meter", 1, MeterConfig(cir=1000, cburst=100, pir=2000, pburst=200)),
        MulticastGroup(1, [Replica(1), Replica(2, 1)]),
        CloneSession(5, [Replica(255)], class_of_service=1, packet_length_bytes=128),
        ValueSetEntry("ike_ports", [{"port": 500}, {"port": 4500}]),
        DirectCounterEntry(
            TableEntry("vrf_fib", {"vrf": 2, "dst": (0x0A010000, 16)}), CounterData(1, 2)
        ),
        DirectMeterEntry(
            TableEntry("vrf_fib", {"vrf": 2, "dst": (0x0A010000, 16)}), MeterConfig(1, 2, 3, 4)
        ),
    ]
    for ent in cases:
        assert round_trip(codec, ent) == ent
    strings = [entity_string(codec, ent) for ent in cases]
    assert strings == [
        "counter drop_reason[3] packets=7 bytes=448",
        "register sa_seq[5] = 1099511627776",
        "meter port_meter[1] cir=1000 cburst=100 pir=2000 pburst=200",
        "multicast_group 1 -> [1, 2#1]",
        "clone_session 5 -> [255] cos=1 truncate=128",
        "value_set ike_ports {port=500; port=4500}",
        "direct_counter [vrf_fib vrf=2 dst=10.1.0.0/16] packets=1 bytes=2",
        "direct_meter [vrf_fib vrf=2 dst=10.1.0.0/16] cir=1 cburst=2 pir=3 pburst=4",
    ]


def test_extern_errors(codec: Codec) -> None:
    with pytest.raises(P4ValueError, match=r"index 16 outside 0\.\.15"):
        codec.encode(CounterEntry("drop_reason", 16))
    with pytest.raises(SchemaError, match="no register 'nope'"):
        codec.encode(RegisterEntry("nope", 0, 1))
    with pytest.raises(P4ValueError, match="does not fit in 64 bits"):
        codec.encode(RegisterEntry("sa_seq", 0, 1 << 64))


def test_packet_io(codec: Codec) -> None:
    out = codec.encode_packet_out(PacketOut(b"frame", {"egress_port": 3, "mode": 1}))
    assert [(m.metadata_id, m.value) for m in out.metadata] == [(1, b"\x03"), (2, b"\x01")]
    pin = p4r.PacketIn(payload=b"x")
    pin.metadata.add(metadata_id=1, value=b"\x00\x05")  # padded form is accepted
    pin.metadata.add(metadata_id=2, value=b"\x02")
    assert codec.decode_packet_in(pin) == PacketIn(b"x", {"ingress_port": 5, "reason": 2})
    with pytest.raises(SchemaError, match="packet_out metadata 'bogus' does not exist"):
        codec.encode_packet_out(PacketOut(b"", {"bogus": 1}))
    bad = p4r.PacketIn(payload=b"x")
    bad.metadata.add(metadata_id=9, value=b"\x01")
    with pytest.raises(SchemaError, match="unknown metadata id 9"):
        codec.decode_packet_in(bad)


def test_decode_rejects_unknown_ids(codec: Codec) -> None:
    msg = codec.encode(ROUTE)
    msg.table_entry.match[0].field_id = 9
    with pytest.raises(SchemaError, match="unknown match field id 9"):
        codec.decode(msg)
    msg = codec.encode(ROUTE)
    msg.table_entry.table_id = 1
    with pytest.raises(SchemaError, match="no table 1"):
        codec.decode(msg)


addresses = st.integers(min_value=0, max_value=2**32 - 1)


@given(
    vrf=st.integers(0, 2**16 - 1),
    addr=addresses,
    plen=st.integers(1, 32),
    label=st.integers(0, 2**20 - 1),
)
def test_lpm_entries_round_trip_and_print_stably(
    codec: Codec, vrf: int, addr: int, plen: int, label: int
) -> None:
    net = addr & (((1 << plen) - 1) << (32 - plen))
    ent = TableEntry(
        "vrf_fib", {"vrf": vrf, "dst": (net, plen)}, "push_label", {"label": label, "tunnel": 1}
    )
    back = round_trip(codec, ent)
    assert back == ent
    text = entity_string(codec, ent)
    # The readable string is the same whatever form the values were given in.
    import ipaddress

    as_text = TableEntry(
        "vrf_fib",
        {"vrf": str(vrf), "dst": f"{ipaddress.IPv4Address(net)}/{plen}"},
        "push_label",
        {"label": hex(label), "tunnel": b"\x00\x01"},
    )
    assert entity_string(codec, as_text) == text


@given(value=st.integers(0, 255), mask=st.integers(0, 255))
def test_ternary_rule_matches_spec(codec: Codec, value: int, mask: int) -> None:
    ent = TableEntry("acl", {"proto": (value, mask)}, "punt", priority=1)
    if value & ~mask:
        with pytest.raises(P4ValueError, match="bits outside mask"):
            codec.encode(ent)
    else:
        msg = codec.encode(ent).table_entry
        assert len(msg.match) == (0 if mask == 0 else 1)


def test_unnamed_value_set_field_by_set_name_or_position(codec: Codec) -> None:
    # P4Runtime spec 8.3: value_set<bit<16>> tag_types has one match field, id 1,
    # with no name. Every accepted form encodes to that one exact field.
    forms: list[object] = [
        {"tag_types": 0x88CC},
        {"MyParser.tag_types": 0x88CC},
        {"": 0x88CC},
        0x88CC,
        "0x88cc",
    ]
    wire = codec.encode(ValueSetEntry("tag_types", forms))
    members = wire.value_set_entry.members
    assert wire.value_set_entry.value_set_id == 50331650
    assert {m.SerializeToString() for m in members} == {members[0].SerializeToString()}
    assert [(f.field_id, f.exact.value) for f in members[0].match] == [(1, b"\x88\xcc")]
    decoded = codec.decode(wire)
    # Read back under the set's own name, as callers write it.
    assert decoded == ValueSetEntry("tag_types", [{"tag_types": 0x88CC}] * len(forms))
    assert round_trip(codec, decoded) == decoded
    assert entity_string(codec, ValueSetEntry("tag_types", [0x8100, {"tag_types": 0x88A8}])) == (
        "value_set tag_types {tag_types=33024; tag_types=34984}"
    )


def test_value_set_member_errors_name_the_set(codec: Codec) -> None:
    with pytest.raises(
        P4ValueError, match=r"value set ike_ports: a member is a dict of its fields \(port\)"
    ):
        codec.encode(ValueSetEntry("ike_ports", [500]))
    with pytest.raises(SchemaError, match=r"value set ike_ports: no match field 'ike_ports'"):
        codec.encode(ValueSetEntry("ike_ports", [{"ike_ports": 500}]))
    with pytest.raises(SchemaError, match=r"value set tag_types: no match field 'port'"):
        codec.encode(ValueSetEntry("tag_types", [{"port": 1}]))
    with pytest.raises(
        P4ValueError,
        match=r"value set tag_types field tag_types: value 65536 does not fit in 16 bits",
    ):
        codec.encode(ValueSetEntry("tag_types", [0x10000]))
