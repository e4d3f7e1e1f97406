"""asyncio glue for the app: IKE service + tunnel manager + SA database on one installer.

The app calls :meth:`IpsecRuntime.ensure_tunnel` (eager) or
:meth:`IpsecRuntime.packet_needs_tunnel` (lazy) with a peer's black address; SAs
reach the data path only through the :class:`SaInstaller` given here, and
``on_change`` tells the app which SA index each tunnel now uses (P4 entries).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable

from controller.ipsec import sad_restart
from controller.ipsec.ike.adapter import IkeService
from controller.ipsec.ike.config import IkeConfig
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.ike.events import Event
from controller.ipsec.ike.sa import Addr, IkeSa
from controller.ipsec.inherit import InheritedPair
from controller.ipsec.installer import ExpiryEvent, SaInstaller
from controller.ipsec.sad import SaDatabase, TunnelChange
from controller.ipsec.tunnels import TunnelManager

TICK_SECONDS = 0.5  # how often drained SAs are looked at


class IpsecRuntime:
    def __init__(
        self,
        installer: SaInstaller,
        local_black: str,
        make_config: Callable[[str], IkeConfig],
        *,
        per_tenant: bool = False,
        lazy: bool = False,
        drain_seconds: float = 2.0,
        switch_delay: float = 0.0,
        on_change: Callable[[TunnelChange], None] = lambda change: None,
        on_moved: Callable[[str, str], None] = lambda old, new: None,
        esp_sink: Callable[[bytes, Addr], None] | None = None,
        log: Callable[[str], None] = lambda line: None,
        local_sets: dict[str | None, int] | None = None,
    ) -> None:
        self.daemon = IkeDaemon([], spi_alloc=installer.allocate_spi, log=log)
        local = ipaddress.ip_address(local_black)
        self.sad = SaDatabase(installer, local, drain_seconds, on_change, log, switch_delay)
        self.service = IkeService(self.daemon, local_black, esp_sink)
        self.tunnels = TunnelManager(
            self.daemon, self.sad, local_black, make_config, per_tenant, lazy, log,
            local_sets=local_sets,
        )  # fmt: skip
        self.tunnels.on_moved = on_moved
        self.service.listeners.append(self._on_event)
        self._unsubscribe = installer.subscribe(self._on_expiry)
        self._ticker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self, socks: dict[int, socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await self.service.start(socks)
        self._ticker = asyncio.create_task(self._tick())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        self._unsubscribe()
        await self.service.stop()

    # -- the app's calls -------------------------------------------------------------------

    def ensure_tunnel(
        self, peer_black_addr: str, security_handle: bytes | None = None, tenant: str | None = None
    ) -> None:
        self.tunnels.ensure_tunnel(peer_black_addr, security_handle, tenant, now=self.service.now)
        self.service.poke()

    def packet_needs_tunnel(self, peer_black_addr: str, tenant: str | None = None) -> None:
        self.tunnels.packet_needs_tunnel(peer_black_addr, tenant, now=self.service.now)
        self.service.poke()

    def withdraw(self, peer_black_addr: str, tenant: str | None = None) -> None:
        self.tunnels.withdraw(peer_black_addr, tenant, now=self.service.now)
        self.service.poke()

    def peer_moved(self, old: str, new: str) -> None:
        """BGP says a peer's black address changed (see controller/ipsec/moves.py)."""
        self.tunnels.peer_moved(old, new, now=self.service.now)
        self.service.poke()

    def inherit(self, pairs: list[InheritedPair]) -> None:
        """SA pairs a previous daemon left in the engine: in service until IKE replaces them."""
        self.sad.inherit(pairs, self.service.now, self.tunnels.orphan_hold)

    def engine_replaced(self) -> None:
        """A fresh ESP engine replaced a dead one: the SA database puts its SA pairs back
        (controller/ipsec/sad_restart.py) and every CHILD_SA carrying a tunnel is rekeyed."""
        spis = sad_restart.refill(self.sad)
        for spi_in in spis:
            self.daemon.rekey_child(spi_in, self.service.now)
        self.service.poke()

    async def move_local(self, new: str) -> None:
        """Our black address changed: IKE sockets on it, SAs moved (MOBIKE where ours)."""
        await self.service.rebind(new)
        self.tunnels.local_moved(new, now=self.service.now)
        self.service.poke()

    def accept(self, peer_black_addr: str) -> None:
        """Let this peer set up SAs towards us before we ever need it (responder side)."""
        self.tunnels.accept(peer_black_addr)

    def outbound_index(
        self, peer_black_addr: str, tenant: str | None = None, child: str = "mpls"
    ) -> int | None:
        return self.sad.outbound_index(peer_black_addr, tenant, child)

    # -- inputs ------------------------------------------------------------------------------

    def _on_event(self, sa: IkeSa, event: Event) -> None:
        self.tunnels.on_events([(sa, event)], self.service.now)

    def _on_expiry(self, event: ExpiryEvent) -> None:
        """Engine expiries come from whichever thread ran the engine (a crypto-port
        thread for packet limits): IKE and the SA database live on the loop."""
        loop = self._loop
        if loop is not None and not _on_loop(loop):
            loop.call_soon_threadsafe(self._expiry_on_loop, event)
        else:
            self._expiry_on_loop(event)

    def _expiry_on_loop(self, event: ExpiryEvent) -> None:
        self.tunnels.on_expiry(event, self.service.now)
        self.service.poke()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self.sad.tick(self.service.now)
            if self.tunnels.tick(self.service.now):
                self.service.poke()


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:  # no loop runs in this thread
        return False
