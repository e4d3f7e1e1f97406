"""Fixtures: two namespaces joined by a veth, charon in one, our IKE service in the other."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from swan_charon import Charon
from swan_netns import SS_INNER_IP, SS_IP, US_IP, Netns, Topo, veth_pair

_counter = itertools.count()


@pytest.fixture
def topo(tmp_path: Path) -> Iterator[Topo]:
    if os.geteuid() != 0 or not Path("/usr/lib/ipsec/charon").exists():
        pytest.fail("strongSwan interop needs root and charon (scripts/setup.sh installs it)")
    tag = f"{os.getpid() % 100000}x{next(_counter)}"
    us, ss = Netns.new(f"sl3ike-us-{tag}"), Netns.new(f"sl3ike-ss-{tag}")
    charon = None
    try:
        veth_pair(us, US_IP, ss, SS_IP, tag)
        # strongSwan's protected subnet: kernel-libipsec routes it via ipsec0 from this address
        ss.run(["ip", "addr", "add", f"{SS_INNER_IP}/32", "dev", "lo"])
        charon = Charon(ss, tmp_path)
        yield Topo(us, ss, charon, tag)
    finally:
        if charon is not None:
            charon.stop()
        us.delete()
        ss.delete()
