"""The daemon's BMv2 switch: configuration, command line, pipeline files, one-line errors."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from controller.app import switch as sw
from controller.config import ConfigError, parse
from targets.bmv2.tools import PREFIX_ENV, missing_tools

from .conftest import CPE, PROGRAM

pytestmark = pytest.mark.unit


def bmv2_config(extra: str = "") -> str:
    return CPE.replace("switch:\n", f"switch:\n  bmv2: {{{extra}}}\n", 1)


@pytest.fixture
def fake_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tools prefix holding a stand-in simple_switch_grpc, and an empty PATH."""
    binary = tmp_path / "prefix" / "bin" / "simple_switch_grpc"
    binary.parent.mkdir(parents=True)
    (tmp_path / "prefix" / "lib").mkdir()
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv(PREFIX_ENV, str(tmp_path / "prefix"))
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    return tmp_path / "prefix"


def test_bmv2_is_a_launched_target() -> None:
    cfg = parse(bmv2_config("grpc_address: '127.0.0.1:9600', log_level: info"), "cpe1.yml")
    assert cfg.switch.kind == "bmv2" and cfg.switch.launched is cfg.switch.bmv2
    assert cfg.switch.program_defines() == {"CPU_PORT": "255", "CRYPTO_PORT": "254"}
    assert parse(CPE, "cpe1.yml").switch.kind == "p4sim"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("log_level: loud", "cpe1.yml:5: switch.bmv2.log_level: Input should be 'trace', "),
        ("thrift_port: 0", "cpe1.yml:5: switch.bmv2.thrift_port: Input should be greater"),
        ("grpc_address: nowhere", "cpe1.yml:5: switch.bmv2.grpc_address: 'nowhere' is not HOST"),
        ("colour: red", "cpe1.yml:5: switch.bmv2.colour: unknown field (check the spelling)"),
    ],
)
def test_bad_bmv2_fields_are_one_line_naming_the_field(extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(bmv2_config(extra), "cpe1.yml")
    lines = err.value.lines()
    assert len(lines) == 1 and lines[0].startswith(message), lines


def test_two_targets_are_refused() -> None:
    text = bmv2_config().replace("  bmv2: {}\n", "  bmv2: {}\n  p4sim: {}\n")
    with pytest.raises(ConfigError) as err:
        parse(text, "cpe1.yml")
    assert err.value.lines() == [
        "cpe1.yml:4: switch: give one of p4sim, bmv2 or p4runtime, not p4sim and bmv2"
    ]


def test_bmv2_command_line(fake_prefix: Path, tmp_path: Path) -> None:
    text = CPE.replace("name: blue0,", "name: blue0, interface: veth-b0,").replace(
        "name: wan0,", "name: wan0, interface: wan0,"
    )
    text = text.replace("switch:\n", "switch:\n  bmv2: {thrift_port: 9191, args: [-q]}\n", 1)
    cfg = parse(text, "cpe1.yml")
    argv, env = sw.bmv2_argv(cfg, tmp_path)
    assert argv == [
        str(fake_prefix / "bin" / "simple_switch_grpc"), "--device-id", "1",
        "-i", "1@veth-b0", "-i", "3@wan0", "-i", "254@sl3c-sw",
        "--thrift-port", "9191",
        "--notifications-addr", f"ipc://{tmp_path.resolve()}/cpe1-bmv2-notifications.ipc",
        "-q", "--no-p4", "--", "--grpc-server-addr", "127.0.0.1:9559", "--cpu-port", "255",
    ]  # fmt: skip
    assert env["LD_LIBRARY_PATH"].split(":")[0] == str((fake_prefix / "lib").resolve())


def test_bmv2_without_tools_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PREFIX_ENV, str(tmp_path / "empty"))
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    cfg = parse(bmv2_config(f"program: {PROGRAM}"), "cpe1.yml")
    with pytest.raises(sw.SwitchError) as err:
        sw.build_pipeline(cfg, tmp_path)
    assert str(err.value) == (
        f"switch.bmv2: p4c-bm2-ss not found (looked in SL3VPN_P4_PREFIX/bin = "
        f"{tmp_path / 'empty' / 'bin'}, then PATH)"
    )
    with pytest.raises(sw.SwitchError, match=r"^switch.bmv2: simple_switch_grpc not found"):
        sw.bmv2_argv(cfg, tmp_path)


