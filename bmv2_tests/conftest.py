"""Plumbing of the packet suite: one target per session, clean state per test.

The target (p4sim by default, BMv2 with SL3VPN_TARGET=bmv2) is started once,
the C-PE pipeline pushed over P4Runtime, PTF's nanomsg dataplane attached to
every port and the ESP engine to the crypto port. After each test every entry
the test wrote is deleted again, the engine forgets its SAs, and queued
frames and packet-ins are discarded, so no test sees another's state.
Counters are compared as before/after differences.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bmv2_tests.lib.cpe import Cpe
from bmv2_tests.lib.session import cpe_session
from bmv2_tests.lib.target import RunningTarget, TargetUnavailable, start_target


@pytest.fixture(scope="session")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTarget]:
    try:
        running = start_target(Path(tmp_path_factory.mktemp("target")))
    except TargetUnavailable as exc:
        pytest.skip(str(exc))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def session_cpe(target: RunningTarget) -> Iterator[Cpe]:
    with cpe_session(target) as cpe:
        yield cpe


@pytest.fixture
def cpe(session_cpe: Cpe, target: RunningTarget) -> Iterator[Cpe]:
    session_cpe.written.clear()
    yield session_cpe
    if target.proc.poll() is not None:
        pytest.fail(f"{target.kind} died during the test:\n{target.log_tail()}")
    written = list(reversed(session_cpe.written))
    session_cpe.written.clear()
    try:
        if session_cpe.dirty:
            raise RuntimeError("unknown switch state")
        if written:
            session_cpe.sw.delete(written)
    except Exception:
        # A half-written state (a failed write, a failed delete): a fresh
        # pipeline push clears every table and counter.
        session_cpe.sw.set_pipeline(target.p4info, target.device_config)
        session_cpe.dirty = False
    session_cpe.crypto.reset()
    session_cpe.dp.flush()
    session_cpe.sw.drain_packet_ins()
