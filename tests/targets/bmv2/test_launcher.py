"""The BMv2 launcher's pure parts: tool discovery, compile cache, command lines."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from targets.bmv2 import compiler, switch, tools

pytestmark = pytest.mark.unit


def _exe(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def no_tools(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty PATH and an empty prefix: nothing is found until a test adds it."""
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    monkeypatch.setenv(tools.PREFIX_ENV, str(tmp_path / "prefix"))
    return tmp_path


def test_prefix_bin_wins_over_path(no_tools: Path) -> None:
    _exe(no_tools / "path" / "p4c-bm2-ss", "exit 0")
    in_prefix = _exe(no_tools / "prefix" / "bin" / "p4c-bm2-ss", "exit 0")
    assert tools.find_tool("p4c-bm2-ss") == in_prefix


def test_path_is_the_fallback(no_tools: Path) -> None:
    on_path = _exe(no_tools / "path" / "simple_switch_grpc", "exit 0")
    assert tools.find_tool("simple_switch_grpc") == on_path


def test_missing_tool_names_itself_and_both_places(no_tools: Path) -> None:
    with pytest.raises(tools.ToolMissing) as err:
        tools.find_tool("simple_switch_grpc")
    msg = str(err.value)
    assert msg.startswith("simple_switch_grpc not found")
    assert f"SL3VPN_P4_PREFIX/bin = {no_tools / 'prefix' / 'bin'}" in msg
    assert "then PATH" in msg
    assert "\n" not in msg


def test_missing_tool_without_prefix(no_tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tools.PREFIX_ENV)
    assert tools.missing_tools(("p4c-bm2-ss",)) == [
        "p4c-bm2-ss not found (looked in SL3VPN_P4_PREFIX (not set), then PATH)"
    ]


def test_tool_env_puts_prefix_lib_first(no_tools: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = _exe(no_tools / "prefix" / "bin" / "simple_switch_grpc", "exit 0")
    (no_tools / "prefix" / "lib").mkdir()
    monkeypatch.setenv("LD_LIBRARY_PATH", "/other")
    env = tools.tool_env(tool)
    assert env["LD_LIBRARY_PATH"] == f"{(no_tools / 'prefix' / 'lib').resolve()}:/other"


SOURCES = {"main.p4": b"control c() {}", "include/a.p4": b"header h_t {}"}


def test_cache_key_is_stable_and_order_free() -> None:
    one = compiler.cache_key(SOURCES, "main.p4", {"A": "1", "B": "2"}, "v1")
    two = compiler.cache_key(dict(reversed(SOURCES.items())), "main.p4", {"B": "2", "A": "1"}, "v1")
    assert one == two


@pytest.mark.parametrize(
    "change",
    [
        {"sources": {**SOURCES, "include/a.p4": b"header h_t { bit<8> f; }"}},
        {"sources": {**SOURCES, "include/b.p4": b""}},
        {"main": "include/a.p4"},
        {"defines": {"A": "2", "B": "2"}},
        {"defines": {"A": "1"}},
        {"version": "v2"},
    ],
)
def test_cache_key_changes_with_every_input(change: dict[str, object]) -> None:
    base: dict[str, object] = {
        "sources": SOURCES,
        "main": "main.p4",
        "defines": {"A": "1", "B": "2"},
        "version": "v1",
    }
    assert compiler.cache_key(**base) != compiler.cache_key(**{**base, **change})  # type: ignore[arg-type]


def test_cache_key_parts_do_not_run_together() -> None:
    assert compiler.cache_key({"ab": b"c"}, "m", {}, "v") != compiler.cache_key(
        {"a": b"bc"}, "m", {}, "v"
    )


def test_compile_argv() -> None:
    argv = compiler.compile_argv(
        Path("/p/bin/p4c-bm2-ss"), Path("/s/cpe.p4"), {"CPU_PORT": "255", "A": "1"},
        Path("/c/program.json"), Path("/c/p4info.txtpb"),
    )  # fmt: skip
    assert argv == [
        "/p/bin/p4c-bm2-ss", "--arch", "v1model", "--p4runtime-files", "/c/p4info.txtpb",
        "-o", "/c/program.json", "-DA=1", "-DCPU_PORT=255", "/s/cpe.p4",
    ]  # fmt: skip


# A stand-in compiler that records each run and writes both outputs.
FAKE_P4C = """
if [ "$1" = --version ]; then echo "p4c-bm2-ss"; echo "Version 9.9.9"; exit 0; fi
echo run >> "${0%/*}/runs"
while [ $# -gt 1 ]; do
  case "$1" in -o) echo '{"json": 1}' > "$2";; --p4runtime-files) echo 'pkg_info {}' > "$2";; esac
  shift
done
echo "warning: something the compiler says" >&2
"""


def _program(tmp_path: Path) -> Path:
    (tmp_path / "src" / "include").mkdir(parents=True)
    (tmp_path / "src" / "include" / "h.p4").write_text("header h_t {}\n")
    main = tmp_path / "src" / "main.p4"
    main.write_text('#include "include/h.p4"\n')
    return main


def test_compile_is_cached_by_content(no_tools: Path) -> None:
    fake = _exe(no_tools / "prefix" / "bin" / "p4c-bm2-ss", FAKE_P4C)
    runs = fake.parent / "runs"
    main, cache = _program(no_tools), no_tools / "cache"
    first = compiler.compile_program(main, {"X": "1"}, cache)
    assert not first.cached and first.json_path.read_text() == '{"json": 1}\n'
    assert "warning: something" in first.warnings
    again = compiler.compile_program(main, {"X": "1"}, cache)
    assert again.cached and again.key == first.key
    assert runs.read_text().count("run") == 1
    (main.parent / "include" / "h.p4").write_text("header h_t { bit<8> f; }\n")
    changed = compiler.compile_program(main, {"X": "1"}, cache)
    assert not changed.cached and changed.key != first.key
    assert compiler.compile_program(main, {"X": "2"}, cache).key not in (first.key, changed.key)
    assert runs.read_text().count("run") == 3
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        {first.key, changed.key, compiler.compile_program(main, {"X": "2"}, cache).key}
    )  # no temporary folders left behind


