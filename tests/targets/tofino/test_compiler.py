"""The Tofino compile wrapper, and the TNA C-PE compiled by the open-source Tofino compiler.

The compile test runs whenever bf-p4c or p4c-barefoot is found (SL3VPN_TOFINO_PREFIX,
SL3VPN_P4_PREFIX or PATH; targets/tofino/build-compiler builds it) and skips naming them
otherwise.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from finsy.proto import p4i
from google.protobuf import text_format

from targets.p4sim.program import load
from targets.tofino.__main__ import main as tofino_main
from targets.tofino.compiler import (
    compile_command,
    compile_tna,
    find_compiler,
    parse_stage_usage,
)

REPO = Path(__file__).resolve().parents[3]
TNA_PROGRAM = REPO / "p4src" / "cpe_tna.p4"
V1MODEL_PROGRAM = REPO / "p4src" / "cpe.p4"
TOFINO1_STAGES = 12

# Two placement attempts, as bf-p4c writes them to table_summary.log.
SUMMARY_LOG = """\
Table allocation done 1 time(s), state = INITIAL
Number of stages in table allocation: 13
  Number of stages for ingress table allocation: 13
  Number of stages for egress table allocation: 1
Table allocation done 2 time(s), state = REDO_PHV1
Number of stages in table allocation: 9
  Number of stages for ingress table allocation: 9
  Number of stages for egress table allocation: 1
