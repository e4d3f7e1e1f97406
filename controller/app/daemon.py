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
from controller.app import switch as sw
from controller.app.compose import (
    Action,
    Composer,
    EnsureTunnel,
    MoveTunnel,
    SetProtected,
    WithdrawTunnel,
)
from controller.app.desired import TABLE_ORDER, BlackRoute, DesiredState, Neighbour
from controller.app.enginelink import EngineLink
from controller.app.handles import local_sets, with_handles
from controller.app.hostports import HostPorts, port_mac
from controller.app.ikeconf import credentials, make_ike_config
from controller.app.mobility import Mobility
from controller.app.redhosts import RedHosts
from controller.app.status import DaemonStatus
from controller.app.switchlink import SwitchLink
from controller.app.writer import SwitchWriter
from controller.bgp.aio import BgpSpeaker
from controller.config import Config
from controller.config.adapters import speaker_config
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.client import EngineClient, EngineUnavailable
from controller.ipsec.esp.ports import LockedEngine
from controller.ipsec.ike.runtime import IpsecRuntime
from controller.ipsec.sad import TunnelChange
from controller.p4rt import P4RuntimeClient
from controller.p4rt.errors import P4RuntimeClientError

log = logging.getLogger("sl3vpn.daemon")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


HOLD_MAX = 60.0  # seconds after start at most before stale entries are deleted
HOLD_QUIET = 3.0  # ... or once red sessions are up and routes stopped changing this long
# A rekey's outbound switch waits this long, so both switches have the new inbound
# entry written before either end sends under the new SA (see controller/ipsec/sad.py).
SWITCH_DELAY = 0.5


