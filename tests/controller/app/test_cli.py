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


def test_crypto_interface_with_p4sim_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "cpe.yml"
    cfg.write_text(
        CPE.replace("{port: 254, role: crypto}", "{port: 254, role: crypto, interface: c0}")
    )
    code, err = run(
        ["cpe", "--config", str(cfg), "--peer-black", "10.255.0.1=198.51.100.1"], capsys
    )
    assert code == 2 and len(err) == 1 and "leave out `interface`" in err[0]


def test_p4sim_that_cannot_start_is_one_line_and_exit_2(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from controller.lab.netns import Netns

    if os.geteuid() != 0:
        pytest.fail("needs root: a network namespace for the daemon")
    ns = Netns(f"sl3app-cli-{os.getpid() % 100000}")
    ns.create()
    try:
        cfg = tmp_path / "cpe.yml"
        # An option p4sim does not know: it exits at once and says why.
        cfg.write_text(CPE.replace("ports:\n", "p4sim: {args: [--no-such-flag]}\n  ports:\n", 1))
        argv = [sys.executable, "-m", "controller", "cpe", "--config", str(cfg)]
        argv += ["--peer-black", "10.255.0.1=198.51.100.1", "--run-dir", str(tmp_path)]
        proc = subprocess.run(ns.exec_argv(argv), capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, proc.stderr
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith("sl3vpn cpe: p4sim exited at start:") and "no-such-flag" in last
    finally:
        ns.delete()
