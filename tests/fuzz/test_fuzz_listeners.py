"""A short run of the listener fuzzer (tests/fuzz/run.py): BGP and IKE over real sockets.

The full runs (100,000 inputs each) and their figures are in docs/reliability.md;
this one checks, with a few thousand inputs, that the listeners survive hostile
peers: no traceback, no internal error, the good peer's session up throughout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_bgp_and_ike_listeners_survive_mutated_input(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.skip("the fuzz run needs root, unshare and ip (its own network namespace)")
    out = tmp_path / "fuzz.json"
    cmd = [sys.executable, "-m", "tests.fuzz.run", "--bgp", "3000", "--ike", "3000"]
    proc = subprocess.run(
        [*cmd, "--seed", "7", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    reports = {r["kind"]: r for r in json.loads(out.read_text())}
    for kind in ("bgp", "ike"):
        r = reports[kind]
        assert r["ok"] and r["tracebacks"] == 0 and r["internal_errors"] == {}, r
        assert r["good_session_drops"] == 0 and r["good_checks"] > 5, r
        assert len(r["mutations"]) >= 20, r  # every seed met several mutations
    assert reports["bgp"]["connections"] > 100
