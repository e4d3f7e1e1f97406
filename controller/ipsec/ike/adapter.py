"""asyncio adapter: UDP 500 and 4500 sockets around a sans-I/O :class:`IkeDaemon`.

Port 4500 carries IKE behind the 4-octet non-ESP marker and UDP-encapsulated ESP
(RFC 3948 2.2); a lone 0xff is a NAT keepalive. ESP received there goes to
``esp_sink``; :meth:`IkeService.send_esp` sends ESP the same way.
"""

from __future__ import annotations

import asyncio
import functools
import socket
from collections.abc import Callable
from typing import Any

from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.ike.events import Event
from controller.ipsec.ike.sa import Addr, IkeSa

NON_ESP_MARKER = bytes(4)
NAT_T_PORT = 4500
# After activity the timer is rearmed once this much later, not per datagram: a burst of
# set-ups shares it. IKE timers (retransmits, DPD, lifetimes) are far coarser than this.
TIMER_SLACK = 0.01


def _same(proto: _Proto) -> _Proto:
    return proto


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, service: IkeService, port: int) -> None:
        self.service, self.port = service, port

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.service._datagram(data, (addr[0], addr[1]), self.port)

    def error_received(self, exc: Exception) -> None:
        self.service.daemon.log(f"IKE socket on port {self.port}: {exc}")


class IkeService:
    def __init__(
        self,
        daemon: IkeDaemon,
        local_ip: str,
        esp_sink: Callable[[bytes, Addr], None] | None = None,
    ) -> None:
        self.daemon = daemon
        self.local_ip = local_ip
        self.esp_sink = esp_sink
        self.events: asyncio.Queue[tuple[IkeSa, Event]] = asyncio.Queue()
        self.listeners: list[Callable[[IkeSa, Event], None]] = []
        self._transports: dict[int, asyncio.DatagramTransport] = {}
        self._wake = asyncio.Event()
        self._rescan = True  # next rearm scans every SA (start, after a tick, app calls)
        self._timer: asyncio.Task[None] | None = None

    @property
    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def start(self, socks: dict[int, socket.socket] | None = None) -> None:
        """Bind ports 500/4500 on ``local_ip``, or use ready sockets (e.g. made in a netns)."""
        loop = asyncio.get_running_loop()
        for port in (500, NAT_T_PORT):
            proto = _Proto(self, port)
            if socks:
                tr, _ = await loop.create_datagram_endpoint(
                    functools.partial(_same, proto), sock=socks[port]
                )
            else:
                addr = (self.local_ip, port)
                tr, _ = await loop.create_datagram_endpoint(
                    functools.partial(_same, proto), local_addr=addr
                )
            self._transports[port] = tr
        self._timer = asyncio.create_task(self._timers())

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for tr in self._transports.values():
            tr.close()

    async def rebind(self, local_ip: str, socks: dict[int, socket.socket] | None = None) -> None:
        """Mobility: serve ports 500/4500 on a new address (new sockets, then the old go)."""
        loop = asyncio.get_running_loop()
        fresh: dict[int, asyncio.DatagramTransport] = {}
        try:
            for port in (500, NAT_T_PORT):
                proto = functools.partial(_same, _Proto(self, port))
                if socks:
                    tr, _ = await loop.create_datagram_endpoint(proto, sock=socks[port])
                else:
                    tr, _ = await loop.create_datagram_endpoint(proto, local_addr=(local_ip, port))
                fresh[port] = tr
        except OSError:
            for tr in fresh.values():
                tr.close()
            raise
        old, self._transports = self._transports, fresh
        self.local_ip = local_ip
        for tr in old.values():
            tr.close()

    def initiate(self, name: str, remote_ip: str, child: str | None = None) -> IkeSa:
        sa = self.daemon.initiate(name, (self.local_ip, 500), (remote_ip, 500), self.now, child)
        self._flush()
        return sa

    def poke(self) -> None:
        """Something changed the daemon outside receive/tick (an app call): flush and rearm."""
        self._rescan = True
        self._flush()

    def send_esp(self, data: bytes, dst: Addr) -> None:
        self._transports[NAT_T_PORT].sendto(data, dst)

    def _datagram(self, data: bytes, src: Addr, port: int) -> None:
        if port == NAT_T_PORT:
            if data == b"\xff":
                return  # NAT keepalive (RFC 3948 2.3)
            if data[:4] != NON_ESP_MARKER:
                if self.esp_sink is not None and len(data) >= 8:
                    self.esp_sink(data, src)
                return
            data = data[4:]
        try:
            self.daemon.receive(data, src, (self.local_ip, port), self.now)
        except Exception as exc:  # a bug must not take the daemon down with it
            self.daemon.log(f"IKE: internal error on a datagram from {src[0]}: {exc!r}")
        self._flush()

    def _flush(self) -> None:
        # listeners may call back into the daemon (e.g. delete a duplicate SA): go on
        # until it has nothing more to send or tell
        for _ in range(100):
            out, events = self.daemon.drain()
            if not out and not events:
                break
            for dg in out:
                port = dg.src[1] if dg.src[1] in self._transports else 500
                marker = port == NAT_T_PORT and not dg.keepalive
                payload = NON_ESP_MARKER + dg.data if marker else dg.data
                self._transports[port].sendto(payload, dg.dst)
            for item in events:
                self.events.put_nowait(item)
                for cb in self.listeners:
                    cb(*item)
        self._wake.set()

    def _next_due(self, armed: float | None) -> float | None:
        """The deadline to arm: a scan of every SA only when needed, else what changed."""
        touched = self.daemon.touched_deadline()
        if self._rescan:
            self._rescan = False
            return self.daemon.next_deadline()
        if armed is None or touched is None:
            return touched if armed is None else armed
        return min(armed, touched)

    async def _timers(self) -> None:
        due: float | None = None
        while True:
            due = self._next_due(due)
            delay = 3600.0 if due is None else max(0.0, due - self.now)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=min(delay, 3600.0))
            except TimeoutError:
                try:
                    self.daemon.tick(self.now)
                except Exception as exc:  # keep the timers running whatever happened
                    self.daemon.log(f"IKE: internal error in timers: {exc!r}")
                self._rescan = True
                self._flush()
            else:
                await asyncio.sleep(TIMER_SLACK)
