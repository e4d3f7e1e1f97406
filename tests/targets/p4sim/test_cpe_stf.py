"""`sl3vpn p4sim stf` on the C-PE program itself (p4src/cpe.p4), through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.cli import main as sl3vpn

pytestmark = pytest.mark.unit
ROOT = Path(__file__).parents[3]
STF = Path(__file__).parent / "stf"


def test_cpe_stf_passes(capsys: pytest.CaptureFixture[str]) -> None:
    stf = STF / "cpe_arp_punt.stf"
    assert sl3vpn(["p4sim", "stf", str(ROOT / "p4src" / "cpe.p4"), str(stf)]) == 0
    assert "PASS (2 packets, 1 expects)" in capsys.readouterr().out


def test_cpe_stf_catches_a_wrong_punt_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = tmp_path / "wrong.stf"
    wrong.write_text(
        (STF / "cpe_arp_punt.stf").read_text().replace("expect 255 010080", "expect 255 010100")
    )
    assert sl3vpn(["p4sim", "stf", str(ROOT / "p4src" / "cpe.p4"), str(wrong)]) == 1
    assert "packet on port 255 differs" in capsys.readouterr().err
