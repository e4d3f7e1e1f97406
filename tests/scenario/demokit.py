"""Running `sl3vpn demo` from a scenario test and checking its verdict."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_demo(*flags: str) -> str:
    """`sl3vpn demo FLAGS` as this user; its output once it has said PASS."""
    argv = [sys.executable, "-m", "controller", "demo", *flags]
    return demo_passed(subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600))


def demo_passed(done: subprocess.CompletedProcess[str]) -> str:
    """A finished demo's output, asserting its verdict is PASS (its pcaps removed)."""
    out = done.stdout + done.stderr
    pcaps = re.search(r"pcaps kept in (\S+)\)", out)
    if pcaps:
        shutil.rmtree(pcaps.group(1), ignore_errors=True)
    assert done.returncode == 0, out[-4000:]
    assert "PASS  same tenant reaches (24/24 pairs)" in out
    assert "PASS  other tenants isolated (36/36 pairs get no reply)" in out
    assert "FAIL" not in out
    assert "sl3vpn demo: PASS" in out.splitlines(), out[-2000:]
    return out
