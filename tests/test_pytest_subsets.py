"""Any single test file, directory or -k selection runs with plain pytest from the repo root.

Each selection is its own pytest process, as a developer would type it: the failure this
guards against (tests/controller/ taken for the namespace package `controller`, hiding the
real one) depends on what the process imported first, so it never shows in the full run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Paths under tests/controller/ and tests/targets/ shadowed the real packages; the scenario
# file is the one the issue reported; the -k selection runs its tests, not just collects.
COLLECT = [
    ["tests/controller/bgp"],
    ["tests/controller/lab/test_plan.py"],
    ["tests/scenario/test_lab_daemons_per_tenant.py"],
    ["tests/targets/p4sim/runtime"],
    ["bmv2_tests/test_red_to_remote.py"],
]
RUN = ["tests/controller/lab", "-k", "topology and not root"]


def _pytest(args: list[str]) -> subprocess.CompletedProcess[str]:
    # The console script, not `python -m pytest`: -m puts the working directory (the repo
    # root, holding the real packages) on sys.path and would hide the failure.
    script = Path(sys.executable).parent / "pytest"
    return subprocess.run(
        [str(script), "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("selection", COLLECT, ids=lambda s: " ".join(s))
def test_selection_collects(selection: list[str]) -> None:
    proc = _pytest(["--collect-only", *selection])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "error" not in proc.stdout.lower().splitlines()[-1], proc.stdout[-3000:]
    assert " collected" in proc.stdout


@pytest.mark.slow
def test_k_selection_runs() -> None:
    proc = _pytest(RUN)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout.splitlines()[-1], proc.stdout[-3000:]
