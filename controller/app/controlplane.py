"""The daemon's control plane: BGP and IPsec, and the events the app carries between them.

BGP knows no IKE and IKE knows no BGP (architecture, "who may import whom"):
a route event goes through the composer, which answers with actions (ensure,
withdraw or move a tunnel; a red session's transport became protected or not)
that this module hands to IPsec and BGP, and with a dirty desired state that
``wake`` has the switch writer write. IPsec's tunnel changes come back the
same way.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from controller.app import redsessions
from controller.app.compose import (
    Action,
    Composer,
    EnsureTunnel,
    MoveTunnel,
    SetProtected,
    WithdrawTunnel,
)
from controller.app.desired import DesiredState
from controller.app.discovery import Discovered, Discovery, discovery_credentials, neighbor_config
from controller.app.handles import local_sets, with_handles
from controller.app.ikeconf import credentials, make_ike_config
from controller.app.peerbind import endpoint_binding
from controller.bgp.aio import BgpSpeaker
from controller.config import Config
from controller.config.adapters import speaker_config
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.client import EngineClient
from controller.ipsec.esp.ports import LockedEngine
from controller.ipsec.ike.config import Credentials
from controller.ipsec.ike.runtime import IpsecRuntime
from controller.ipsec.sad import TunnelChange

log = logging.getLogger("sl3vpn.daemon")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

HOLD_MAX = 60.0  # seconds after start at most before stale entries are deleted
HOLD_QUIET = 3.0  # ... or once red sessions are up and routes stopped changing this long
# A rekey's outbound switch waits this long, so both switches have the new inbound
# entry written before either end sends under the new SA (see controller/ipsec/sad.py).
SWITCH_DELAY = 0.5


class ControlPlaneError(RuntimeError):
    """The control plane cannot start (one line: what and why)."""


class ControlPlane:
    def __init__(
        self,
        cfg: Config,
        state: DesiredState,
        control_peers: dict[str, IPAddress],
        wake: Callable[[], None],
        pace: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.cfg, self.state = cfg, state
        self.pace = pace  # BGP's reader waits here while the switch writer is behind
        self.control_peers = control_peers  # peer black address -> its red address (RRs)
        self.wake = wake  # the desired state changed: have it written
        self.composer = Composer(
            state,
            control_peers,
            cfg.loopbacks.red,
            per_tenant=cfg.ike.per_tenant_sas if cfg.ike else False,
        )
        # in-process until the engine process is up (no crypto port: it stays unused)
        self.engine: LockedEngine | EngineClient = LockedEngine(EspEngine())
        self.ipsec: IpsecRuntime | None = None
        self.bgp: BgpSpeaker | None = None
        self.last_event = 0.0  # loop time of the last BGP route event
        # Draft 3.2: C-PEs admitted by certificate (bgp.auto_discovery); the daemon hooks
        # in to route their red loopbacks into the black TAP (peer, True) and back out
        self.discovery: Discovery | None = None
        self.discovered_hooks: list[Callable[[Discovered, bool], None]] = []
        self._creds: Credentials | None = None

    # -- start-up ----------------------------------------------------------------------------

    async def start_ipsec(self, black: str) -> IpsecRuntime:
        cfg = self.cfg
        assert cfg.ike is not None
        try:
            creds = credentials(cfg, Path(cfg.source).resolve().parent)
        except (OSError, ValueError) as exc:
            raise ControlPlaneError(f"{cfg.source}: ike.auth.certificates: {exc}") from None
        self._creds = creds
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
            on_moved=self._peer_moved_by_ike,
            switch_delay=SWITCH_DELAY,
            log=logging.getLogger("sl3vpn.ike").info,
            local_sets=local_sets(cfg, self.state.vrf_ids),
        )
        certs = cfg.ike.auth.certificates
        if certs is not None and certs.peer_identities:
            # C-PEs met by name must hold the red loopbacks their tunnels are for
            routes = self.composer.last_event.values
            self.ipsec.daemon.on_authenticated = endpoint_binding(routes)
        await self.ipsec.start()
        return self.ipsec

    def open_control_sas(self, lost_sas: bool = False) -> None:
        """Accept IKE from every red neighbour's black address; initiate where it is ours
        to. Where it is not, the peer still holds the SAs of our previous life if we lost
        ours (``lost_sas``: killed or crashed) and would wait for nothing: we initiate at
        once then, else as soon as it shows it holds some (controller/ipsec/rejoin.py)."""
        assert self.ipsec is not None
        now = self.ipsec.service.now
        for peer_black in self.control_peers:
            self.ipsec.accept(peer_black)
            if self._initiates_to(peer_black):
                self.ipsec.tunnels.packet_needs_tunnel(peer_black, now=now)
            else:
                self.ipsec.tunnels.rejoin.watch(peer_black)
                if lost_sas:
                    self.ipsec.tunnels.rejoin.lost(peer_black, now)
        self.ipsec.service.poke()
        self._open_discovery()

    def _open_discovery(self) -> None:
        """Draft 3.2: admit C-PEs by certificate. The catch-all IKE config goes after the
        configured peers', so a configured peer's address still finds its own first."""
        cfg, ipsec = self.cfg, self.ipsec
        if cfg.bgp.auto_discovery is None or ipsec is None:
            return
        if self._creds is None:  # the config checks refuse this; one line all the same
            raise ControlPlaneError(f"{cfg.source}: bgp.auto_discovery: needs certificates")
        try:
            creds = discovery_credentials(cfg, Path(cfg.source).resolve().parent, self._creds)
        except (OSError, ValueError) as exc:
            raise ControlPlaneError(f"{cfg.source}: bgp.auto_discovery.ca: {exc}") from None
        self.discovery = Discovery(
            cfg, creds, self.control_peers, ipsec.tunnels.accept, self._joined, self._left,
            self._rebound,
        )  # fmt: skip
        template = make_ike_config(cfg, "0.0.0.0", {}, creds, local_black=str(self.state.black))
        ipsec.daemon.configs.append(self.discovery.catch_all(template))
        self.discovery.attach(ipsec.daemon, ipsec.service.listeners)

    def _joined(self, peer: Discovered) -> None:
        if self.bgp is not None:  # else start_bgp adds it
            self.bgp.add_neighbor(neighbor_config(self.cfg, peer))
        for hook in self.discovered_hooks:
            hook(peer, True)

    def _rebound(self, peer: Discovered) -> None:
        """A discovered C-PE moved (MOBIKE): its session stays, its endpoint binding follows."""
        if self.bgp is not None:
            self.bgp.rebind_neighbor(neighbor_config(self.cfg, peer))
        for hook in self.discovered_hooks:
            hook(peer, True)

    def _left(self, peer: Discovered) -> None:
        if self.bgp is not None:
            self.bgp.remove_neighbor(peer.red)
        self.state.control.pop(peer.red, None)  # its control SA's SPD entries
        for hook in self.discovered_hooks:
            hook(peer, False)
        self.wake()

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

    async def start_bgp(self, restarted: bool) -> BgpSpeaker:
        """``restarted``: the switch still ran our pipeline, so BGP graceful restart
        (R and F bits, deferral until the peers' End-of-RIB)."""
        cfg = self.cfg
        self.bgp = BgpSpeaker(
            with_handles(speaker_config(cfg), cfg, local_sets(cfg, self.state.vrf_ids)),
            listen_port=cfg.bgp.listen_port,
            restarted=restarted,
            pace=self.pace,
        )
        self.sync_red_sessions()  # transport mode: sessions between black addresses
        await self.bgp.start()
        for peer in self.discovery.peers.values() if self.discovery is not None else ():
            self.bgp.add_neighbor(neighbor_config(cfg, peer))  # came before BGP started
        for red in self.state.control:  # control SAs inherited from our previous life
            self.bgp.set_transport_protected(red, True)
        for vrf in cfg.vrfs:
            for route in vrf.routes:
                self.bgp.add_vrf_route(vrf.name, route.prefix)
        return self.bgp

    # -- events ------------------------------------------------------------------------------

    async def route_events(self) -> None:
        assert self.bgp is not None
        while True:
            ev = await self.bgp.events.get()
            self.last_event = asyncio.get_running_loop().time()
            self.apply(self.composer.route_event(ev))

    def _on_tunnel_change(self, change: TunnelChange) -> None:
        self.apply(self.composer.tunnel_change(change))

    def _peer_moved_by_ike(self, old: str, new: str) -> None:
        """IKE (MOBIKE) says a peer moved: re-key the composer's per-peer state first."""
        self.composer.peer_moved(old, new)
        self.sync_red_sessions()
        self.wake()

    def sync_red_sessions(self, black: IPAddress | None = None) -> None:
        """Transport mode: each red session runs where its control SA ends, from our
        black loopback (``black``: the one we are moving to); see redsessions.py."""
        redsessions.sync(
            self.bgp,
            self.control_peers,
            self.state.control,
            black or self.state.black,
            self.state.control_transport,
        )

    def needs_route(self, port: int, dst: IPAddress) -> None:
        """Lazy SA setup: the first packet to a remote prefix without its SA."""
        red = next((p for p in self.cfg.switch.by_role("red") if p.port == port), None)
        route = self.state.lookup(red.vrf, dst) if red is not None and red.vrf else None
        if route is None or route.local or route.endpoint is None or self.ipsec is None:
            return
        self.composer.counters["lazy_triggers"] += 1
        self.ipsec.packet_needs_tunnel(str(route.endpoint), route.tenant)

    def apply(self, actions: list[Action]) -> None:
        for act in actions:
            if isinstance(act, EnsureTunnel) and self.ipsec is not None:
                self.ipsec.ensure_tunnel(act.peer, act.security_handle, act.tenant)
            elif isinstance(act, WithdrawTunnel) and self.ipsec is not None:
                self.ipsec.withdraw(act.peer, act.tenant)
            elif isinstance(act, MoveTunnel) and self.ipsec is not None:
                self.ipsec.peer_moved(act.old, act.new)
                self.sync_red_sessions()
            elif isinstance(act, SetProtected) and self.bgp is not None:
                self.sync_red_sessions()  # before BGP connects: to where the SA ends
                log.info(
                    "red session to %s: transport %s",
                    act.neighbour,
                    "protected" if act.protected else "NOT protected",
                )
                self.bgp.set_transport_protected(act.neighbour, act.protected)
        if self.composer.dirty:
            self.composer.dirty = False
            self.wake()

    def converged(self, started: float, pipeline_kept: bool) -> bool:
        """Red sessions up (or none configured) and no route news for a while; after a
        restart that kept the switch, also every peer's End-of-RIB (RFC 4724)."""
        loop = asyncio.get_running_loop()
        if loop.time() - started > HOLD_MAX:
            return True
        if self.bgp is None:
            return False
        red = [s for s in self.bgp.core.sessions.values() if s.neighbor.color.value == "red"]
        up = all(str(s.state) == "Established" for s in red)
        quiet = loop.time() - self.last_event > HOLD_QUIET
        rib = self.bgp.initial_rib_complete or not pipeline_kept
        return up and quiet and rib
