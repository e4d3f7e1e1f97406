"""p4runtime-shell (its own venv, protobuf 3) drives `sl3vpn p4sim run --no-p4`.

It pushes basic.p4 in the ``--config p4info.txt,device_config`` form, with the
device config being the P4 file itself (p4sim's single-file form), then
writes and reads entries.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from google.protobuf import text_format

from .engine_rig import BASIC_P4, basic_p4info

pytestmark = [pytest.mark.interop, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[4]
P4RTSH_PYTHON = ROOT / ".venv-p4rtsh" / "bin" / "python"
SCRIPT = Path(__file__).with_name("p4rtsh_script.py")
SL3VPN = [sys.executable, "-m", "controller.cli"]


async def test_p4runtime_shell_pushes_writes_and_reads(tmp_path: Path) -> None:
    if not P4RTSH_PYTHON.exists():
        pytest.skip("no .venv-p4rtsh: run scripts/setup.sh --dev")
    p4info = tmp_path / "p4info.txt"
    p4info.write_text(text_format.MessageToString(basic_p4info()))
    switch = await asyncio.create_subprocess_exec(
        *SL3VPN, "p4sim", "run", "--no-p4", "--", "--grpc-server-addr", "127.0.0.1:0",
        "--cpu-port", "255", stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    shell = None
    try:
        assert switch.stdout is not None
        line = (await asyncio.wait_for(switch.stdout.readline(), 60)).decode()
        port = int(line.rsplit(":", 1)[1])
        shell = await asyncio.create_subprocess_exec(
            str(P4RTSH_PYTHON), str(SCRIPT), f"127.0.0.1:{port}", str(p4info), str(BASIC_P4),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(shell.communicate(), 120)
        text = out.decode(errors="replace")
        sys.stdout.write(text)
        assert shell.returncode == 0, text
        assert "fwd entries [(1, 2), (2, 1), (7, 3)]" in text
        assert "duplicate insert refused: True" in text
        assert text.rstrip().endswith("OK")
    finally:
        if shell is not None and shell.returncode is None:
            shell.kill()
            await shell.wait()
        if switch.returncode is None:
            switch.terminate()
            await asyncio.wait_for(switch.wait(), 10)
