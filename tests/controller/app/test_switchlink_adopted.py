"""A daemon that adopted a running switch (p4sim or BMv2) stops it on exit unless
--keep-switch."""

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


# kind -> the word the switch's command line carries
PROGRAM = {"p4sim": "p4sim", "bmv2": "simple_switch_grpc"}


def adopted_link(run_dir: Path, kind: str = "p4sim") -> SwitchLink:
    launched = SimpleNamespace(grpc_address=ADDRESS, device_id=1)
    cfg = SimpleNamespace(
        node=SimpleNamespace(name="cpe9"),
        switch=SimpleNamespace(p4runtime=None, launched=launched, kind=kind),
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


@pytest.mark.parametrize("kind", ["p4sim", "bmv2"])
@pytest.mark.parametrize("keep", [False, True])
def test_adopted_switch_is_stopped_only_without_keep_switch(
    tmp_path: Path, keep: bool, kind: str
) -> None:
    proc = fake_switch(PROGRAM[kind], "--", "--grpc-server-addr", ADDRESS)
    try:
        (tmp_path / f"cpe9-{kind}.pid").write_text(f"{proc.pid}\n")
        link = adopted_link(tmp_path, kind)
        link.adopted_pid = link._recorded_pid()
        assert link.adopted_pid == proc.pid
        asyncio.run(link.close(keep_switch=keep))
        if keep:
            assert proc.poll() is None
        else:
            assert proc.wait(timeout=5) != 0
            assert not (tmp_path / f"cpe9-{kind}.pid").exists()
    finally:
        proc.kill()
        proc.wait()
    assert not alive(proc.pid)


def test_a_pid_file_naming_another_program_is_not_trusted(tmp_path: Path) -> None:
    proc = fake_switch("not-a-switch")
    p4sim = fake_switch("p4sim", "--grpc-server-addr", ADDRESS)
    try:
        (tmp_path / "cpe9-p4sim.pid").write_text(f"{proc.pid}\n")
        assert adopted_link(tmp_path)._recorded_pid() is None
        # a BMv2 daemon does not take a p4sim for its switch
        (tmp_path / "cpe9-bmv2.pid").write_text(f"{p4sim.pid}\n")
        assert adopted_link(tmp_path, "bmv2")._recorded_pid() is None
        (tmp_path / "cpe9-p4sim.pid").write_text("garbage\n")
        assert adopted_link(tmp_path)._recorded_pid() is None
        (tmp_path / "cpe9-p4sim.pid").write_text(f"{p4sim.pid}\n")
        assert adopted_link(tmp_path)._recorded_pid() == p4sim.pid
    finally:
        for each in (proc, p4sim):
            each.kill()
            each.wait()
