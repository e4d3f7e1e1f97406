"""A tunnel the tunnel manager keeps, and what its helper modules need of the manager.

``tunnels.TunnelManager`` hands itself to ``collisions.py`` (two ends set the
same thing up at once) and ``moves.py`` (a black address changed); they see it
through :class:`Manager`, so neither imports the module that imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from controller.ipsec.handle import HandleReading, read_handle
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.ike.sa import IkeSa
from controller.ipsec.sad import SaDatabase


@dataclass
class Tunnel:
    peer: str
    tenant: str | None
    security_handle: bytes | None = None
    ike: IkeSa | None = None
    initiate_at: float | None = None  # waiting for the peer to initiate until then
    reading: HandleReading = field(default_factory=lambda: read_handle(None))


class Manager(Protocol):
    daemon: IkeDaemon
    sad: SaDatabase
    local: str  # our black address
    log: Callable[[str], None]
    tunnels: dict[tuple[str, str | None], Tunnel]
    # IKE SAs a fresh one to a moved peer replaces (by id), with the peer's new address
    replacing: dict[int, tuple[IkeSa, str]]
    on_moved: Callable[[str, str], None]

    def peer_of(self, sa: IkeSa) -> str: ...

    def start(self, tun: Tunnel, now: float, defer: bool = False) -> None: ...