class DaemonError(RuntimeError):
    """The daemon cannot start (one line: what and why)."""


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
    ) -> None:
        self.cfg, self.base = cfg, base
        self.keep_switch = keep_switch
        self.run_dir = run_dir
        macs = {p.port: port_mac(cfg.node.name, p.port) for p in cfg.switch.ports}
        self.state = DesiredState(cfg, macs)
        red_nbrs = {n.address for n in cfg.bgp.neighbors if n.type == "red"}
        missing = sorted(str(a) for a in red_nbrs - set(peer_black))
        if missing:
            raise DaemonError(
                f"{cfg.source}: bgp.neighbors: no black address known for red neighbour(s) "
                f"{', '.join(missing)} (give --peer-black RED=BLACK)"
            )
        self.control_peers = {str(peer_black[a]): a for a in red_nbrs}
        crypto = cfg.switch.by_role("crypto")
        if cfg.switch.launched is not None and crypto and crypto[0].interface:
            raise DaemonError(
                f"{cfg.source}: switch.ports (crypto): with {cfg.switch.kind} the daemon makes "
                "the crypto link itself; leave out `interface`"
            )
        self.composer = Composer(
            self.state,
            self.control_peers,
            cfg.loopbacks.red,
            per_tenant=cfg.ike.per_tenant_sas if cfg.ike else False,
        )
        self.black_gateway = black_gateway
        # in-process until the engine process is up (no crypto port: it stays unused)
        self.engine: LockedEngine | EngineClient = LockedEngine(EspEngine())
        self.engine_link: EngineLink | None = None
        self.link = SwitchLink(cfg, base, run_dir, self._switch_fresh, self._spawn)
        self.host = HostPorts(cfg, macs, self.link.send_out, self._needs_route)
        self.status = DaemonStatus(self)
        self.api: ControlServer | None = None
        self.metrics: MetricsHttpServer | None = None
        # Until BGP has reconverged after a start, never delete what the switch holds:
        # a restarted daemon must not tear down forwarding that is still right.
        self.hold_deletes = True
        self._last_event = 0.0
        self.ipsec: IpsecRuntime | None = None
        self.bgp: BgpSpeaker | None = None
        self.writer = SwitchWriter(TABLE_ORDER)
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.write_errors = 0
        self.red_hosts = RedHosts(self.state.neighbours)
        self.failed = False
        self.mobility = Mobility(self)

    # -- life cycle ---------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        # SIGHUP: re-read the configuration; a new black loopback is taken (mobility.py)
        loop.add_signal_handler(signal.SIGHUP, lambda: self._spawn(self.mobility.reload()))
        try:
            await self.start()
            await self._stop.wait()
            return 1 if self.failed else 0
        finally:
            await self.stop()

    async def start(self) -> None:
        cfg = self.cfg
        self.started = asyncio.get_running_loop().time()
        self.host.prepare_namespace()
        await self.link.prepare()
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
            self.engine = self.engine_link.client
            self._spawn(self.engine_link.watch(self._engine_replaced))
        await self.link.connect()
        await self.host.start(self.client_or_fail)
        if self.link.pipeline_kept:  # a switch left running: learn its tenant hosts again
            known = lambda: {ip for _, ip in self.red_hosts.seen}  # noqa: E731
            self._spawn(self.host.ask_known_hosts(self.client_or_fail(), known))
        self._spawn(self._packet_ins())
        self._spawn(self._writer())
        self._spawn(self._kernel_sync())
        if cfg.ike is not None and cfg.loopbacks.black is not None:
            await self._start_ipsec(str(cfg.loopbacks.black))
        # A restart that found the switch still running our pipeline: BGP graceful
        # restart (R and F bits, deferral until the peers' End-of-RIB).
        self.bgp = BgpSpeaker(
            with_handles(speaker_config(cfg), cfg, local_sets(cfg, self.state.vrf_ids)),
            listen_port=cfg.bgp.listen_port,
            restarted=self.link.pipeline_kept,
        )
        await self.bgp.start()
        for red in self.state.control:  # control SAs inherited from our previous life
            self.bgp.set_transport_protected(red, True)
        for vrf in cfg.vrfs:
            for route in vrf.routes:
                self.bgp.add_vrf_route(vrf.name, route.prefix)
        self._spawn(self._route_events())
        self._spawn(self.mobility.watch_control_peers())
        self._spawn(self._ticker())
        self._spawn(self._status_dumps())
        await self._start_api()
        log.info("%s %s up", cfg.node.role, cfg.node.name)

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
        if self.bgp is not None:
            # Keeping the switch means we will be back: no NOTIFICATION, so graceful
            # restart peers keep our routes meanwhile.
            await self.bgp.stop(graceful=self.keep_switch)
        if self.ipsec is not None:
            await self.ipsec.stop()
        self.host.close()
        await self.link.close(self.keep_switch)
        if self.engine_link is not None:  # --keep-switch keeps the whole data path
            await self.engine_link.close(self.keep_switch)
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

    @property
    def client(self) -> P4RuntimeClient | None:
        return self.link.client

    @property
    def sim(self) -> sw.P4SimProcess | None:
        return self.link.sim

    @property
    def switch_restarts(self) -> int:
        return self.link.restarts

    def _switch_fresh(self) -> None:
        """The switch may hold anything now: read it before the next write."""
        self.writer.forget()
        self._wake.set()

    def wake(self) -> None:
        """The desired state changed outside an event loop of ours: write it."""
        self._wake.set()

    def client_or_fail(self) -> P4RuntimeClient:
        if self.client is None:
            raise DaemonError("no switch connection")
        return self.client

    # -- switch -------------------------------------------------------------------------------

    async def _packet_ins(self) -> None:
        while True:
            client = self.client
            if client is None:
                await asyncio.sleep(0.1)
                continue
            try:
                pkt = await client.packet_in(timeout=1.0)
            except TimeoutError:
                continue
            port = int(pkt.metadata.get("ingress_port", -1))
            reason = int(pkt.metadata.get("reason", 0))
            for ip, mac in self.host.packet_in(port, reason, pkt.payload):
                self._learn_red(port, ip, mac)

    def _learn_red(self, port: int, ip: IPAddress, mac: str) -> None:
        if self.red_hosts.learn(port, ip, mac, asyncio.get_running_loop().time()):
            self._wake.set()

    def _age_red(self) -> None:
        changed, probe = self.red_hosts.age(asyncio.get_running_loop().time())
        for ip in probe:
            self.host.solicit(ip)
        if changed:
            self._wake.set()

    async def _writer(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            except TimeoutError:
                if self.hold_deletes and self._converged():
                    self.hold_deletes = False
                    log.info("converged: stale switch entries may now be removed")
                elif not self.writer.check_due():
                    continue
            self._wake.clear()
            await asyncio.sleep(0.01)  # let a burst of events land in one write
            await self.write_state()

    async def write_state(self) -> dict[str, int]:
        client = self.client
        if client is None or client.codec is None:
            return {}
        try:
            counts = await self.writer.write(client, self.state, self.hold_deletes)
        except (P4RuntimeClientError, OverflowError) as exc:
            self.write_errors += 1
            log.error("switch write failed: %s", str(exc).splitlines()[0])
            return {}
        if any(counts.values()):
            log.info("switch: %s", ", ".join(f"{v} {k}" for k, v in counts.items() if v))
        return counts

    # -- kernel (black side) ------------------------------------------------------------------

    async def _kernel_sync(self) -> None:
        loop = asyncio.get_running_loop()
        red_addrs = set(self.control_peers.values())
        while True:
            neigh, routes = await loop.run_in_executor(None, self.host.read_kernel)
            black = {
                Neighbour(n.ip, n.mac, port)
                for n in neigh
                if (port := self.host.black_port_of(n.dev)) is not None and n.ip not in red_addrs
            }
            broutes = {
                BlackRoute(r.prefix, port, r.gateway)
                for r in routes
                if (port := self.host.black_port_of(r.dev)) is not None
                and r.prefix.network_address not in red_addrs
            }
            red_now = {n for n in self.state.neighbours if n.port not in self.host.black_ports}
            if black | red_now != self.state.neighbours or broutes != self.state.black_routes:
                # In place: the red-host table shares this set.
                self.state.neighbours.intersection_update(black | red_now)
                self.state.neighbours.update(black)
                self.state.black_routes = broutes
                self._wake.set()
            self._age_red()
            for _vrf, gateway, _prefix, nh in self.state.static_next_hops():
                if nh is None:
                    self.host.solicit(gateway)  # a tenant router we have not heard yet
            await asyncio.sleep(1.0)

    # -- IPsec and BGP ------------------------------------------------------------------------

    async def _start_ipsec(self, black: str) -> None:
        cfg = self.cfg
        assert cfg.ike is not None
        try:
            creds = credentials(cfg, Path(cfg.source).resolve().parent)
        except (OSError, ValueError) as exc:
            raise DaemonError(f"{cfg.source}: ike.auth.certificates: {exc}") from None
        self.ipsec = IpsecRuntime(
            self.engine,
            black,
            lambda peer: make_ike_config(
                cfg, peer, self.control_peers, creds, local_black=str(self.state.black)
            ),
            per_tenant=cfg.ike.per_tenant_sas,
            # behind NAT no peer can start our SAs: we set them all up at once
            lazy=cfg.ike.sa_mode == "lazy" and not cfg.ike.nat_traversal.behind_nat,
            on_change=self._on_tunnel_change,
            on_moved=self.mobility.peer_moved_by_ike,
            switch_delay=SWITCH_DELAY,
            log=logging.getLogger("sl3vpn.ike").info,
            local_sets=local_sets(cfg, self.state.vrf_ids),
        )
        await self.ipsec.start()
        if self.engine_link is not None:
            self.engine_link.hand_over(self.ipsec)
        self.host.route_control_peers(self.control_peers, self.black_gateway)
        for peer_black in self.control_peers:
            self.ipsec.accept(peer_black)
            if self._initiates_to(peer_black):
                self.ipsec.tunnels.packet_needs_tunnel(peer_black, now=self.ipsec.service.now)
                self.ipsec.service.poke()

    def _initiates_to(self, peer_black: str) -> bool:
        """C-PEs initiate to their RRs; an RR waits for its clients; between RRs the
        lower black address initiates (so one IKE SA per pair, not two racing)."""
        if self.cfg.node.role == "cpe":
            return True
        red = self.control_peers[peer_black]
        if any(n.address == red and n.route_reflector_client for n in self.cfg.bgp.neighbors):
            return False
        own = self.cfg.loopbacks.black
        return own is not None and own.packed < ipaddress.ip_address(peer_black).packed

    def _on_tunnel_change(self, change: TunnelChange) -> None:
        self._apply(self.composer.tunnel_change(change))

    async def _route_events(self) -> None:
        assert self.bgp is not None
        while True:
            ev = await self.bgp.events.get()
            self._last_event = asyncio.get_running_loop().time()
            self._apply(self.composer.route_event(ev))

    def _needs_route(self, port: int, dst: IPAddress) -> None:
        """Lazy SA setup: the first packet to a remote prefix without its SA."""
        red = next((p for p in self.cfg.switch.by_role("red") if p.port == port), None)
        route = self.state.lookup(red.vrf, dst) if red is not None and red.vrf else None
        if route is None or route.local or route.endpoint is None or self.ipsec is None:
            return
        self.composer.counters["lazy_triggers"] += 1
        self.ipsec.packet_needs_tunnel(str(route.endpoint), route.tenant)

    def _converged(self) -> bool:
        """Red sessions up (or none configured) and no route news for a while."""
        loop = asyncio.get_running_loop()
        if loop.time() - self.started > HOLD_MAX:
            return True
        if self.bgp is None:
            return False
        red = [s for s in self.bgp.core.sessions.values() if s.neighbor.color.value == "red"]
        up = all(str(s.state) == "Established" for s in red)
        quiet = loop.time() - self._last_event > HOLD_QUIET
        # After a restart that kept the switch, also every peer's End-of-RIB (RFC 4724).
        rib = self.bgp.initial_rib_complete or not self.link.pipeline_kept
        return up and quiet and rib

    def _apply(self, actions: list[Action]) -> None:
        for act in actions:
            if isinstance(act, EnsureTunnel) and self.ipsec is not None:
                self.ipsec.ensure_tunnel(act.peer, act.security_handle, act.tenant)
            elif isinstance(act, WithdrawTunnel) and self.ipsec is not None:
                self.ipsec.withdraw(act.peer, act.tenant)
            elif isinstance(act, MoveTunnel) and self.ipsec is not None:
                self.ipsec.peer_moved(act.old, act.new)
            elif isinstance(act, SetProtected) and self.bgp is not None:
                log.info(
                    "red session to %s: transport %s",
                    act.neighbour,
                    "protected" if act.protected else "NOT protected",
                )
                self.bgp.set_transport_protected(act.neighbour, act.protected)
        if self.composer.dirty:
            self.composer.dirty = False
            self._wake.set()

    async def _status_dumps(self) -> None:
        path = self.run_dir / f"{self.cfg.node.name}-status.json"
        while True:
            await self.status.dump(path)
            await asyncio.sleep(1.0)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            with contextlib.suppress(EngineUnavailable):  # dead: EngineLink starts a new one
                self.engine.tick()

    def _engine_replaced(self) -> None:
        """A new ESP engine took over from a dead one: refill it, rekey (sad_restart.py)."""
        if self.ipsec is not None:
            self.ipsec.engine_replaced()
