"""P4Info details as p4c 1.2.4.8 writes them (the reference of p4c's own corpus goldens)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from targets.p4sim.program import load

pytestmark = pytest.mark.unit

SKELETON = """#include <core.p4>
#include <v1model.p4>
header h_t { bit<8> a; bit<8> b; }
struct hs { h_t h; }
struct m_t { }
parser P(packet_in p, out hs h, inout m_t m, inout standard_metadata_t s) {
    state start { p.extract(h.h); PARSER transition accept; }
}
control VC(inout hs h, inout m_t m) { apply { } }
control I(inout hs h, inout m_t m, inout standard_metadata_t s) {
    DECLS
    apply { APPLY }
}
control E(inout hs h, inout m_t m, inout standard_metadata_t s) { apply { } }
control CC(inout hs h, inout m_t m) { apply { } }
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""


def p4info(tmp_path: Path, decls: str = "", apply: str = "", parser: str = "") -> Any:
    src = SKELETON.replace("DECLS", decls).replace("APPLY", apply).replace("PARSER", parser)
    (tmp_path / "prog.p4").write_text(src)
    return load(tmp_path / "prog.p4").p4info


@pytest.mark.parametrize(
    ("decls", "apply", "parser", "present"),
    [
        ("", "s.egress_spec = 2;", "", False),
        ("", "", "verify(h.h.a == 1, error.NoMatch);", False),  # a parser's call converts nothing
        ("", "mark_to_drop(s);", "", True),  # an extern function called from a control
        ("counter(4, CounterType.packets) c;", "", "", True),  # an instance, even unused
        # an extern instance P4Info does not list (p4c-bm2-ss: an empty type_info)
        ("Checksum16() c;", "h.h.b = (bit<8>)c.get(h.h.a);", "", True),
        ("table t { key = { h.h.a: exact; } actions = { NoAction; } }", "t.apply();", "", True),
    ],
)
def test_type_info_written_when_p4c_converts_a_type(
    tmp_path: Path, decls: str, apply: str, parser: str, present: bool
) -> None:
    assert p4info(tmp_path, decls, apply, parser).HasField("type_info") is present


def test_no_initial_default_action(tmp_path: Path) -> None:
    decls = (
        "action set(bit<8> v) { h.h.b = v; }"
        "table t { key = { h.h.a: exact; } actions = { set; } default_action = set(3); }"
    )
    (table,) = p4info(tmp_path, decls, "t.apply();").tables
    assert not table.HasField("initial_default_action")


TABLE = (
    "action set(bit<8> v) { h.h.b = v; }"
    "action other() { h.h.b = 1; }"
    "table t { key = { h.h.a: exact; } actions = { set; } }"
)


@pytest.mark.parametrize(
    ("apply", "tables", "actions"),
    [
        ("t.apply();", ["I.t"], ["I.set", "NoAction"]),
        ("", [], []),  # declared, never applied
        ("if (false) { t.apply(); other(); }", [], []),  # folded away
        ("if (true) { } else { t.apply(); }", [], []),
        ("h.h.b = true ? 8w1 : (t.apply().hit ? 8w2 : 8w3);", [], []),
        ("other();", [], ["I.other"]),  # called directly from apply
        ("if (h.h.a == 1) { other(); }", [], ["I.other"]),
    ],
)
def test_dead_tables_and_direct_action_calls(
    tmp_path: Path, apply: str, tables: list[str], actions: list[str]
) -> None:
    info = p4info(tmp_path, TABLE, apply)
    assert sorted(t.preamble.name for t in info.tables) == tables
    assert sorted(a.preamble.name for a in info.actions) == actions


def test_action_direct_call_drops_directional_params(tmp_path: Path) -> None:
    decls = "action inc(inout bit<8> x, bit<8> by) { x = x + by; }"
    (action,) = p4info(tmp_path, decls, "inc(h.h.b, 2);").actions
    assert [p.name for p in action.params] == ["by"]


