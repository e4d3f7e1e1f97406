"""PTF's own runner (--platform nn) drives p4sim over nanomsg IPC, no root needed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from targets.p4sim.runtime.ports import NanomsgTransport, PortManager

from .test_ports import forwarding_device

pytestmark = [pytest.mark.ptf, pytest.mark.slow]

CASES = Path(__file__).with_name("ptf_cases")


def test_ptf_runner_over_nanomsg(tmp_path: Path) -> None:
    ptf_bin = shutil.which("ptf", path=str(Path(sys.executable).parent))
    if ptf_bin is None:
        pytest.skip("the ptf runner is not installed in this venv")
    addr = f"ipc://{tmp_path}/p4sim-ptf-{os.getpid()}.ipc"
    device = forwarding_device((1, 2), (2, 1))
    ports = PortManager(device)
    device.emit = ports.emit
    nn = NanomsgTransport(addr)
    ports.set_default(nn)
    ports.start()
    try:
        proc = subprocess.run(
            [
                ptf_bin, "--test-dir", str(CASES), "--platform", "nn",
                "--device-socket", f"0-{{1,2,3}}@{addr}",
                "--log-file", str(tmp_path / "ptf.log"), "forwarding",
            ],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
    finally:
        ports.close()
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "OK" in out and "ForwardingTest" in out
    counters = device.pipeline.program.state.counters[302011393]  # type: ignore[union-attr]
    assert counters.packets[1] == 2 and counters.packets[2] == 2 and counters.packets[3] == 1
