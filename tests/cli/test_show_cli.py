"""`sl3vpn show` with bad flags, sockets and configs: one stderr line, no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit
Run = Any


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "abc", "", "1e10", "86401"])
def test_bad_timeout_is_usage_error(sl3vpn: Run, tmp_path: Path, value: str) -> None:
    res = sl3vpn("show", "vrf", "--timeout", value, "--socket", str(tmp_path / "x.sock"))
    assert res.rc == 2
    assert "Traceback" not in res.err
    assert res.err.strip().splitlines()[-1].startswith("sl3vpn show: error: argument --timeout")


@pytest.mark.parametrize("node", ["../../etc/x", "a/b", "", ".."])
def test_node_must_be_a_name(sl3vpn: Run, node: str) -> None:
    res = sl3vpn("show", "bgp", "--node", node)
    assert res.rc == 2
    assert "argument --node" in res.err and "not a node name" in res.err


@pytest.mark.parametrize("kind", ["missing", "dir", "file"])
def test_socket_that_is_not_a_daemon(sl3vpn: Run, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "ctl.sock"
    if kind == "dir":
        path.mkdir()
    elif kind == "file":
        path.write_bytes(b"\x00")
    res = sl3vpn("show", "sa", "--socket", str(path), "--timeout", "0.5")
    assert res.rc == 1
    res.one_error_line("sl3vpn show sa:", str(path))


@pytest.mark.parametrize(
    ("content", "needle"),
    [(b"\xff\xfe\x00garbage", "not UTF-8"), (b"a: [\n", "YAML"), (b"", "expected a mapping")],
)
def test_config_that_is_not_a_config(sl3vpn: Run, tmp_path: Path, content: bytes, needle: str):
    cfg = tmp_path / "cpe.yml"
    cfg.write_bytes(content)
    res = sl3vpn("show", "vrf", "--config", str(cfg))
    assert res.rc == 1
    res.one_error_line(str(cfg), needle)


@pytest.mark.parametrize("value", ["0.001", "86400"])
def test_timeout_bounds_accepted(sl3vpn: Run, tmp_path: Path, value: str) -> None:
    res = sl3vpn("show", "vrf", "--timeout", value, "--socket", str(tmp_path / "x.sock"))
    assert res.rc == 1  # reaches the socket: no daemon there
    res.one_error_line("daemon not running")
