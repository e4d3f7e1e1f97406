"""The write templates (encoder.py) give Codec's field-by-field bytes and errors, for any entry.

Entries are generated in every form controller code may write values in --
ints, IPv4 text, prefixes as text or tuples, bytes, IPv6 -- valid or not
(too wide, negative, host bits, unknown names, default-only actions, missing
and extra parameters, priorities, default entries): the template's answer must
be the bytes ``Codec.encode`` serializes, or the same one-line error.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.p4rt import Codec, P4RuntimeClientError, TableEntry
from controller.p4rt.encoder import WriteEncoder, request

pytestmark = pytest.mark.unit

ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
odd_text = st.sampled_from(
    ["10.01.0.0", " 10.0.0.1", "10.0.0", "256.1.1.1", "::1", "10.0.0.1 ", "0x10", "7", "1e3", ""]
)
small = st.integers(0, 255)
numbers = st.one_of(
    small,
    small,
    st.integers(0, 70000),
    st.integers(-5, 2**130),
    st.booleans(),
    st.binary(max_size=3),
)
scalars = st.one_of(numbers, ipv4, ipv4, odd_text)
prefixes = st.one_of(
    st.tuples(ipv4, st.integers(0, 33)).map(lambda t: f"{t[0]}/{t[1]}"),
    st.tuples(st.one_of(st.integers(0, 2**33), ipv4), st.integers(-1, 33)),
    st.sampled_from(["10.0.0.0/ 8", "10.0.0.0/08", "10.0.0.0/x", "10.1.0.0/16", "10.0.0.0/٨"]),
    scalars,
)
MATCH = {
    "vrf_fib": {"vrf": numbers, "dst": prefixes, "MyIngress.vrf_fib.bogus": numbers},
    "tunnel": {"tunnel_id": numbers, "dst": numbers},
    "neighbor": {"nexthop6": st.one_of(numbers, st.just("fe80::1"), ipv4)},
    "const_ports": {"port": numbers},
    "acl": {"proto": st.just((6, 255))},
}
ACTIONS = {
    "vrf_fib": {"push_label": ["label", "tunnel"], "drop": [], "NoAction": [], "punt": []},
    "tunnel": {"set_tunnel": ["remote_addr", "sa_index"], "drop": []},
    "neighbor": {"set_dmac": ["dmac", "port"], "drop": []},
    "const_ports": {"drop": []},
    "acl": {"punt": []},
}


@st.composite
def entries(draw: st.DrawFn) -> TableEntry:
    table = draw(st.sampled_from(sorted(MATCH)))
    fields = MATCH[table]
    names = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=3))
    if draw(st.integers(0, 3)):  # mostly every field, in any order
        names = draw(st.permutations([n for n in fields if "bogus" not in n and n != "dst"]))
        if table == "vrf_fib":
            names = [*names, "dst"]
    match = {n: draw(fields[n]) for n in names}
    action = draw(st.sampled_from(sorted(ACTIONS[table])))
    params: dict[str, Any] = {p: draw(scalars) for p in ACTIONS[table][action]}
    if draw(st.integers(0, 5)) == 0:
        params.pop(next(iter(params)), None) if params else params.update(extra=1)
    ent = TableEntry(table, match, action, params)
    twist = draw(st.integers(0, 12))
    if twist == 0:
        ent.priority = 5
    elif twist == 1:
        ent.is_default, ent.match = True, {}
    elif twist == 2:
        ent.metadata = b"\x01"
    elif twist == 3:
        ent.action = None
    return ent


def outcome(fn: Any, ent: TableEntry) -> tuple[str, object]:
    try:
        return "bytes", fn(ent)
    except P4RuntimeClientError as exc:
        return type(exc).__name__, str(exc)


@settings(max_examples=1500, deadline=None)
@given(entries())
def test_templates_agree_with_codec(codec: Codec, ent: TableEntry) -> None:
    enc = WriteEncoder(codec)
    want = outcome(lambda x: codec.encode_fields(x).SerializeToString(), ent)
    assert outcome(enc.entity, ent) == want
    assert outcome(lambda x: codec.encode(x).SerializeToString(), ent) == want


def test_common_entries_take_the_template(codec: Codec) -> None:
    enc = WriteEncoder(codec)
    ents = [
        TableEntry(
            "vrf_fib", {"vrf": 2, "dst": "10.1.0.0/16"}, "push_label", {"label": 100, "tunnel": 3}
        ),
        TableEntry("vrf_fib", {"dst": (0x0A000000, 8), "vrf": 2}, "drop"),
        TableEntry("vrf_fib", {"vrf": 2}, "drop"),  # /0: the LPM field is omitted
        TableEntry(
            "tunnel", {"tunnel_id": 9}, "set_tunnel", {"remote_addr": "192.0.2.1", "sa_index": 4}
        ),
        TableEntry(
            "neighbor", {"nexthop6": 2**127}, "set_dmac", {"dmac": 0x020000000001, "port": 3}
        ),
    ]
    for ent in ents:
        tmpl = codec.template(ent.table)
        assert tmpl is not None and tmpl.encode(ent) is not None, ent
        assert enc.entity(ent) == codec.encode_fields(ent).SerializeToString()
    assert codec.template("acl") is None  # ternary/range: always Codec


def test_write_request_bytes_parse_back() -> None:
    from finsy.proto import p4r

    upd = p4r.Update(type=p4r.Update.INSERT)
    upd.entity.table_entry.table_id = 7
    for eid, role in ((1, ""), (1 << 70 | 5, "r1"), (0, "")):
        req = p4r.WriteRequest.FromString(request(3, eid, role, [upd.SerializeToString()] * 2))
        assert (req.device_id, req.role, list(req.updates)) == (3, role, [upd, upd])
        assert (req.election_id.high << 64 | req.election_id.low) == eid
        assert req.atomicity == p4r.WriteRequest.CONTINUE_ON_ERROR
