"""`sl3vpn config check` on files that are not configurations: one line naming the file
(and line where there is one), exit 1, and the other files are still checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit
Run = Any
GOOD = str(Path(__file__).parents[2] / "examples" / "cpe1.yml")

BAD = {
    "empty": (b"", "expected a mapping"),
    "garbage": (bytes(range(128, 256)), "not UTF-8"),
    "latin1": ("node:\n  name: caf\xe9\n".encode("latin-1"), "not UTF-8"),
    "nul": (b"node: \x00\x00\n", "YAML syntax"),
    "truncated": (b"node: {name: [\n", "YAML syntax"),
    "list": (b"- a\n- b\n", "expected a mapping"),
    "deep": (b"node: " + b"[" * 3000 + b"]" * 3000 + b"\n", "nests too deeply"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_file_then_good_file(sl3vpn: Run, tmp_path: Path, kind: str) -> None:
    content, needle = BAD[kind]
    bad = tmp_path / f"{kind}.yml"
    bad.write_bytes(content)
    res = sl3vpn("config", "check", "--no-secrets", str(bad), GOOD)
    assert res.rc == 1
    res.one_error_line(str(bad), needle)
    assert res.out == f"{GOOD}: ok (cpe cpe1)\n"  # the next file was still checked


@pytest.mark.parametrize("kind", ["missing", "dir"])
def test_not_a_file(sl3vpn: Run, tmp_path: Path, kind: str) -> None:
    path = tmp_path / "cfg.yml"
    if kind == "dir":
        path.mkdir()
    res = sl3vpn("config", "check", str(path))
    assert res.rc == 1
    res.one_error_line(str(path), "cannot read")


def test_no_file_is_usage_error(sl3vpn: Run) -> None:
    res = sl3vpn("config", "check")
    assert res.rc == 2 and "Traceback" not in res.err