def test_key_names_as_p4c_builds_them(tmp_path: Path) -> None:
    decls = (
        "table t { key = { h.h.a & 0x0f: ternary; h.h.b[3:0]: exact; h.h.isValid(): exact;"
        ' h.h.a + 1: exact @name("sum"); } actions = { NoAction; } }'
    )
    (table,) = p4info(tmp_path, decls, "t.apply();").tables
    names = [m.name for m in table.match_fields]
    assert names == ["h.h.a & 0xf", "h.h.b[3:0]", "h.h.$valid$", "sum"]


def test_directly_applied_control_is_named_after_its_type(tmp_path: Path) -> None:
    sub = (
        "control Sub(inout bit<8> x) { action set() { x = 1; }"
        " table st { key = { x: exact; } actions = { set; } } apply { st.apply(); } }\n"
    )
    src = SKELETON.replace("DECLS", "").replace("APPLY", "Sub.apply(h.h.b);").replace("PARSER", "")
    (tmp_path / "prog.p4").write_text(src.replace("control I(", sub + "control I(", 1))
    info = load(tmp_path / "prog.p4").p4info
    assert [t.preamble.name for t in info.tables] == ["I.Sub.st"]


def test_register_and_key_types_in_type_info(tmp_path: Path) -> None:
    decls = (
        "register<cell_t>(4) r; register<E8>(2) re;"
        "action set(E8 v) { h.h.b = (bit<8>)v; }"
        "table t { key = { m2: exact; } actions = { set; } }"
    )
    prelude = (
        "enum bit<8> E8 { A = 1, B = 0x20 }\n"
        "struct cell_t { bit<16> f; bool ok; }\n"
        "enum bit<4> K { X = 3 }\n"
    )
    src = SKELETON.replace("DECLS", "K m2 = K.X;" + decls).replace("PARSER", "")
    src = src.replace("APPLY", "t.apply(); r.write(0, {1, true}); re.write(0, E8.A);")
    (tmp_path / "prog.p4").write_text(src.replace("header h_t", prelude + "header h_t", 1))
    info = load(tmp_path / "prog.p4").p4info
    regs = {r.preamble.name: r for r in info.registers}
    assert regs["I.r"].type_spec.struct.name == "cell_t"
    assert regs["I.re"].type_spec.serializable_enum.name == "E8"
    members = info.type_info.structs["cell_t"].members
    assert [(m.name, m.type_spec.WhichOneof("type_spec")) for m in members] == [
        ("f", "bitstring"),
        ("ok", "bool"),
    ]
    e = info.type_info.serializable_enums["E8"]
    assert e.underlying_type.bitwidth == 8
    assert [(m.name, m.value) for m in e.members] == [("A", b"\x01"), ("B", b"\x20")]
    assert [m.value for m in info.type_info.serializable_enums["K"].members] == [b"\x03"]


def test_file_scope_register_has_no_control_prefix(tmp_path: Path) -> None:
    src = SKELETON.replace("DECLS", "").replace("APPLY", "r.write(0, h.h.a);")
    src = src.replace("parser P(", "register<bit<8>>(2) r;\nparser P(", 1).replace("PARSER", "")
    (tmp_path / "prog.p4").write_text(src)
    assert [r.preamble.name for r in load(tmp_path / "prog.p4").p4info.registers] == ["r"]


@pytest.mark.parametrize(("entries", "initial"), [("", False), ("1 : NoAction();", True)])
def test_has_initial_entries_only_with_entries(tmp_path: Path, entries: str, initial: bool) -> None:
    decls = (
        "table t { key = { h.h.a: exact; } actions = { NoAction; }"
        f" const entries = {{ {entries} }} }}"
    )
    (table,) = p4info(tmp_path, decls, "t.apply();").tables
    assert table.is_const_table
    assert table.has_initial_entries is initial
