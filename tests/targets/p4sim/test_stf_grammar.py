"""p4c's STF grammar details (p4c's bmv2stf.py is the reference)."""

from __future__ import annotations

from pathlib import Path

import pytest

from targets.p4sim.program import load
from targets.p4sim.stf import StfError, run_stf
from targets.p4sim.switch import Switch

pytestmark = pytest.mark.unit
TERNARY = Path(__file__).parent / "conformance" / "table_ternary.p4"


def test_nibble_wildcards_are_a_ternary_mask() -> None:
    stf = (
        "add t 10 hdr.data.f1:0x0a****** fwd(port:1)\n"
        "add t 20 hdr.data.f1:0x**0a**0* fwd(port:2)\n"
        "packet 0 0a0a01010000000000000000\nexpect 2 0a0a01010000000000000000$\n"
        "packet 0 0a0b01010000000000000000\nexpect 1 0a0b01010000000000000000$\n"
        "packet 0 0b0b00000000000000000000\nexpect 9 0b0b00000000000000000000$\n"
    )
    result = run_stf(Switch(load(TERNARY)), stf)
    assert result.ok, result.failures


def test_nibble_wildcards_need_hex() -> None:
    with pytest.raises(StfError, match=r"line 1: '\*' digits need a 0x value"):
        run_stf(Switch(load(TERNARY)), "add t 10 hdr.data.f1:12** fwd(port:1)\n")


def test_stack_element_key_named_the_bmv2_way(tmp_path: Path) -> None:
    """BMv2 (and so p4c's STF files) names header stack element N ``stack$N``."""
    src = (Path(__file__).parent / "conformance" / "header_stack.p4").read_text()
    old = "    apply {\n        sm.egress_spec = 2;\n"
    assert old in src
    (tmp_path / "p.p4").write_text(
        src.replace(
            old,
            "    action fwd(bit<9> port) { sm.egress_spec = port; }\n"
            "    table t { key = { hdr.labels[1].label: exact; } actions = { fwd; } }\n"
            + old
            + "        t.apply();\n",
        )
    )
    stf = "add t hdr.labels$1.label:0x0a fwd(port:1)\npacket 0 000000000000000000000000 0100 0a01\n"
    result = run_stf(Switch(load(tmp_path / "p.p4")), stf + "expect 1\n")
    assert result.ok, result.failures


@pytest.mark.parametrize(
    ("stf", "failures"),
    [
        # port 2 is named nowhere: bmv2stf.py gives BMv2 no such interface
        ("packet 0 0a0b01010000000000000000\n", []),
        ("packet 0 0a0b01010000000000000000\nexpect 7 0a$\n", ["expected a packet on port 7"]),
        # named by a packet command: its frames are checked
        ("packet 0 0a0b01010000000000000000\npacket 2 00\n", ["unexpected packet on port 2"]),
    ],
)
def test_only_named_ports_are_checked(stf: str, failures: list[str]) -> None:
    result = run_stf(Switch(load(TERNARY)), "add t 10 hdr.data.f1:0x0a0b0101 fwd(port:2)\n" + stf)
    assert len(result.failures) == len(failures), result.failures
    for m, f in zip(failures, result.failures, strict=True):
        assert m in f
