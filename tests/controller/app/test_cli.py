"""`sl3vpn cpe|rr`: start-up problems are one line on stderr and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.cli import main

from .conftest import CPE

pytestmark = pytest.mark.unit


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def test_config_error_names_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text(CPE.replace("vrf: green, address", "vrf: nosuch, address"))
    code, err = run(["cpe", "--config", str(bad)], capsys)
    assert code == 2
    assert err == [f"{bad}:7: switch.ports[1].vrf: VRF 'nosuch' is not defined under vrfs"]


def test_role_mismatch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "cpe.yml"
    cfg.write_text(CPE)
    code, err = run(["rr", "--config", str(cfg)], capsys)
    assert (code, err) == (2, [f"{cfg}: node.role: is cpe, but this is `sl3vpn rr`"])


def test_red_neighbour_without_black_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "cpe.yml"
    cfg.write_text(CPE)
    code, err = run(["cpe", "--config", str(cfg)], capsys)
    assert code == 2 and len(err) == 1
    assert "no black address known for red neighbour(s) 10.255.0.1" in err[0]
    code, err = run(["cpe", "--config", str(cfg), "--peer-black", "10.255.0.1"], capsys)
    assert (code, err) == (2, ["sl3vpn cpe: --peer-black '10.255.0.1': expected RED=BLACK"])
