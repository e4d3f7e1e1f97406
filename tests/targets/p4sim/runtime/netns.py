"""Test helpers: a throw-away namespace holding veth pairs, built with controller/lab/netns.py."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator

from controller.lab.netns import Netns


def can_use_netns() -> str | None:
    """None when namespaces can be used here, else the reason to skip."""
    if os.geteuid() != 0:
        return "needs root for network namespaces"
    if shutil.which("ip") is None:
        return "needs iproute2 (ip)"
    return None


@contextlib.contextmanager
def switch_ns(name: str) -> Iterator[Netns]:
    """Namespace ``name`` with veth pairs sw1/h1 and sw2/h2, all up; deleted afterwards."""
    ns = Netns.new(name)
    try:
        for i in (1, 2):
            ns.ip("link", "add", f"sw{i}", "type", "veth", "peer", "name", f"h{i}")
            for dev in (f"sw{i}", f"h{i}"):
                ns.link_up(dev)
        yield ns
    finally:
        ns.delete()
