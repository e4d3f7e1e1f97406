"""IKE daemons and tunnel managers pumped against each other in one process."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.tunnels import TunnelManager


class IkeNode(Protocol):
    daemon: IkeDaemon
    tunnels: TunnelManager


def pump(
    nodes: Mapping[str, IkeNode], now: float = 0.0, rounds: int = 50, drop: Collection[str] = ()
) -> None:
    """Deliver datagrams (by destination address) and events until all is quiet; those
    to an address in ``drop`` are lost."""
    for _ in range(rounds):
        busy = False
        for node in nodes.values():
            out, events = node.daemon.drain()
            node.tunnels.on_events(events, now)
            for dg in out:
                busy = True
                if dg.dst[0] not in drop:
                    nodes[dg.dst[0]].daemon.receive(dg.data, dg.src, dg.dst, now)
        if not busy:
            return
