"""The asyncio adapter: TCP for the sans-I/O ``SpeakerCore``, and its clock.

``BgpSpeaker`` listens for BGP connections, opens the ones the core asks for,
feeds received bytes and timer expiries into the core, writes what the core
sends, and hands the application the core's ``RouteEvent``s through a queue.
Nothing protocol-related happens here.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from typing import Any

from controller.bgp import session as s
from controller.bgp.config import NeighborConfig, SpeakerConfig
from controller.bgp.core import RouteEvent, SpeakerCore
from controller.bgp.path import Color, IPAddress, IPNetwork, Tunnel

log = logging.getLogger(__name__)

# Octets asked of the socket per read. A read's UPDATEs are handled in one go with
# the loop held: 16 KiB is ~1,000 packed VPN-IPv4 routes (~40 ms here), so the
# application's other tasks (the switch writer) get a turn at least that often.
READ_SIZE = 16384


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while one read's UPDATEs are handled.

    A full table allocates a few objects per route, almost none in cycles; the
    collector, triggered every few hundred allocations, then walks the ever
    larger RIB again and again: a third of the CPU time of 100 k routes here.
    Collection resumes after each read, so cycles are still reclaimed.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class BgpSpeaker:
    """One BGP speaker process: configure, ``await start()``, then drive it from the app."""

    def __init__(
        self,
        cfg: SpeakerConfig,
        *,
        listen_host: str | None = None,
        listen_port: int | None = 179,
        clock: Callable[[], float] = time.monotonic,
        restarted: bool = False,
        pace: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        # restarted: we come back with the forwarding state preserved (RFC 4724 4.1).
        # pace: awaited after each read's route events are queued; the application
        # holds the next read there while it cannot keep up (back-pressure reaches
        # the peer through TCP). None: only a turn of the loop.
        self.pace = pace
        self.core = SpeakerCore(cfg, restarted)
        self.cfg = cfg
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.clock = clock
        self.events: asyncio.Queue[RouteEvent] = asyncio.Queue()
        self._server: asyncio.Server | None = None
        self._writers: dict[int, asyncio.StreamWriter] = {}
        self._conn_peer: dict[int, IPAddress] = {}
        # neighbour -> (address its session runs to, our address on it), where these are
        # not the neighbour's configured address and local_address (see set_transport)
        self._transport: dict[IPAddress, tuple[IPAddress, IPAddress | None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_conn = 1
        self._wake = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None
        self._running = False

    @property
    def port(self) -> int | None:
        """The port actually listened on (useful with ``listen_port=0``)."""
        if self._server is None or not self._server.sockets:
            return None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        if self.listen_port is not None:
            self._server = await asyncio.start_server(
                self._accept, self.listen_host, self.listen_port
            )
        self._running = True
        self._timer = asyncio.create_task(self._timer_loop())
        self.core.start(self.clock())
        self._drain()

    @property
    def initial_rib_complete(self) -> bool:
        """Every peer's End-of-RIB arrived since start (or the deferral timer ran out)."""
        return self.core.initial_rib_complete

    async def stop(self, graceful: bool = False) -> None:
        """Stop; ``graceful`` closes the sessions without a NOTIFICATION (we are restarting,
        so graceful restart peers keep our routes)."""
        self._running = False
        if not graceful:
            self.core.stop(self.clock())
            self._drain()
        await asyncio.sleep(0)
        if self._server is not None:
            self._server.close()
        if self._timer is not None:
            self._timer.cancel()
        for w in list(self._writers.values()):
            w.close()
        self._writers.clear()
        for t in list(self._tasks):
            t.cancel()
        pending = [*self._tasks, *([self._timer] if self._timer else [])]
        await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    # ---- what the app calls ----

    def add_neighbor(self, n: NeighborConfig) -> None:
        """A neighbour learnt at run time (a C-PE discovered by its certificate, draft 3.2)."""
        self.core.add_neighbor(n, self.clock())
        self._drain()

    def rebind_neighbor(self, n: NeighborConfig) -> None:
        self.core.rebind_neighbor(n, self.clock())
        self._drain()

    def remove_neighbor(self, peer: IPAddress) -> None:
        self.core.remove_neighbor(peer, self.clock())
        self._transport.pop(peer, None)  # its session address may be another's next
        self._drain()

    def set_transport_protected(self, peer: IPAddress, protected: bool) -> None:
        self.core.set_transport_protected(peer, protected, self.clock())
        self._drain()

    def set_transport(self, peer: IPAddress, remote: IPAddress, local: IPAddress | None) -> None:
        """Run the session to neighbour ``peer`` between ``local`` and ``remote``.

        The neighbour keeps its identity (configured address); only the TCP endpoints
        differ: a red session in IPsec transport mode runs between black loopbacks
        (draft 3.2). If they change (mobility, a NAT rebinding), the TCP connection
        cannot follow: it is dropped, without a NOTIFICATION, so that with graceful
        restart both ends keep each other's routes until the new session's End-of-RIB,
        and our next OPEN says our forwarding state is preserved (it is).
        """
        if self._transport.get(peer) == (remote, local):
            return
        old = self._transport.get(peer)
        self._transport[peer] = (remote, local)
        if old is None:
            return
        # Also when the connection is already gone (the other end saw the move first
        # and closed it): the next OPEN must say our forwarding state is preserved.
        self.core.transport_moved(peer, self.clock())
        conns = [c for c, p in self._conn_peer.items() if p == peer]
        if conns:
            log.info(
                "neighbor %s: session moves from %s to %s (local %s): reconnecting",
                peer, old[0], remote, local,
            )  # fmt: skip
        for conn in conns:
            w = self._writers.get(conn)
            if w is not None:
                w.close()  # its reader ends, and _run_conn reports the connection lost

    def transport_of(self, peer: IPAddress) -> IPAddress:
        """The address the session to neighbour ``peer`` runs to."""
        return self._transport.get(peer, (peer, None))[0]

    def add_vrf_route(self, vrf: str, prefix: IPNetwork) -> int:
        label = self.core.add_vrf_route(vrf, prefix, self.clock())
        self._drain()
        return label

    def set_vrf_import_rts(self, vrf: str, rts: Sequence[str]) -> None:
        self.core.set_vrf_import_rts(vrf, rts, self.clock())
        self._drain()

    def remove_vrf_route(self, vrf: str, prefix: IPNetwork) -> None:
        self.core.remove_vrf_route(vrf, prefix, self.clock())
        self._drain()

    def set_black_loopback(self, address: IPAddress) -> None:
        self.core.set_black_loopback(address, self.clock())
        self._drain()

    def announce(
        self, prefix: IPNetwork, next_hop: IPAddress, color: Color, tunnels: tuple[Tunnel, ...] = ()
    ) -> None:
        self.core.announce(prefix, next_hop, color, self.clock(), tunnels)
        self._drain()

    # ---- transport ----

    def _drain(self) -> None:
        for peer, op in self.core.transport_ops():
            if isinstance(op, s.Connect):
                self._spawn(self._connect(peer))
            elif isinstance(op, s.Write):
                w = self._writers.get(op.conn)
                if w is not None and not w.is_closing():
                    w.write(op.data)
            elif isinstance(op, s.Close):
                w = self._writers.pop(op.conn, None)
                if w is not None:
                    w.close()
        for ev in self.core.route_events():
            self.events.put_nowait(ev)
        self._wake.set()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, peer: IPAddress) -> None:
        n = self.core.sessions[peer].neighbor
        remote, source = self._transport.get(peer, (peer, n.local_address))
        local = (str(source), 0) if source is not None else None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(str(remote), n.port, local_addr=local), timeout=10
            )
        except (OSError, TimeoutError) as exc:
            log.info("neighbor %s: connect failed: %s", peer, exc)
            self.core.connection_failed(peer, self.clock())
            self._drain()
            return
        await self._run_conn(peer, reader, writer, outbound=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        host = writer.get_extra_info("peername")[0]
        peer = _address(host)
        known = [n for n, (remote, _) in self._transport.items() if remote == peer]
        if len(known) > 1:
            log.warning(
                "connection from %s refused: the session address of neighbours %s",
                peer, ", ".join(map(str, known)),
            )  # fmt: skip
            writer.close()
            return
        peer = known[0] if known else peer
        ours = self._transport.get(peer, (peer, None))[1]
        sock = writer.get_extra_info("sockname")
        if ours is not None and sock and _address(sock[0]) != ours:
            # e.g. to the address we just moved away from: the session runs from `ours`
            log.info("connection from %s to %s refused: its session is to %s", host, sock[0], ours)
            writer.close()
            return
        # The server's callback inspects this task's result: end quietly when stopped.
        with contextlib.suppress(asyncio.CancelledError):
            await self._run_conn(peer, reader, writer, outbound=False)

    async def _run_conn(
        self,
        peer: IPAddress,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        outbound: bool,
    ) -> None:
        conn = self._next_conn
        self._next_conn += 1
        self._writers[conn] = writer
        self._conn_peer[conn] = peer
        sock = writer.get_extra_info("sockname")
        local = _address(sock[0]) if sock else None
        self.core.connection_made(peer, conn, outbound, self.clock(), local)
        self._drain()
        try:
            while conn in self._writers:
                data = await reader.read(READ_SIZE)
                if not data:
                    break
                try:
                    with gc_paused():
                        self.core.data_received(peer, conn, data, self.clock())
                except Exception as exc:  # a bug must not take the speaker down with it
                    log.error("neighbor %s: internal error, connection dropped: %r", peer, exc)
                    break
                self._drain()
                # Buffered data returns from read() without a turn for anyone else.
                await (self.pace() if self.pace is not None else asyncio.sleep(0))
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.info("neighbor %s: connection error: %s", peer, exc)
        finally:
            self._conn_peer.pop(conn, None)
            if self._writers.pop(conn, None) is not None:
                writer.close()
                self.core.connection_lost(peer, conn, self.clock())
                self._drain()

    async def _timer_loop(self) -> None:
        # A flag, not only cancel(): wait_for() can swallow a cancellation that races
        # with the wake-up event (Python 3.11).
        while self._running:
            deadline = self.core.next_deadline()
            self._wake.clear()
            delay = None if deadline is None else max(0.0, deadline - self.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self.core.poll(self.clock())
            self._drain()


def _address(text: str) -> IPAddress:
    """A socket's address as we name it (no scope, IPv4-mapped as IPv4)."""
    addr = ipaddress.ip_address(text.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr
