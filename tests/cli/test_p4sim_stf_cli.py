"""`sl3vpn p4sim stf` on malformed STF files: one line naming the file and line, exit 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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
