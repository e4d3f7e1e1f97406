"""The C-PE / RR daemon: one asyncio process composing switch, hostif, BGP and IPsec.

Start-up order (each step needs the one before):

1. namespace: ``lo`` up with the black and red loopbacks (the BGP and IKE
   sockets bind to them);
2. the crypto-port veth and the ESP engine process (adopted with its SAs if a
   previous daemon left it running, ``enginelink.py``); p4sim or BMv2 as a child
   (or a P4Runtime target by address); arbitration as primary; pipeline pushed unless the
   switch already runs ours (cookie), then the first reconciliation;
3. hostif: a TAP per black port (the kernel carries ARP/ND, IKE, BGP), the
   userspace responder on red ports; packet-in/out bridged;
4. IKE (control SAs to the red RRs first), BGP (red sessions wait for their
   control SA), then the event loops.

Every change ends in ``Composer.dirty``; the writer task turns the desired
state into the minimal P4Runtime writes, diffing against what it last wrote
(after a start or a switch restart: against what it reads from the switch).

This module only composes and runs the parts; each has its own file:
``controlplane.py`` (BGP and IPsec, and the events between them),
``switchsync.py`` (the write loop), ``hostsync.py`` (neighbours and routes
learned from the hosts and the kernel), ``mobility.py`` (our own black
loopback moves), ``status.py`` (records for the control API).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, cast

from controller.api.metrics_http import MetricsHttpServer
from controller.api.server import ControlServer
from controller.api.source import StatusSource
from controller.app import gcpolicy
from controller.app import switch as sw
from controller.app.controlplane import ControlPlane, ControlPlaneError
from controller.app.desired import DesiredState
from controller.app.discovery import Discovered
from controller.app.enginelink import EngineLink
from controller.app.hostports import HostPorts, port_mac
from controller.app.hostsync import HostSync
from controller.app.mobility import Mobility
from controller.app.status import DaemonStatus
from controller.app.switchlink import SwitchLink
from controller.app.switchsync import SwitchSync
from controller.config import Config
from controller.ipsec.esp.client import EngineUnavailable
from controller.p4rt import P4RuntimeClient

log = logging.getLogger("sl3vpn.daemon")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class DaemonError(RuntimeError):
    """The daemon cannot start (one line: what and why)."""


def control_peers_of(cfg: Config, peer_black: dict[IPAddress, IPAddress]) -> dict[str, IPAddress]:
    """Black address -> red address of every red BGP neighbour (their control SAs)."""
    red_nbrs = {n.address for n in cfg.bgp.neighbors if n.type == "red"}
    missing = sorted(str(a) for a in red_nbrs - set(peer_black))
    if missing:
        raise DaemonError(
            f"{cfg.source}: bgp.neighbors: no black address known for red neighbour(s) "
            f"{', '.join(missing)} (give --peer-black RED=BLACK)"
        )
    crypto = cfg.switch.by_role("crypto")
    if cfg.switch.launched is not None and crypto and crypto[0].interface:
        raise DaemonError(
            f"{cfg.source}: switch.ports (crypto): with {cfg.switch.kind} the daemon makes "
            "the crypto link itself; leave out `interface`"
        )
    return {str(peer_black[a]): a for a in red_nbrs}


class Daemon:
    def __init__(
        self,
        cfg: Config,
        base: Path,
        peer_black: dict[IPAddress, IPAddress],
        *,
        black_gateway: IPAddress | None = None,
        keep_switch: bool = False,
        run_dir: Path = Path("/tmp"),
        tune_gc: bool = False,
    ) -> None:
        self.cfg, self.base = cfg, base
        self.keep_switch = keep_switch
        self.tune_gc = tune_gc  # the process is ours alone: gcpolicy's settings once up
        self.run_dir = run_dir
        self.black_gateway = black_gateway
        macs = {p.port: port_mac(cfg.node.name, p.port) for p in cfg.switch.ports}
        self.state = DesiredState(cfg, macs)
        self.control_peers = control_peers_of(cfg, peer_black)
        self.started = 0.0
        self.sync = SwitchSync(self.state, lambda: self.link.client, self._converged)
        self.plane = ControlPlane(
            cfg, self.state, self.control_peers, self.sync.wake, self.sync.room
        )
        self.engine_link: EngineLink | None = None
        self.link = SwitchLink(cfg, base, run_dir, self.sync.forget, self._spawn)
        self.host = HostPorts(cfg, macs, self.link.send_out, self.plane.needs_route)
        self.hosts = HostSync(
            self.state, self.host, self.control_peers, lambda: self.link.client, self.sync.wake
        )
        self.mobility = Mobility(cfg, self.state, self.host, self.plane)
        self.status = DaemonStatus(cfg, self.state, self.plane, self.sync, self.link)
        self.api: ControlServer | None = None
        self.metrics: MetricsHttpServer | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.failed = False

    # -- life cycle ---------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        # SIGHUP: re-read the configuration; a new black loopback is taken (mobility.py)
        loop.add_signal_handler(signal.SIGHUP, lambda: self._spawn(self.mobility.reload()))
        try:
            await self.start()
            if self.tune_gc:
                gcpolicy.settle_after_start()
            await self._stop.wait()
            return 1 if self.failed else 0
        finally:
            await self.stop()

    async def start(self) -> None:
        cfg = self.cfg
        self.started = asyncio.get_running_loop().time()
        self.host.prepare_namespace()
        await self.link.prepare()
        await self._start_engine()
        await self.link.connect()
        await self.host.start(self.client_or_fail)
        if self.link.pipeline_kept:  # a switch left running: learn its tenant hosts again
            self._spawn(self.host.ask_known_hosts(self.client_or_fail(), self.hosts.known_hosts))
        self._spawn(self.hosts.packet_ins())
        self._spawn(self.sync.run())
        self._spawn(self.hosts.kernel_sync())
        if cfg.ike is not None and cfg.loopbacks.black is not None:
            await self._start_ipsec(str(cfg.loopbacks.black))
        await self.plane.start_bgp(restarted=self.link.pipeline_kept)
        self._spawn(self.plane.route_events())
        self._spawn(self.mobility.watch_control_peers())
        self._spawn(self._ticker())
        self._spawn(self._status_dumps())
        await self._start_api()
        log.info("%s %s up", cfg.node.role, cfg.node.name)

    async def _start_engine(self) -> None:
        """The ESP engine process behind the crypto port (none: the in-process one stays)."""
        cfg = self.cfg
        crypto = cfg.switch.by_role("crypto")
        interface = None
        if cfg.switch.launched is not None:
            sw.crypto_veth()
            interface = sw.CRYPTO_VETH[1]
        elif crypto and crypto[0].interface and cfg.switch.p4runtime is not None:
            # A remote switch (BMv2): the interface is our end of the link to its crypto port.
            interface = crypto[0].interface
        if interface is not None:
            self.engine_link = EngineLink(cfg.node.name, self.run_dir, interface)
            await self.engine_link.start()
            self.plane.engine = self.engine_link.client
            self._spawn(self.engine_link.watch(self._engine_replaced))

    async def _start_ipsec(self, black: str) -> None:
        try:
            ipsec = await self.plane.start_ipsec(black)
        except ControlPlaneError as exc:
            raise DaemonError(str(exc)) from None
        if self.engine_link is not None:
            self.engine_link.hand_over(ipsec)
        self.host.route_control_peers(self.control_peers, self.black_gateway)
        # a C-PE discovered by certificate: its red loopback is reached through its SA too
        self.plane.discovered_hooks.append(self._route_discovered)
        lost = self.engine_link is not None and self.engine_link.lost_sas
        self.plane.open_control_sas(lost_sas=lost)

    def _route_discovered(self, peer: Discovered, joined: bool) -> None:
        if joined:
            self.host.route_control_peers({peer.black: peer.red}, None)
        else:
            self.host.unroute_control_peer(peer.red)

    async def _start_api(self) -> None:
        # Records are partial (absent fields show as "-"): see controller/api/render.py.
        source = cast(StatusSource, self.status)
        self.api = ControlServer(source, self.cfg.control_socket_path)
        await self.api.start()
        if self.cfg.metrics.enabled:
            self.metrics = MetricsHttpServer(source, self.cfg.metrics.listen)
            await self.metrics.start()

    async def stop(self) -> None:
        for server in (self.api, self.metrics):
            if server is not None:
                await server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.plane.bgp is not None:
            # Keeping the switch means we will be back: no NOTIFICATION, so graceful
            # restart peers keep our routes meanwhile.
            await self.plane.bgp.stop(graceful=self.keep_switch)
        if self.plane.ipsec is not None:
            await self.plane.ipsec.stop()
        self.host.close()
        # The switch and the ESP engine stop side by side (each gets SIGTERM, then SIGKILL
        # after its grace time): one after the other, a slow switch exit under CPU load
        # delayed the engine's and the whole stop past what a supervisor waits for.
        closing = [self.link.close(self.keep_switch)]
        if self.engine_link is not None:  # --keep-switch keeps the whole data path
            closing.append(self.engine_link.close(self.keep_switch))
        await asyncio.gather(*closing)
        log.info("%s stopped", self.cfg.node.name)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        task.add_done_callback(self._task_done)
        self._tasks.append(task)

    def _task_done(self, task: asyncio.Future[None]) -> None:
        """A loop of ours died: say so in one line and stop (exit 1) rather than limp on."""
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        log.error("internal error, stopping: %s: %s", type(exc).__name__, exc)
        self.failed = True
        self._stop.set()

    def client_or_fail(self) -> P4RuntimeClient:
        if self.link.client is None:
            raise DaemonError("no switch connection")
        return self.link.client

    def _converged(self) -> bool:
        return self.plane.converged(self.started, self.link.pipeline_kept)

    # -- housekeeping -------------------------------------------------------------------------

    async def _status_dumps(self) -> None:
        path = self.run_dir / f"{self.cfg.node.name}-status.json"
        while True:
            await self.status.dump(path)
            await asyncio.sleep(1.0)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            with contextlib.suppress(EngineUnavailable):  # dead: EngineLink starts a new one
                self.plane.engine.tick()

    def _engine_replaced(self) -> None:
        """A new ESP engine took over from a dead one: refill it, rekey (sad_restart.py)."""
        if self.plane.ipsec is not None:
            self.plane.ipsec.engine_replaced()
