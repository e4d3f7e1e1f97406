"""More P4Info details of p4c 1.2.4.8: annotations on action references, names of
controller header fields, types named by ``type`` declarations, list digests."""

from __future__ import annotations

from pathlib import Path

import pytest
from finsy.proto import p4i
from google.protobuf import text_format

from targets.p4sim.program import load
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