Critical path length through the table dependency graph: 9
"""


@pytest.mark.unit
def test_stage_usage_is_the_last_allocation_attempt() -> None:
    usage = parse_stage_usage(SUMMARY_LOG)
    assert usage is not None
    assert (usage.total, dict(usage.per_gress)) == (9, {"ingress": 9, "egress": 1})
    assert str(usage) == "9 stages (egress 1, ingress 9)"
    assert parse_stage_usage("PHV allocation failed\n") is None


def _tool(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    tool = directory / name
    tool.write_text("#!/bin/sh\nexit 0\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return tool


@pytest.mark.unit
def test_compiler_is_found_in_prefix_then_variables_then_path(tmp_path: Path) -> None:
    given = _tool(tmp_path / "given" / "bin", "p4c-barefoot")
    tofino = _tool(tmp_path / "tofino" / "bin", "bf-p4c")
    on_path = _tool(tmp_path / "path", "p4c-barefoot")
    env = {"SL3VPN_TOFINO_PREFIX": str(tmp_path / "tofino"), "PATH": str(on_path.parent)}
    assert find_compiler(tmp_path / "given", env) == given
    assert find_compiler(None, env) == tofino
    assert find_compiler(None, {"PATH": str(on_path.parent)}) == on_path
    assert find_compiler(None, {"PATH": str(tmp_path / "empty")}) is None


@pytest.mark.unit
def test_command_asks_for_standard_p4info_and_stage_summary(tmp_path: Path) -> None:
    out = tmp_path / "out"
    driver = compile_command(Path("/x/bf-p4c"), TNA_PROGRAM, out, defines={"CPU_PORT": "192"})
    assert driver[:7] == ["/x/bf-p4c", "--target", "tofino", "--arch", "tna", "-o", str(out)]
    assert "--p4runtime-force-std-externs" in driver and "--verbose" in driver
    assert driver[driver.index("--p4runtime-files") + 1] == str(out / "p4info.txtpb")
    assert driver[-2:] == ["-DCPU_PORT=192", str(TNA_PROGRAM)]
    venv_python = _tool(tmp_path / "prefix" / "venv" / "bin", "python3")
    in_prefix = _tool(tmp_path / "prefix" / "bin", "bf-p4c")
    assert compile_command(in_prefix, TNA_PROGRAM, out)[:2] == [str(venv_python), str(in_prefix)]
    bare = compile_command(Path("/x/p4c-barefoot"), TNA_PROGRAM, out, target="tofino2")
    assert "-D__TARGET_TOFINO__=2" in bare and "table_summary:1" in bare
    with pytest.raises(ValueError, match="unknown Tofino target"):
        compile_command(Path("/x/bf-p4c"), TNA_PROGRAM, out, target="tofino9")


def _fake_compiler(directory: Path, stages: int) -> Path:
    """A stand-in p4c-barefoot: P4Info, and the placement printed as -T table_summary:1 does."""
    directory.mkdir(parents=True, exist_ok=True)
    tool = directory / "p4c-barefoot"
    tool.write_text(
        "#!/bin/sh\n"
        'while [ "$1" != -o ]; do shift; done\n'
        'mkdir -p "$2" && : > "$2/p4info.txtpb"\n'
        f'echo "Number of stages in table allocation: {stages}"\n'
    )
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return tool


@pytest.mark.unit
@pytest.mark.parametrize(("stages", "fits", "exit_code"), [(12, True, 0), (24, False, 1)])
def test_placement_longer_than_the_chip_is_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], stages: int, fits: bool, exit_code: int
) -> None:
    tool = _fake_compiler(tmp_path / "prefix" / "bin", stages)
    result = compile_tna(TNA_PROGRAM, tmp_path / "out", tool=tool)
    assert result.ok and result.stages is not None and result.stages.total == stages
    assert result.fits is fits
    argv = [str(TNA_PROGRAM), "-o", str(tmp_path / "cli"), "--prefix", str(tmp_path / "prefix")]
    assert tofino_main(argv) == exit_code
    err = capsys.readouterr().err
    if fits:
        assert err == ""
    else:
        assert f"table placement needs {stages} stages; tofino has 12 per gress" in err


def _names(info: p4i.P4Info) -> dict[str, object]:
    """What a controller addresses by name: tables with keys and actions, actions, counters."""
    action_names = {a.preamble.id: a.preamble.name for a in info.actions}
    return {
        "tables": {
            t.preamble.name: (
                [(m.name, m.bitwidth) for m in t.match_fields],
                sorted(action_names[r.id] for r in t.action_refs),
            )
            for t in info.tables
        },
        "actions": {
            a.preamble.name: [(p.name, p.bitwidth) for p in a.params] for a in info.actions
        },
        "counters": sorted(c.preamble.name for c in info.counters),
        "packet_metadata": {
            m.preamble.name: [(f.name, f.bitwidth) for f in m.metadata]
            for m in info.controller_packet_metadata
        },
    }


@pytest.mark.slow
@pytest.mark.timeout(3600)  # bf-p4c may take many minutes on a small machine
def test_tna_program_compiles_for_tofino_with_the_v1model_names(tmp_path: Path) -> None:
    tool = find_compiler()
    if tool is None:
        pytest.skip(
            "bf-p4c / p4c-barefoot not found (SL3VPN_TOFINO_PREFIX, SL3VPN_P4_PREFIX, PATH)"
        )
    result = compile_tna(TNA_PROGRAM, tmp_path / "out", tool=tool)
    # Shown by pytest -rP (or -s): the stage count goes into targets/tofino/README.md.
    print(f"{' '.join(result.command)}\nTofino 1 table placement: {result.stages}")
    assert result.ok, f"{' '.join(result.command)}\n{result.output[-4000:]}"
    # The names first, so a placement that does not fit still has them checked.
    tna = text_format.Parse(result.p4info.read_text(), p4i.P4Info())
    v1model = load(str(V1MODEL_PROGRAM)).p4info
    assert _names(tna) == _names(v1model)
    assert result.stages is not None, "the compiler reported no table placement"
    # p4c-barefoot exits 0 for a placement longer than the chip (the assembler
    # rejects it), so the stage limit is checked here.
    assert 1 <= result.stages.total <= TOFINO1_STAGES, (
        f"needs {result.stages}, Tofino 1 has {TOFINO1_STAGES} per gress"
    )
    assert result.stages.per_gress.get("ingress", 0) >= 1, result.stages
