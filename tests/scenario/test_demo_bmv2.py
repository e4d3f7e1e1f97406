"""`sl3vpn demo --target bmv2`: the whole demo with simple_switch_grpc in every node.

Runs whenever p4c-bm2-ss and simple_switch_grpc are found ($SL3VPN_P4_PREFIX/bin,
then PATH), skipped naming the missing tool otherwise. Root (network namespaces).
"""

from __future__ import annotations

import os
import re

import pytest
from demokit import run_demo

from targets.bmv2.tools import missing_tools

pytestmark = pytest.mark.slow


def _demo(*flags: str) -> str:
    missing = missing_tools()
    if missing:
        pytest.skip("; ".join(missing))
    if os.geteuid() != 0:
        pytest.fail("needs root: the demo builds network namespaces")
    out = run_demo("--target", "bmv2", *flags)
    assert "each with BMv2 (simple_switch_grpc)" in out or "on BMv2 (simple_switch_grpc)" in out
    assert re.search(r"PASS  lab up \([\d.]+s on bmv2\)", out), out[-4000:]
    return out


def test_demo_on_bmv2_with_daemons() -> None:
    out = _demo()
    assert re.search(r"lab sl3demo\d+: 5 processes stopped, 12 namespaces deleted", out)


def test_demo_on_bmv2_static_data_plane() -> None:
    out = _demo("--static")
    assert re.search(r"lab sl3demo\d+: 3 processes stopped, 12 namespaces deleted", out)
