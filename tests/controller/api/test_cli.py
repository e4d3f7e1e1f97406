"""`sl3vpn show`: output, --json, socket selection, exit codes and messages."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controller.api import cli as show_cli
from controller.api.server import ControlServer

from . import fake

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="sl3vpn")
    show_cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.fixture(autouse=True)
def _no_env_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(show_cli.ENV_SOCKET, raising=False)


@pytest.fixture
async def sock(tmp_path: Path) -> AsyncIterator[str]:
    server = ControlServer(fake.FakeSource(), str(tmp_path / "cpe1.sock"))
    async with server:
        yield server.path


async def test_show_text_and_json(sock: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await asyncio.to_thread(run, ["show", "bgp", "--socket", sock]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("Neighbor")
    assert "Total neighbors 3, established 2" in out
    assert await asyncio.to_thread(run, ["show", "drops", "--json", "--socket", sock]) == 0
    assert json.loads(capsys.readouterr().out) == fake.DROPS


async def test_show_metrics(sock: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await asyncio.to_thread(run, ["show", "metrics", "--socket", sock]) == 0
    out = capsys.readouterr().out
    assert "# TYPE sl3vpn_drop_packets_total counter" in out.splitlines()
    assert fake.samples(out)[("sl3vpn_vrf_packets_total", (("vrf", "blue"),))] == 3000


async def test_routes_filters(sock: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["show", "routes", "--vrf", "green", "--json", "--socket", sock]
    assert await asyncio.to_thread(run, argv) == 0
    assert [r["vrf"] for r in json.loads(capsys.readouterr().out)] == ["green", "green"]
    assert await asyncio.to_thread(run, ["show", "bgp", "--vrf", "x", "--socket", sock]) == 2
    assert "apply to routes only" in capsys.readouterr().err


async def test_socket_from_environment(
    sock: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(show_cli.ENV_SOCKET, sock)
    assert await asyncio.to_thread(run, ["show", "tables"]) == 0
    assert "vrf_fib_v4 (2 entries)" in capsys.readouterr().out


async def test_daemon_error_is_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = fake.FakeSource()
    source.fail.add("tunnels")
    async with ControlServer(source, str(tmp_path / "c.sock")) as server:
        assert await asyncio.to_thread(run, ["show", "tunnels", "--socket", server.path]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "sl3vpn show tunnels: show tunnels: internal error: "
        "RuntimeError: tunnels is broken second line\n"
    )


def test_daemon_not_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = str(tmp_path / "none.sock")
    assert run(["show", "sa", "--socket", missing]) == 1
    assert capsys.readouterr().err == (
        f"sl3vpn show sa: daemon not running: control socket {missing}: no such socket\n"
    )


def test_socket_from_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "cpe.yml"
    cfg.write_text(
        "node: {name: cpe9, role: rr, as: 65000, router_id: 192.0.2.9}\n"
        f"control_socket: {tmp_path}/{{name}}.sock\n"
    )
    assert run(["show", "bgp", "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert f"control socket {tmp_path}/cpe9.sock: no such socket" in err, err
    bad = tmp_path / "bad.yml"
    bad.write_text("node: {name: x}\n")
    assert run(["show", "bgp", "--config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sl3vpn show bgp: ") and str(bad) in err and err.count("\n") == 1


def test_default_socket_discovery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(show_cli, "RUN_DIR", str(tmp_path))
    assert run(["show", "vrf"]) == 1
    assert "no control socket in" in capsys.readouterr().err
    (tmp_path / "a.sock").touch()
    (tmp_path / "b.sock").touch()
    assert run(["show", "vrf"]) == 1
    assert "several daemons run here (a, b)" in capsys.readouterr().err
    args = argparse.Namespace(socket=None, config=None, node="b")
    assert show_cli.socket_path(args) == f"{tmp_path}/b.sock"


def test_sl3vpn_show_end_to_end_without_a_daemon(tmp_path: Path) -> None:
    """The installed entry point, as a user runs it: one line on stderr, exit 1, no traceback."""
    env = {k: v for k, v in os.environ.items() if k != show_cli.ENV_SOCKET}
    proc = subprocess.run(
        [sys.executable, "-m", "controller", "show", "bgp", "--socket", str(tmp_path / "x.sock")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    if "invalid choice: 'show'" in proc.stderr:
        pytest.fail("controller.api.cli is not registered in controller/cli.py SUBCOMMAND_MODULES")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.endswith("no such socket\n") and proc.stderr.count("\n") == 1


async def test_sl3vpn_show_end_to_end_against_a_live_server(sock: str) -> None:
    """The real command in its own process, talking to a server in this event loop."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "controller", "show", "sa", "--socket", sock,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err
    lines = out.decode().splitlines()
    assert lines[0] == "IKE SAs: 2" and "CHILD SAs: 2" in lines
