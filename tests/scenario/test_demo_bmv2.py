"""`sl3vpn demo --target bmv2`: the whole demo with simple_switch_grpc in every node.

Runs whenever p4c-bm2-ss and simple_switch_grpc are found ($SL3VPN_P4_PREFIX/bin,
then PATH), skipped naming the missing tool otherwise. Root (network namespaces).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from targets.bmv2.tools import missing_tools

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _demo(*flags: str) -> str:
    missing = missing_tools()
    if missing:
        pytest.skip("; ".join(missing))
    if os.geteuid() != 0:
        pytest.fail("needs root: the demo builds network namespaces")
    argv = [sys.executable, "-m", "controller", "demo", "--target", "bmv2", *flags]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600)
    out = done.stdout + done.stderr
    pcaps = re.search(r"pcaps kept in (\S+)\)", out)
    if pcaps:
        shutil.rmtree(pcaps.group(1), ignore_errors=True)
    assert done.returncode == 0, out[-4000:]
    assert "each with BMv2 (simple_switch_grpc)" in out or "on BMv2 (simple_switch_grpc)" in out
    assert re.search(r"PASS  lab up \([\d.]+s on bmv2\)", out), out[-4000:]
    assert "PASS  same tenant reaches (24/24 pairs)" in out
    assert "PASS  other tenants isolated (36/36 pairs get no reply)" in out
    assert "FAIL" not in out
    assert "sl3vpn demo: PASS" in out.splitlines(), out[-2000:]
    return out


def test_demo_on_bmv2_with_daemons() -> None:
    out = _demo()
    assert re.search(r"lab sl3demo\d+: 5 processes stopped, 12 namespaces deleted", out)


def test_demo_on_bmv2_static_data_plane() -> None:
    out = _demo("--static")
    assert re.search(r"lab sl3demo\d+: 3 processes stopped, 12 namespaces deleted", out)