def test_compile_error_is_one_line(no_tools: Path) -> None:
    _exe(
        no_tools / "prefix" / "bin" / "p4c-bm2-ss",
        '[ "$1" = --version ] && exit 0\n'
        'echo "main.p4(3): [--Werror=type-error] error: x: no such field" >&2; exit 1',
    )
    main = _program(no_tools)
    with pytest.raises(compiler.CompileError) as err:
        compiler.compile_program(main, {}, no_tools / "cache")
    assert "p4c-bm2-ss failed: main.p4(3): [--Werror=type-error] error: x: no such field" in str(
        err.value
    )
    assert "\n" not in str(err.value)
    assert list((no_tools / "cache").iterdir()) == []


def test_compile_without_compiler_names_it(no_tools: Path) -> None:
    with pytest.raises(tools.ToolMissing, match=r"^p4c-bm2-ss not found \(looked in"):
        compiler.compile_program(_program(no_tools), {}, no_tools / "cache")


def test_default_cache_dir_is_outside_the_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(compiler.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/var/cache/u")
    assert compiler.default_cache_dir() == Path("/var/cache/u/sl3vpn/bmv2")
    monkeypatch.setenv(compiler.CACHE_ENV, "/somewhere")
    assert compiler.default_cache_dir() == Path("/somewhere")


def test_switch_argv_interfaces_and_cpu_port() -> None:
    opts = switch.SwitchOptions(
        grpc_address="127.0.0.1:9559", device_id=3, cpu_port=255,
        interfaces={5: "black0", 1: "red1"},
    )  # fmt: skip
    argv = switch.switch_argv(Path("/p/simple_switch_grpc"), opts, 40001, "ipc:///r/n.ipc")
    assert argv == [
        "/p/simple_switch_grpc", "--device-id", "3", "-i", "1@red1", "-i", "5@black0",
        "--thrift-port", "40001", "--notifications-addr", "ipc:///r/n.ipc", "--no-p4",
        "--", "--grpc-server-addr", "127.0.0.1:9559", "--cpu-port", "255",
    ]  # fmt: skip


def test_switch_argv_packet_in_program_and_log() -> None:
    opts = switch.SwitchOptions(
        grpc_address="[::1]:50001", packet_in="ipc:///t/dp.ipc", log_level="debug",
        program_json=Path("/c/program.json"),
    )  # fmt: skip
    argv = switch.switch_argv(Path("ssg"), opts, 9091, "ipc:///t/n.ipc")
    assert argv == [
        "ssg", "--device-id", "1", "--packet-in", "ipc:///t/dp.ipc", "--thrift-port", "9091",
        "--notifications-addr", "ipc:///t/n.ipc", "--log-console", "--log-level", "debug",
        "/c/program.json", "--", "--grpc-server-addr", "[::1]:50001",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("address", "probe"),
    [
        ("0.0.0.0:9559", ("127.0.0.1", 9559)),
        ("[::]:1", ("::1", 1)),
        ("10.0.0.1:2", ("10.0.0.1", 2)),
    ],
)
def test_grpc_probe_address(address: str, probe: tuple[str, int]) -> None:
    assert switch.grpc_probe_address(address) == probe


def test_switch_that_exits_is_reported_with_its_log(no_tools: Path) -> None:
    _exe(no_tools / "prefix" / "bin" / "simple_switch_grpc", 'echo "bad interface x"; exit 3')
    sw = switch.Bmv2Switch(switch.SwitchOptions(grpc_address="127.0.0.1:1"), no_tools / "s.log")
    with pytest.raises(switch.SwitchStartError) as err:
        sw.start(ready_timeout=10)
    assert "exited with status 3 at start" in str(err.value)
    assert "bad interface x" in str(err.value)


def test_default_notifications_socket_is_per_instance(no_tools: Path) -> None:
    _exe(no_tools / "prefix" / "bin" / "simple_switch_grpc", "exit 0")
    one = switch.Bmv2Switch(switch.SwitchOptions(), no_tools / "a" / "s.log")
    two = switch.Bmv2Switch(switch.SwitchOptions(), no_tools / "a" / "t.log")
    assert one.thrift_port != two.thrift_port
    assert one.notifications != two.notifications
    assert os.fspath(no_tools / "a") in one.notifications
