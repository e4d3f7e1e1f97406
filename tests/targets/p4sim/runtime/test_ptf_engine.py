"""PTF's runner (--platform nn) drives `sl3vpn p4sim run basic.p4` over nanomsg, no root."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import grpc
import pytest
from finsy.proto import p4r, p4r_grpc

from .conftest import Controller
from .engine_rig import BASIC_P4, fwd_entry, lpm_entry

pytestmark = [pytest.mark.ptf, pytest.mark.slow]

CASES = Path(__file__).with_name("ptf_cases")
SL3VPN = [sys.executable, "-m", "controller.cli"]


async def test_ptf_drives_p4sim_run_over_nanomsg(tmp_path: Path) -> None:
    ptf_bin = shutil.which("ptf", path=str(Path(sys.executable).parent))
    assert ptf_bin is not None, "the ptf runner is part of the dev extra"
    addr = f"ipc://{tmp_path}/p4sim-{os.getpid()}.ipc"
    switch = await asyncio.create_subprocess_exec(
        *SL3VPN, "p4sim", "run", str(BASIC_P4), "--packet-in", addr, "--pcap", str(tmp_path),
        "--", "--grpc-server-addr", "127.0.0.1:0", "--cpu-port", "255",
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    ctl: Controller | None = None
    try:
        assert switch.stdout is not None
        line = (await asyncio.wait_for(switch.stdout.readline(), 60)).decode()
        assert "serving P4Runtime" in line, line
        port = int(line.rsplit(":", 1)[1])
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = p4r_grpc.P4RuntimeStub(channel)
            ctl = Controller(stub, 1)
            await ctl.open()
            req = p4r.WriteRequest(device_id=0)
            req.election_id.low = 1
            for ent in (
                fwd_entry(1, "BasicIngress.set_port", b"\x02"),
                fwd_entry(2, "BasicIngress.set_port", b"\x01"),
                fwd_entry(3, "BasicIngress.to_cpu"),
                lpm_entry(b"\x0a\x09\x00\x00", 16, 4),
            ):
                req.updates.add(type=p4r.Update.INSERT, entity=ent)
            await stub.Write(req)
            ptf = await asyncio.create_subprocess_exec(
                ptf_bin, "--test-dir", str(CASES), "--platform", "nn",
                "--device-socket", f"0-{{1,2,3,4,5}}@{addr}",
                "--log-file", str(tmp_path / "ptf.log"), "basic",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
            )  # fmt: skip
            out, _ = await asyncio.wait_for(ptf.communicate(), 120)
            text = out.decode(errors="replace")
            assert ptf.returncode == 0, text
            assert "BasicForwarding" in text and "OK" in text
            await ctl.close()
            ctl = None
        assert (tmp_path / "1_in.pcap").stat().st_size > 24
        assert (tmp_path / "4_out.pcap").stat().st_size > 24
    finally:
        if ctl is not None:
            await ctl.close()
        if switch.returncode is None:
            switch.terminate()
            await asyncio.wait_for(switch.wait(), 10)
