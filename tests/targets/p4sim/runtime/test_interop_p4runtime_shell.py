"""p4runtime-shell (its own venv, protobuf 3) drives p4sim's P4Runtime server."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from google.protobuf import text_format

from .conftest import Rig
from .fake_program import fake_bundle, fake_p4info

pytestmark = [pytest.mark.interop, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[4]
P4RTSH_PYTHON = ROOT / ".venv-p4rtsh" / "bin" / "python"
SCRIPT = Path(__file__).with_name("p4rtsh_script.py")


async def test_p4runtime_shell_pushes_writes_and_reads(rig: Rig, tmp_path: Path) -> None:
    if not P4RTSH_PYTHON.exists():
        pytest.skip("no .venv-p4rtsh: run scripts/setup.sh --dev")
    p4info = tmp_path / "p4info.txt"
    p4info.write_text(text_format.MessageToString(fake_p4info()))
    config = tmp_path / "device_config.json"
    config.write_bytes(fake_bundle())
    proc = await asyncio.create_subprocess_exec(
        str(P4RTSH_PYTHON), str(SCRIPT), f"127.0.0.1:{rig.port}", str(p4info), str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    text = out.decode(errors="replace")
    sys.stdout.write(text)
    assert proc.returncode == 0, text
    assert "fwd entries [(1, 2), (2, 1), (7, 3)]" in text
    assert text.rstrip().endswith("OK")
    # and the server really holds what the shell wrote
    assert rig.device.pipeline is not None
    assert len(rig.device.pipeline.program.state.tables[33554433]) == 3
