"""The harness itself: every daemon is stopped by PID and every namespace deleted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from peers.fixtures import BgpLab

from controller.lab.netns import list_netns

pytestmark = [pytest.mark.interop, pytest.mark.slow]


@pytest.mark.parametrize("kind", ["gobgp", "bird", "frr", "exabgp"])
def test_gobgp_bird_frr_exabgp_harness_leaves_nothing_behind(tmp_path: Path, kind: str) -> None:
    lab = BgpLab(tmp_path)
    try:
        peer = lab.start(kind, families=("ipv4",), clients=1, rr=False)
        peer.connect(0)
        assert peer.daemon.proc is not None
        pid = peer.daemon.proc.pid
        names = {peer.lab.us.name, peer.lab.peer.name}
        assert names <= list_netns()
        assert str(os.getpid() % 100000) in peer.lab.tag  # names carry the test pid
    finally:
        lab.close()
    left = list_netns()
    assert not names & left
    assert peer.daemon.proc.poll() is not None
    with pytest.raises(ProcessLookupError):  # nothing left in its process group either
        os.killpg(pid, 0)
