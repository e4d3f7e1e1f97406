"""No Python file of the product is longer than 400 lines (style.md: files of about
100-300 lines, at most about 400; a longer one has more than one job to split off)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[1]
LIMIT = 400


def long_files(roots: list[Path], limit: int = LIMIT) -> list[tuple[str, int]]:
    out = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            with path.open("rb") as f:
                lines = sum(1 for _ in f)
            if lines > limit:
                out.append((str(path.relative_to(root.parent)), lines))
    return out


def test_no_product_file_is_longer_than_400_lines() -> None:
    found = long_files([REPO / "controller", REPO / "targets"])
    assert not found, "longer than 400 lines: " + ", ".join(f"{p} ({n})" for p, n in found)


def test_the_count_is_of_lines(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "short.py").write_text("x = 1\n" * 400)
    (pkg / "long.py").write_text("x = 1\n" * 400 + "y = 2")  # no final newline: still a line
    assert long_files([pkg]) == [("pkg/long.py", 401)]