def test_bmv2_program_that_does_not_exist(tmp_path: Path) -> None:
    cfg = parse(bmv2_config("program: nosuch.p4"), "cpe1.yml")
    with pytest.raises(sw.SwitchError) as err:
        sw.build_pipeline(cfg, tmp_path)
    assert str(err.value) == f"switch.bmv2.program: {tmp_path / 'nosuch.p4'} does not exist"


def remote_config(p4info: str, device_config: str) -> str:
    remote = f"  p4runtime: {{address: '10.0.0.2:9559', p4info: {p4info}, "
    return CPE.replace("switch:\n", f"switch:\n{remote}device_config: {device_config}}}\n", 1)


@pytest.mark.parametrize("kind", ["p4info", "device_config"])
def test_remote_pipeline_file_missing_names_the_field(tmp_path: Path, kind: str) -> None:
    (tmp_path / "cpe.p4info.txt").write_text('pkg_info { arch: "v1model" }\n')
    (tmp_path / "cpe.json").write_text("{}")
    names = {"p4info": "cpe.p4info.txt", "device_config": "cpe.json", kind: "gone"}
    cfg = parse(remote_config(names["p4info"], names["device_config"]), "cpe1.yml")
    with pytest.raises(sw.SwitchError) as err:
        sw.build_pipeline(cfg, tmp_path)
    assert (
        str(err.value) == f"switch.p4runtime.{kind}: {tmp_path / 'gone'}: No such file or directory"
    )


def test_remote_p4info_that_is_no_p4info(tmp_path: Path) -> None:
    (tmp_path / "cpe.p4info.txt").write_text("this is not protobuf text\n")
    (tmp_path / "cpe.json").write_text("{}")
    cfg = parse(remote_config("cpe.p4info.txt", "cpe.json"), "cpe1.yml")
    with pytest.raises(sw.SwitchError, match=r"^switch.p4runtime.p4info: .*: not a P4Info \("):
        sw.build_pipeline(cfg, tmp_path)


def test_p4info_files_in_every_format_p4c_writes(tmp_path: Path) -> None:
    """p4c's --p4runtime-files picks the format by suffix: text, binary or JSON."""
    from finsy.proto import p4i
    from google.protobuf import json_format, text_format

    info = p4i.P4Info()
    info.pkg_info.arch = "v1model"
    table = info.tables.add()
    table.preamble.id, table.preamble.name = 33554433, "ingress.t"
    (tmp_path / "a.p4info.txt").write_text(text_format.MessageToString(info))
    (tmp_path / "a.p4info.bin").write_bytes(info.SerializeToString())
    (tmp_path / "a.p4info.json").write_text(json_format.MessageToJson(info))
    for name in ("a.p4info.txt", "a.p4info.bin", "a.p4info.json"):
        assert sw.p4info_file(str(tmp_path / name)) == info, name


def test_real_p4c_artifacts_through_the_remote_path(tmp_path: Path) -> None:
    """What p4c-bm2-ss writes is what switch.p4runtime accepts (runs when it is installed)."""
    missing = missing_tools(("p4c-bm2-ss",))
    if missing:
        pytest.skip(missing[0])
    cfg = parse(bmv2_config(f"program: {PROGRAM}, cache_dir: {tmp_path / 'cache'}"), "c.yml")
    launched = sw.build_pipeline(cfg, tmp_path)
    art = next((tmp_path / "cache").iterdir())
    remote = parse(remote_config(str(art / "p4info.txtpb"), str(art / "program.json")), "c.yml")
    pushed = sw.build_pipeline(remote, tmp_path)
    assert pushed == launched
    assert any(t.preamble.name.endswith("vrf_fib_v4") for t in pushed.p4info.tables)
