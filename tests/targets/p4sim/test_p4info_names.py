"""More P4Info details of p4c 1.2.4.8: annotations on action references, names of
controller header fields, types named by ``type`` declarations, list digests."""

from __future__ import annotations

from pathlib import Path

import pytest
from finsy.proto import p4i
from google.protobuf import text_format

from targets.p4sim.program import load
from targets.p4sim.switch import Switch
from tests.targets.p4sim.test_p4info_fidelity import SKELETON, p4info

pytestmark = pytest.mark.unit


def test_action_ref_keeps_its_annotations(tmp_path: Path) -> None:
    decls = (
        "action a() { } action b() { }"
        "table t { key = { h.h.a: exact; } actions = { @defaut_only a; @defaultonly b; } }"
    )
    (table,) = p4info(tmp_path, decls, "t.apply();").tables
    refs = [(list(r.annotations), r.scope) for r in table.action_refs]
    assert refs == [
        (["@defaut_only"], 0),  # unknown: copied, no scope
        (["@defaultonly"], 2),
        (["@defaultonly"], 2),  # the NoAction p4c adds
    ]


def test_controller_header_struct_field_is_flattened(tmp_path: Path) -> None:
    prelude = (
        'struct pair_t { bit<16> x; @id(9) bit<8> y; }\n@controller_header("packet_in")\n'
        "header pin_t { bit<9> port; pair_t p; bit<7> pad; }\n"
    )
    src = SKELETON.replace("DECLS", "").replace("APPLY", "").replace("PARSER", "")
    src = src.replace("struct hs { h_t h; }", "struct hs { h_t h; pin_t pin; }")
    (tmp_path / "prog.p4").write_text(src.replace("header h_t", prelude + "header h_t", 1))
    (meta,) = load(tmp_path / "prog.p4").p4info.controller_packet_metadata
    fields = [(m.id, m.name, m.bitwidth) for m in meta.metadata]
    # as p4c-bm2-ss 1.2.4.8 numbers them: an @id is kept, the others count on
    assert fields == [(1, "port", 9), (2, "p.x", 16), (9, "p.y", 8), (3, "pad", 7)]


def test_new_types_as_p4c_writes_them() -> None:
    """Keys, action parameters and controller header fields of a ``type``: named
    in ``type_name``, described in ``type_info.new_types`` (original or translated
    type), translated widths as bitwidth; identical to p4c-bm2-ss's P4Info."""
    programs = Path(__file__).with_name("programs")
    golden = text_format.Parse((programs / "new_types.p4info.txtpb").read_text(), p4i.P4Info())
    info = load(programs / "new_types.p4").p4info
    assert text_format.MessageToString(info) == text_format.MessageToString(golden)


def test_digest_of_a_list_is_named_digest_n(tmp_path: Path) -> None:
    """p4c-bm2-ss names the digests of list expressions digest_0, digest_1, ... (in
    the order it meets the calls) with a tuple type spec; a struct's digest keeps
    the struct's name."""
    apply = "digest(1, { h.h.a }); digest(2, { h.h.b, h.h.a }); digest<d_t>(3, { h.h.a });"
    src = SKELETON.replace("DECLS", "").replace("APPLY", apply).replace("PARSER", "")
    (tmp_path / "prog.p4").write_text(
        src.replace("header h_t", "struct d_t { bit<8> x; }\nheader h_t", 1)
    )
    prog = load(tmp_path / "prog.p4")
    digests = {d.preamble.name: d for d in prog.p4info.digests}
    # ids as p4c-bm2-ss 1.2.4.8 gives them for this program
    assert {n: d.preamble.id for n, d in digests.items()} == {
        "digest_0": 401776493,
        "digest_1": 397081306,
        "d_t": 387608517,
    }
    widths = [m.bitstring.bit.bitwidth for m in digests["digest_1"].type_spec.tuple.members]
    assert widths == [8, 8]
    assert digests["d_t"].type_spec.struct.name == "d_t"
    sw = Switch(prog)
    sw.process(1, b"\x05\x07")
    assert [(name, receiver) for name, receiver, _ in sw.digests] == [
        ("digest_0", 1),
        ("digest_1", 2),
        ("d_t", 3),
    ]
