"""The preprocessor reads only regular files of sane size (program and includes)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from targets.p4sim.frontend import preprocess as pp
from targets.p4sim.frontend.errors import CompileError
from targets.p4sim.frontend.preprocess import preprocess

pytestmark = pytest.mark.unit


def test_include_dev_zero_is_refused_at_the_directive(tmp_path: Path) -> None:
    p = tmp_path / "a.p4"
    p.write_text('#include <core.p4>\n\n#include "/dev/zero"\n')
    with pytest.raises(CompileError) as info:
        preprocess(p)
    assert str(info.value) == f"{p}:3:1: error: cannot include /dev/zero: not a regular file"


def test_include_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.p4")
    p = tmp_path / "a.p4"
    p.write_text('#include "pipe.p4"\n')
    with pytest.raises(CompileError, match=r"a\.p4:1:1: error: cannot include .*pipe\.p4: not a"):
        preprocess(p)


def test_program_that_is_a_device_or_fifo_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CompileError, match=r"^/dev/zero:0:0: error: cannot read program: not a"):
        preprocess("/dev/zero")
    os.mkfifo(tmp_path / "pipe.p4")
    with pytest.raises(CompileError, match="cannot read program: not a regular file"):
        preprocess(tmp_path / "pipe.p4")


def test_oversized_include_and_program_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.p4"
    with big.open("wb") as f:
        f.truncate(pp.MAX_SOURCE_BYTES + 1)  # sparse: costs no disk
    p = tmp_path / "a.p4"
    p.write_text('// first\n#include "big.p4"\n')
    with pytest.raises(CompileError, match=r"a\.p4:2:1: error: cannot include .*larger than 16"):
        preprocess(p)
    with pytest.raises(CompileError, match="cannot read program: larger than 16 MiB"):
        preprocess(big)


def test_file_growing_past_the_limit_after_the_check_is_cut_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The stat check passes (limit raised for it), the bounded read still refuses.
    p = tmp_path / "a.p4"
    p.write_text('#include "inc.p4"\n')
    (tmp_path / "inc.p4").write_text("// " + "x" * 100 + "\n")
    monkeypatch.setattr(pp, "MAX_SOURCE_BYTES", 50)
    real_refusal = pp._refusal

    def stat_check_before_growth(path: str) -> str | None:
        why = real_refusal(path)  # raises for absent paths, as pcpp's probing needs
        return None if why == pp._TOO_LARGE else why

    monkeypatch.setattr(pp, "_refusal", stat_check_before_growth)
    with pytest.raises(CompileError, match=r"cannot include .*inc\.p4: larger than"):
        preprocess(p)


def test_directory_on_the_include_path_is_skipped(tmp_path: Path) -> None:
    # A directory named like the include in the first -I path does not hide the file.
    (tmp_path / "first" / "inc.p4").mkdir(parents=True)
    (tmp_path / "second").mkdir()
    (tmp_path / "second" / "inc.p4").write_text("#define FROM_SECOND 1\n")
    p = tmp_path / "a.p4"
    p.write_text("#include <inc.p4>\nFROM_SECOND\n")
    out = preprocess(p, includes=[tmp_path / "first", tmp_path / "second"])
    assert out.splitlines()[-1] == "1"


def test_regular_include_still_works(tmp_path: Path) -> None:
    (tmp_path / "inc.p4").write_text("const bit<8> X = 7;\n")
    p = tmp_path / "a.p4"
    p.write_text('#include "inc.p4"\n')
    assert "const bit<8> X = 7;" in preprocess(p)
