"""`sl3vpn demo --program tna`: the whole demo with p4src/cpe_tna.p4 in every node.

Every C-PE and RR daemon runs the TNA program on p4sim (its TNA model); the
daemons drive it with the same names as cpe.p4. Root (network namespaces).
"""

from __future__ import annotations

import os
import re

import pytest
from demokit import run_demo

pytestmark = pytest.mark.slow


def test_demo_with_daemons_on_the_tna_program() -> None:
    if os.geteuid() != 0:
        pytest.fail("needs root: the demo builds network namespaces")
    out = run_demo("--program", "tna")
    assert "running p4src/cpe_tna.p4 and the ESP engine" in out
    assert re.search(r"lab sl3demo\d+: 5 processes stopped, 12 namespaces deleted", out)
