"""`sl3vpn p4sim stf` on malformed STF files: one line naming the file and line, exit 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

Run = Any

pytestmark = pytest.mark.unit
CONF = Path(__file__).parents[1] / "targets" / "p4sim" / "conformance"
PROG = str(CONF / "calc.p4")


@pytest.mark.parametrize(
    "line",
    [
        "add",
        "mirroring_add 5",
        "mc_mgrp_create",
        "mc_node_create",
        "mc_node_associate 1",
        "register_write r 1",
        "check_register r 1",
        "packet 99999 00",
        "packet -1 00",
    ],
)
def test_short_or_out_of_range_line(tmp_path: Path, sl3vpn: Run, line: str) -> None:
    stf = tmp_path / "t.stf"
    stf.write_text(f"# header\n{line}\n")
    res = sl3vpn("p4sim", "stf", PROG, str(stf))
    assert res.rc == 1
    res.one_error_line(str(stf), "line 2")


def test_empty_stf_runs_nothing(tmp_path: Path, sl3vpn: Run) -> None:
    stf = tmp_path / "t.stf"
    stf.write_text("")
    res = sl3vpn("p4sim", "stf", PROG, str(stf))
    assert res.rc == 0 and "0 packets" in res.out


# Words an STF author types, right or wrong, for a fuzz of whole lines.
_WORDS = [
    *["add", "setdefault", "packet", "expect", "mirroring_add", "mc_mgrp_create", "mc_node_create"],
    *[
        "mc_node_associate",
        "register_write",
        "check_register",
        "check_counter",
        "wait",
        "no_packet",
    ],
    *[
        "r",
        "pkts",
        "pkts(3)",
        "pkts(",
        "(3)",
        "==",
        "packets",
        "bytes",
        "t",
        "t.k:1",
        "k:1/33",
        "k:1&&&0",
        "k:5..1",
        "a(x:1)",
        "a(",
    ],
    *[
        "0",
        "1",
        "2",
        "-1",
        "511",
        "512",
        "0x",
        "0xff",
        "1_000",
        "99999999999999999999",
        "00",
        "0",
        "ff",
        "fff",
        "zz",
        "*",
        "$",
        "#",
        "::",
        ",",
        "(",
        ")",
    ],
    "000000000000000001000000",
]


@pytest.fixture(scope="module")
def registers_program() -> Any:
    from targets.p4sim.program import load

    return load(CONF / "registers.p4")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(st.lists(st.sampled_from(_WORDS), max_size=6), max_size=6))
def test_fuzzed_stf_is_a_result_or_stf_error(registers_program: Any, lines: list[list[str]]):
    from targets.p4sim.stf import StfError, run_stf
    from targets.p4sim.switch import Switch

    text = "\n".join(" ".join(words) for words in lines)
    try:
        result = run_stf(Switch(registers_program), text)
    except StfError as exc:
        assert str(exc).startswith("line "), exc
    else:
        assert result.packets >= 0


def test_oversized_packet_is_refused(tmp_path: Path, sl3vpn: Run) -> None:
    stf = tmp_path / "t.stf"
    stf.write_text("packet 4 " + "00" * 65536 + "\n")
    res = sl3vpn("p4sim", "stf", PROG, str(stf))
    assert res.rc == 1
    res.one_error_line(str(stf), "line 1: packet of 65536 bytes, over 65535")
