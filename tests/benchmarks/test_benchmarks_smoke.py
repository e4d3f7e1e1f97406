"""Every benchmark runs in its smoke mode (tiny sizes, seconds), as the README invokes it.

Each one is started through its own shebang from the repo root (``benchmarks/NAME.py
--smoke``), so a benchmark that no longer runs, is no longer executable or lost its way
to the project's virtualenv fails here. The figures are printed, never checked: only that
every part that can run on this machine ran (the parts needing root or a real peer say
"skipped" with the reason when those are missing, and must not when they are present).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = sorted(p.name for p in (REPO / "benchmarks").glob("*.py") if p.name[0] != "_")
NEEDS_ROOT = {"cpe_targets.py", "engine_process.py", "lab_bringup.py", "p4sim_ports.py"}
ROOT = os.geteuid() == 0
CHARON = Path("/usr/lib/ipsec/charon")
# benchmark -> (line that shows its real-peer half ran, whether that peer is here)
PEER_HALF = {
    "bgp_convergence.py": ("gobgp:", ROOT and shutil.which("gobgpd") is not None),
    "ike_setup_rate.py": ("strongSwan vs strongSwan, swanctl loop", ROOT and CHARON.exists()),
}

pytestmark = pytest.mark.slow


def test_every_benchmark_is_listed_and_executable() -> None:
    assert len(BENCHMARKS) >= 9, BENCHMARKS
    for name in BENCHMARKS:
        path = REPO / "benchmarks" / name
        assert os.access(path, os.X_OK), f"{name} is not executable"
        assert path.read_text().startswith("#!/usr/bin/env python3\n"), f"{name}: shebang"


@pytest.mark.parametrize("name", BENCHMARKS)
def test_smoke(name: str) -> None:
    if name in NEEDS_ROOT and not ROOT:
        pytest.skip(f"{name} needs root (network namespaces)")
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    proc = subprocess.run(
        [f"benchmarks/{name}", "--smoke"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, (
        f"{name} exited {proc.returncode}:\n{out[-2000:]}{proc.stderr[-3000:]}"
    )
    assert out.strip(), f"{name} printed no figures"
    print(out)  # the figures, for whoever reads the log
    if name in PEER_HALF:
        line, present = PEER_HALF[name]
        if present:
            assert line in out and "skipped" not in out, out
        else:
            assert "skipped" in out, out
