"""`sl3vpn p4sim compile|stf` on bad files, flags and output paths: one line, no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit
Run = Any
CONF = Path(__file__).parents[1] / "targets" / "p4sim" / "conformance"
PROG = str(CONF / "calc.p4")
STF = str(CONF / "calc.stf")
GARBAGE = bytes(range(128, 256)) * 3  # never valid UTF-8 at offset 0


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "garbage.bin").write_bytes(GARBAGE)
    (tmp_path / "adir").mkdir()
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "bad.p4").write_bytes(GARBAGE)
    (tmp_path / "includes_bad.p4").write_text('#include "bad.p4"\n')
    (tmp_path / "empty").write_text("")
    return {p.name: str(p) for p in tmp_path.iterdir()} | {"missing": str(tmp_path / "nope.p4")}


@pytest.mark.parametrize(
    ("which", "needle"),
    [
        ("missing", "No such file"),
        ("adir", "Is a directory"),
        ("garbage.bin", "the program is not UTF-8"),
    ],
)
def test_compile_bad_program_file(sl3vpn: Run, files: dict[str, str], which: str, needle: str):
    res = sl3vpn("p4sim", "compile", files[which])
    assert res.rc == 1
    res.one_error_line(files[which], needle)


def test_compile_non_utf8_include(sl3vpn: Run, files: dict[str, str], tmp_path: Path) -> None:
    res = sl3vpn("p4sim", "compile", "-I", str(tmp_path / "inc"), files["includes_bad.p4"])
    assert res.rc == 1
    res.one_error_line(files["includes_bad.p4"], "#includes is not UTF-8")


@pytest.mark.parametrize("define", ["", "=1", "1X=2", "A B", "-x"])
def test_bad_define_is_usage_error(sl3vpn: Run, define: str) -> None:
    res = sl3vpn("p4sim", "compile", f"-D{define}", PROG)
    assert res.rc == 2
    assert "Traceback" not in res.err
    assert "argument -D" in res.err and "C identifier" in res.err


def test_good_defines_pass(sl3vpn: Run) -> None:
    assert sl3vpn("p4sim", "compile", "-DX", "-D_Y=(1", "-DZ=", PROG).rc == 0


@pytest.mark.parametrize("which", ["missing", "empty"])
def test_include_dir_must_be_a_directory(sl3vpn: Run, files: dict[str, str], which: str) -> None:
    res = sl3vpn("p4sim", "stf", "-I", files[which], PROG, STF)
    assert res.rc == 2
    assert "argument -I" in res.err and "not a directory" in res.err


@pytest.mark.parametrize("flag", ["--p4info", "--emit-python"])
@pytest.mark.parametrize("where", ["adir", "no_parent"])
def test_unwritable_output(sl3vpn: Run, files: dict[str, str], tmp_path: Path, flag, where):
    out = files["adir"] if where == "adir" else str(tmp_path / "no" / "such" / "out.txt")
    res = sl3vpn("p4sim", "compile", flag, out, PROG)
    assert res.rc == 1
    res.one_error_line(out, "cannot write")


@pytest.mark.parametrize(
    ("which", "needle"),
    [("missing", "No such file"), ("adir", "Is a directory"), ("garbage.bin", "not UTF-8")],
)
def test_stf_bad_test_file(sl3vpn: Run, files: dict[str, str], which: str, needle: str) -> None:
    res = sl3vpn("p4sim", "stf", PROG, files[which])
    assert res.rc == 1
    res.one_error_line(files[which], needle)


def test_stf_binary_garbage_as_program(sl3vpn: Run, files: dict[str, str]) -> None:
    res = sl3vpn("p4sim", "stf", files["garbage.bin"], STF)
    assert res.rc == 1
    res.one_error_line(files["garbage.bin"], "not UTF-8")


@pytest.mark.parametrize("content", ["", "// only a comment\n", "#define X 1\n"])
def test_program_without_declarations_names_the_file(sl3vpn: Run, tmp_path: Path, content: str):
    prog = tmp_path / "empty.p4"
    prog.write_text(content)
    res = sl3vpn("p4sim", "compile", str(prog))
    assert res.rc == 1
    assert res.one_error_line() == f"{prog}: error: program has no 'main' package instance"


@pytest.mark.parametrize("flag", ["--p4info", "--emit-python"])
def test_output_onto_the_program_is_refused(sl3vpn: Run, tmp_path: Path, flag: str) -> None:
    prog = tmp_path / "calc.p4"
    prog.write_bytes(Path(PROG).read_bytes())
    res = sl3vpn("p4sim", "compile", str(prog), flag, str(tmp_path / "." / "calc.p4"))
    assert res.rc == 1
    res.one_error_line("is the program itself")
    assert prog.read_bytes() == Path(PROG).read_bytes()
