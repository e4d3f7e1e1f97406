"""The corpus runner's own logic, on a tiny corpus made here."""

from __future__ import annotations

from pathlib import Path

import pytest

from targets.p4sim.corpus.cases import discover, find_testdata
from targets.p4sim.corpus.checks import canonical_p4info, check
from targets.p4sim.corpus.pool import run_cases
from targets.p4sim.corpus.report import Report, compare

PROGRAM = """#include <v1model.p4>
header h_t { bit<8> f; }
struct hs { h_t h; }
struct m {}
parser P(packet_in p, out hs h, inout m mm, inout standard_metadata_t s) {
    state start { p.extract(h.h); transition accept; }
}
control VC(inout hs h, inout m mm) { apply {} }
control I(inout hs h, inout m mm, inout standard_metadata_t s) {
    apply { h.h.f = h.h.f + 1; s.egress_spec = 2; }
}
control E(inout hs h, inout m mm, inout standard_metadata_t s) { apply {} }
control CC(inout hs h, inout m mm) { apply {} }
control D(packet_out p, in hs h) { apply { p.emit(h.h); } }
V1Switch(P(), VC(), I(), E(), CC(), D()) main;
"""
GOLDEN = "# p4c names a table p4sim cannot have\ntables {\n  preamble {\n    id: 1\n  }\n}\n"


def _corpus(root: Path, stf: str, bad: str) -> Path:
    td = root / "testdata"
    for d in ("p4_16_samples", "p4_16_samples_outputs", "p4_16_errors", "p4_16_errors_outputs"):
        (td / d).mkdir(parents=True)
    (td / "p4_16_samples" / "inc-bmv2.p4").write_text(PROGRAM)
    (td / "p4_16_samples" / "inc-bmv2.stf").write_text(stf)
    (td / "p4_16_samples_outputs" / "inc-bmv2.p4.p4info.txtpb").write_text(GOLDEN)
    (td / "p4_16_samples" / "other.p4").write_text("#include <core.p4>\n")
    (td / "p4_16_errors" / "bad.p4").write_text(bad)
    (td / "p4_16_errors_outputs" / "bad.p4-stderr").write_text("bad.p4(2): error: x\n")
    return td


@pytest.mark.unit
def test_discover_and_check(tmp_path: Path) -> None:
    bad = '#include "../p4_16_samples/inc-bmv2.p4"\nconst bit<8> x = y;\n'
    td = _corpus(tmp_path, "packet 1 05\nexpect 2 06\n", bad)
    assert find_testdata(str(tmp_path)) == td
    cases = discover(td)
    assert [c.key for c in cases] == [
        "stf p4_16_samples/inc-bmv2.p4",
        "p4info p4_16_samples/inc-bmv2.p4",
        "error p4_16_errors/bad.p4",
    ]
    stf, info, err = (check(c) for c in cases)
    assert stf.status == "pass", stf
    assert info.status == "fail" and info.detail.startswith("differs"), info
    assert err.status == "pass" and err.p4c_line is True, err


@pytest.mark.unit
def test_failures_and_regressions(tmp_path: Path) -> None:
    td = _corpus(tmp_path, "packet 1 05\nexpect 2 07\n", PROGRAM)
    report = Report()
    for case, outcome in run_cases(discover(td), jobs=1, timeout=60):
        report.add(case, outcome)
    stf = report.outcomes["stf p4_16_samples/inc-bmv2.p4"][1]
    assert stf.status == "fail" and "differs" in stf.detail
    assert report.outcomes["error p4_16_errors/bad.p4"][1].detail.startswith("accepted")
    expected = {"stf p4_16_samples/inc-bmv2.p4", "stf gone.p4"}
    assert compare(report, expected) == (["stf p4_16_samples/inc-bmv2.p4"], [])
    assert report.figures()[0] == "STF:     0 of 1 v1model samples pass"


@pytest.mark.unit
def test_canonical_p4info_orders_entities_by_id() -> None:
    from finsy.proto import p4i

    a, b = p4i.P4Info(), p4i.P4Info()
    for msg, ids in ((a, (5, 3)), (b, (3, 5))):
        for i in ids:
            msg.actions.add().preamble.id = i
    assert canonical_p4info(a) == canonical_p4info(b)
    b.actions[0].preamble.name = "x"
    assert canonical_p4info(a) != canonical_p4info(b)
