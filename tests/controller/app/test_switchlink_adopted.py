"""A daemon that adopted a running p4sim stops it on exit unless --keep-switch."""

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from controller.app.switchlink import SwitchLink
from controller.proc import alive

pytestmark = pytest.mark.unit

ADDRESS = "127.0.0.1:59599"


def adopted_link(run_dir: Path) -> SwitchLink:
    cfg = SimpleNamespace(
        node=SimpleNamespace(name="cpe9"),
        switch=SimpleNamespace(
            p4runtime=None, p4sim=SimpleNamespace(grpc_address=ADDRESS, device_id=1)
        ),
    )
    return SwitchLink(cfg, run_dir, run_dir, on_fresh=lambda: None, spawn=lambda c: None)  # type: ignore[arg-type]


def fake_switch(*words: str) -> subprocess.Popen[bytes]:
    """A stand-in whose command line carries ``words`` (once it has exec'd)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *words])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if words[0].encode() in Path(f"/proc/{proc.pid}/cmdline").read_bytes():
            return proc
        time.sleep(0.01)
    proc.kill()
    raise AssertionError("the stand-in process did not start")


@pytest.mark.parametrize("keep", [False, True])
def test_adopted_switch_is_stopped_only_without_keep_switch(tmp_path: Path, keep: bool) -> None:
    proc = fake_switch("p4sim", "run", "--grpc-server-addr", ADDRESS)
    try:
        (tmp_path / "cpe9-p4sim.pid").write_text(f"{proc.pid}\n")
        link = adopted_link(tmp_path)
        link.adopted_pid = link._recorded_pid()
        assert link.adopted_pid == proc.pid
        asyncio.run(link.close(keep_switch=keep))
        if keep:
            assert proc.poll() is None
        else:
            assert proc.wait(timeout=5) != 0
            assert not (tmp_path / "cpe9-p4sim.pid").exists()
    finally:
        proc.kill()
        proc.wait()
    assert not alive(proc.pid)


def test_a_pid_file_naming_another_program_is_not_trusted(tmp_path: Path) -> None:
    proc = fake_switch("not-a-switch")
    try:
        (tmp_path / "cpe9-p4sim.pid").write_text(f"{proc.pid}\n")
        assert adopted_link(tmp_path)._recorded_pid() is None
        (tmp_path / "cpe9-p4sim.pid").write_text("garbage\n")
        assert adopted_link(tmp_path)._recorded_pid() is None
    finally:
        proc.kill()
        proc.wait()
