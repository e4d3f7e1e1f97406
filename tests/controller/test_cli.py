import subprocess
import sys

import pytest

import controller
from controller.cli import main

pytestmark = pytest.mark.unit


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"sl3vpn {controller.__version__}"


def test_help_lists_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "demo" in capsys.readouterr().out


def test_no_subcommand_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: sl3vpn" in capsys.readouterr().out


def test_console_script_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "controller", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.startswith("sl3vpn ")
