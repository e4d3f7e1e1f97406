"""The ESP engine process: adopted with its SAs, stopped on exit only without --keep-switch."""

import asyncio
import threading
from pathlib import Path

import pytest

from controller.app.enginelink import MODULE, EngineError, EngineLink
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.ports import LockedEngine
from controller.ipsec.esp.process import accept_loop, listen
from controller.ipsec.esp.service import EngineService
from controller.proc import alive

from .test_switchlink_adopted import fake_switch

pytestmark = pytest.mark.unit


def serve(path: Path, interface: str) -> None:
    """An engine service on ``path`` (the data path is not needed here)."""
    listener = listen(path)
    svc = EngineService(LockedEngine(EspEngine()), interface)
    threading.Thread(target=accept_loop, args=(listener, svc), daemon=True).start()


@pytest.mark.parametrize("keep", [False, True])
def test_adopted_engine_is_stopped_only_without_keep_switch(tmp_path: Path, keep: bool) -> None:
    link = EngineLink("cpe9", tmp_path, "sl3c-eng")
    serve(link.socket_path, "sl3c-eng")
    proc = fake_switch(MODULE, "--socket", str(link.socket_path))
    try:
        link.pid_file.write_text(f"{proc.pid}\n")
        asyncio.run(link.start())
        assert link.adopted_pid == proc.pid and link.proc is None and link.inherited == []
        asyncio.run(link.close(keep))
        if keep:
            assert proc.poll() is None and link.pid_file.exists()
        else:
            assert proc.wait(timeout=5) != 0
            assert not link.pid_file.exists()
    finally:
        proc.kill()
        proc.wait()
    assert not alive(proc.pid)


def test_an_engine_serving_another_interface_is_not_adopted(tmp_path: Path) -> None:
    link = EngineLink("cpe9", tmp_path, "sl3c-eng")
    serve(link.socket_path, "other0")
    with pytest.raises(EngineError, match="serves 'other0', not 'sl3c-eng'"):
        asyncio.run(link.start())


@pytest.mark.parametrize("left", [False, True])
def test_an_engine_that_cannot_start_is_reported_with_its_last_log_line(
    tmp_path: Path, left: bool
) -> None:
    """... and a PID file our previous engine left (killed, not stopped) says we lost
    its SAs, which the peers still hold (controller/ipsec/rejoin.py)."""
    link = EngineLink("cpe9", tmp_path, "no-such-if0")
    if left:
        link.pid_file.write_text("999999999\n")  # no such process
    with pytest.raises(EngineError, match=r"ESP engine exited at start: .*no-such-if0"):
        asyncio.run(link.start())
    assert link.lost_sas is left


def test_an_engine_that_dies_is_replaced_and_refilled(tmp_path: Path, monkeypatch) -> None:
    """An adopted engine (not our child) that dies: watch() starts a new one and calls back
    (the daemon refills it from its SA database) instead of stopping the daemon."""
    link = EngineLink("cpe9", tmp_path, "sl3c-eng")
    serve(link.socket_path, "sl3c-eng")
    proc = fake_switch(MODULE, "--socket", str(link.socket_path))
    spawned: list[bool] = []
    refilled: list[bool] = []

    async def spawn() -> None:  # a real engine needs the crypto veth: the start is stubbed
        spawned.append(True)

    monkeypatch.setattr(link, "_spawn", spawn)
    monkeypatch.setattr("controller.app.enginelink.ADOPTED_POLL", 0.05)

    async def scenario() -> None:
        await link.start()
        watch = asyncio.ensure_future(link.watch(lambda: refilled.append(True)))
        await asyncio.sleep(0.3)
        assert not spawned and not refilled  # alive: nothing to do
        proc.kill()
        proc.wait()
        for _ in range(100):
            if refilled:
                break
            await asyncio.sleep(0.05)
        watch.cancel()

    try:
        link.pid_file.write_text(f"{proc.pid}\n")
        asyncio.run(scenario())
    finally:
        proc.kill()
        proc.wait()
    assert spawned == [True] and refilled == [True] and link.restarts == 1
