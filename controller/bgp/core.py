"""The speaker core, sans I/O: sessions, RIBs, VRFs, policy and resolution together.

``SpeakerCore`` owns one ``Session`` per neighbour, a red and a black Loc-RIB
(red and black routes never compete or mix, draft 3.4), the Adj-RIB-Out of
every neighbour (``adjribout.py``), the VRFs and the resolver. The adapter
feeds it transport events and time, and drains transport operations; the
application drains ``RouteEvent``s (what each VRF prefix resolves to, or why
it must not be used).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence

from controller.bgp import session as s
from controller.bgp.adjribout import AdjRibOut, Sent
from controller.bgp.claims import LoopbackClaims
from controller.bgp.config import ConfigError, NeighborConfig, SpeakerConfig
from controller.bgp.graceful import GracefulRestart
from controller.bgp.inbound import Importer
from controller.bgp.originate import black_loopback_changes, red_loopback_paths
from controller.bgp.path import (
    IPV4_UNICAST,
    IPV6_UNICAST,
    Attrs,
    Color,
    Family,
    IPAddress,
    IPNetwork,
    Nlri,
    Path,
    Source,
    Tunnel,
)
from controller.bgp.propagate import Propagator
from controller.bgp.refusals import Refusals
from controller.bgp.resolve import Resolution, Resolver
from controller.bgp.rib import Change, Rib
from controller.bgp.sessionevents import SessionEvents
from controller.bgp.spoofwatch import SpoofWatch
from controller.bgp.vpnview import RouteEvent, VpnView
from controller.bgp.vrf import LabelAllocator
from controller.bgp.vrfroutes import VrfRoutes, build_vrfs
from controller.bgp.wire.route_refresh import RouteRefreshMessage

log = logging.getLogger(__name__)


class SpeakerCore:
    def __init__(self, cfg: SpeakerConfig, restarted: bool = False) -> None:
        """``restarted``: we restarted with the forwarding state preserved (RFC 4724 4.1)."""
        self.cfg = cfg
        self.gr = GracefulRestart(cfg.graceful_restart, restarted)
        self.sessions: dict[IPAddress, s.Session] = {}
        self.counters: Counter[str] = Counter()
        self.red = Rib(self._red_cost)
        self.black = Rib()
        self.resolver = Resolver(self.red, self.black, cfg.mpls_in_ipsec_tunnel_type)
        self.refusals = Refusals(self.red)
        self.claims = LoopbackClaims(cfg, self.red, self.refusals, self._neighbor_config)
        self.vpn = VpnView(self.resolver, self.counters, bool(cfg.vrfs), self.refusals)
        self.spoof_watch = SpoofWatch(self.black)
        for lo in cfg.red_loopbacks:
            self.spoof_watch.add_red(lo.address)
        self.labels = LabelAllocator(*cfg.label_range)
        self.vrfs = build_vrfs(cfg, self.labels)
        self.black_loopback = cfg.black_loopback
        self.out = AdjRibOut(cfg, self.sessions, self.red, self.black)
        self._ops: list[tuple[IPAddress, s.TransportOp]] = []
        self.propagator = Propagator(
            cfg,
            self.sessions,
            self.red,
            self.black,
            self.out,
            self.vrfs,
            self.vpn,
            self.spoof_watch,
        )
        self.importer = Importer(
            cfg, self.spoof_watch, self.counters, self.propagator.known_red_loopbacks
        )
        self.events = SessionEvents(
            self.sessions,
            self.gr,
            self.out,
            self.spoof_watch,
            self.importer,
            (self.red, self.black),
            self.propagator.apply,
        )
        self.now = 0.0
        for n in cfg.neighbors:
            self.add_neighbor(n)
        self._originate_red_loopbacks()
        self._originate_black_loopback(None)
        clients = lambda: any(x.neighbor.rr_client for x in self.sessions.values())  # noqa: E731
        self.vrf_ops = VrfRoutes(cfg, self.vrfs, self.red, self.vpn, self.propagator, clients)
        self._apply(self.red, self.vrf_ops.originate_memberships())

    def _red_cost(self, p: Path) -> int | None:
        """Red RIB candidates: red loopback claims (draft 3.1), then VPN resolution (2, 4)."""
        if not self.claims.usable(p):
            return None
        return self.vpn.next_hop_cost(p)

    def _neighbor_config(self, peer: IPAddress) -> NeighborConfig | None:
        sess = self.sessions.get(peer)
        return None if sess is None else sess.neighbor

    # ---- configuration --------------------------------------------------------

    def add_neighbor(self, n: NeighborConfig, now: float | None = None) -> None:
        """Configure a neighbour; with ``now`` (at run time, e.g. a C-PE discovered by its
        certificate, draft 3.2) its session starts at once."""
        if n.address in self.sessions:
            raise ConfigError(f"neighbor {n.address}: configured twice")
        self.sessions[n.address] = s.Session(n, self.cfg)
        if self.gr.deferring:
            self.sessions[n.address].set_restart_flags(True, self.gr.preserved)
        self.out.add_peer(n.address)
        if now is not None:
            self.now = now
            if n.rr_client:  # a discovered client: it must be asked for all its VPN routes
                self._apply(self.red, self.vrf_ops.originate_memberships())
            self.sessions[n.address].start(now)
            self._pump()

    def rebind_neighbor(self, n: NeighborConfig, now: float) -> None:
        """New bindings (``originates``/``endpoints``) for a neighbour whose session stays
        (a discovered C-PE that moved, draft 3.2): its routes are judged again."""
        self.now = now
        sess = self.sessions.get(n.address)
        if sess is None:
            return
        sess.neighbor = n
        rib = self._rib(n.color)
        self._apply(rib, rib.reselect({p.nlri for p in rib.adj_in(n.address)}))
        self._pump()

    def remove_neighbor(self, peer: IPAddress, now: float) -> None:
        """Forget a neighbour for good (a discovered C-PE whose IPsec SA went away): its
        session is closed with a Cease, its routes withdrawn (stale ones too), its state
        dropped. Late transport events for it are ignored."""
        self.now = now
        sess = self.sessions.get(peer)
        if sess is None:
            return
        sess.stop(now)
        self._pump()
        rib = self._rib(sess.neighbor.color)
        self._apply(rib, rib.withdraw_peer(peer))
        self.spoof_watch.peer_down(peer)
        del self.sessions[peer]
        self.out.remove_peer(peer)
        self.gr.peers.pop(peer, None)
        self._pump()

    def start(self, now: float) -> None:
        self.now = now
        self.gr.start(now)
        for sess in self.sessions.values():
            sess.start(now)
        self._pump()

    def stop(self, now: float) -> None:
        self.now = now
        for sess in self.sessions.values():
            sess.stop(now)
        self._pump()

    def set_transport_protected(self, peer: IPAddress, protected: bool, now: float) -> None:
        """The IPsec layer's word on a red session's transport (draft 3.2); about a
        neighbour removed meanwhile (a discovered C-PE that left) it has nothing to say."""
        self.now = now
        sess = self.sessions.get(peer) or self._dynamic(peer)
        if sess is None:
            log.info("neighbor %s: transport news for a neighbour that is gone, ignored", peer)
            return
        sess.set_protected(protected, now)
        self._pump()

    def transport_moved(self, peer: IPAddress, now: float) -> None:
        """The session's TCP endpoints changed (the adapter drops the connection): our
        next OPEN to it says the forwarding state is preserved (RFC 4724 F bit), so the
        peer keeps our routes until our End-of-RIB instead of dropping them on the OPEN."""
        self.now = now
        self._session(peer).set_restart_flags(False, True)

    def set_black_loopback(self, address: IPAddress, now: float) -> None:
        """Mobility (draft 3.2): re-advertise the red loopback routes with the new endpoint."""
        self.now = now
        log.info("black loopback changed %s -> %s", self.black_loopback, address)
        old, self.black_loopback = self.black_loopback, address
        self._originate_red_loopbacks()
        self._originate_black_loopback(old)
        self._pump()

    def add_vrf_route(self, vrf: str, prefix: IPNetwork, now: float) -> int:
        """Add a tenant's local route: exported as VPN-IP on red sessions; returns its label."""
        self.now = now
        label, changes = self.vrf_ops.add(vrf, prefix)
        self._apply(self.red, changes)
        self.vrf_ops.refresh(vrf, prefix)
        self._pump()
        return label

    def set_vrf_import_rts(self, vrf: str, rts: Sequence[str], now: float) -> None:
        """Change what a VRF imports: its view is recomputed and our RT memberships
        (RFC 4684) follow, new ones announced, dropped ones withdrawn."""
        self.now = now
        self._apply(self.red, self.vrf_ops.set_import_rts(vrf, rts))
        self._pump()

    def remove_vrf_route(self, vrf: str, prefix: IPNetwork, now: float) -> None:
        self.now = now
        changes = self.vrf_ops.remove(vrf, prefix)
        if changes:
            self._apply(self.red, changes)
            self.vrf_ops.refresh(vrf, prefix)
        self._pump()

    def announce(
        self,
        prefix: IPNetwork,
        next_hop: IPAddress,
        color: Color,
        now: float,
        tunnels: tuple[Tunnel, ...] = (),
    ) -> None:
        """Originate a plain IP route on the red or black side (e.g. the black loopback)."""
        self.now = now
        fam = IPV4_UNICAST if prefix.version == 4 else IPV6_UNICAST
        attrs = Attrs(next_hop=next_hop, local_pref=100, tunnels=tunnels)
        rib = self._rib(color)
        self._apply(rib, [rib.update(Path(Nlri(fam, prefix), attrs, Source(color)))])
        self._pump()

    def withdraw(self, prefix: IPNetwork, color: Color, now: float) -> None:
        self.now = now
        fam = IPV4_UNICAST if prefix.version == 4 else IPV6_UNICAST
        rib = self._rib(color)
        self._apply(rib, [rib.withdraw(Nlri(fam, prefix), None)])
        self._pump()

    def request_refresh(self, peer: IPAddress, family: Family, now: float) -> bool:
        """Ask a peer to resend its routes of ``family`` (RFC 2918); False if not possible."""
        self.now = now
        sess = self._session(peer)
        neg = sess.negotiated
        if neg is None or not neg.route_refresh or family not in neg.families:
            return False
        sess.send(RouteRefreshMessage(family.afi, family.safi))
        self._pump()
        return True

    def _dynamic(self, peer: IPAddress) -> s.Session | None:
        """A session for ``peer`` from a dynamic-neighbour range, created on first contact."""
        if not self.cfg.dynamic_neighbors:
            return None
        n = self.cfg.neighbor(peer)
        if n is None:
            return None
        self.add_neighbor(n)
        log.info("neighbor %s: dynamic (%s)", peer, n.description)
        sess = self.sessions[peer]
        sess.start(self.now)
        return sess

    def _session(self, peer: IPAddress) -> s.Session:
        sess = self.sessions.get(peer) or self._dynamic(peer)
        if sess is None:
            raise ConfigError(f"neighbor {peer}: not configured")
        return sess

    def _originate_red_loopbacks(self) -> None:
        """Draft 3.3: host route of each red loopback, next hop and tunnel endpoint = black."""
        paths = red_loopback_paths(self.cfg, self.black_loopback)
        self._apply(self.red, [self.red.update(p) for p in paths])

    def _originate_black_loopback(self, old: IPAddress | None) -> None:
        changes = black_loopback_changes(self.cfg, self.black, self.black_loopback, old)
        self._apply(self.black, changes)

    # ---- transport events -------------------------------------------------------

    def connection_made(
        self,
        peer: IPAddress,
        conn: int,
        outbound: bool,
        now: float,
        local_address: IPAddress | None = None,
    ) -> None:
        self.now = now
        sess = self.sessions.get(peer) or self._dynamic(peer)
        if sess is None:
            log.warning("connection from %s refused: not a configured neighbor", peer)
            self.counters["refused-unknown-peer"] += 1
            self._ops.append((peer, s.Close(conn)))
            return
        sess.on_connection_made(conn, outbound, now, local_address)
        self._pump()

    def connection_failed(self, peer: IPAddress, now: float) -> None:
        self.now = now
        sess = self.sessions.get(peer)
        if sess is not None:  # else removed meanwhile (remove_neighbor)
            sess.on_connection_failed(now)
            self._pump()

    def connection_lost(self, peer: IPAddress, conn: int, now: float) -> None:
        self.now = now
        sess = self.sessions.get(peer)
        if sess is not None:
            sess.on_connection_lost(conn, now)
            self._pump()

    def data_received(self, peer: IPAddress, conn: int, data: bytes, now: float) -> None:
        self.now = now
        sess = self.sessions.get(peer)
        if sess is None:  # removed while its connection was open: close it
            self._ops.append((peer, s.Close(conn)))
            return
        sess.on_data(conn, data, now)
        self._pump()

    def poll(self, now: float) -> None:
        self.now = now
        for sess in self.sessions.values():
            sess.poll(now)
        for peer in self.gr.expired(now):
            self.events.purge_stale(peer, None)
        self._pump()

    def next_deadline(self) -> float | None:
        times = [t for t in (x.next_deadline() for x in self.sessions.values()) if t is not None]
        gr = self.gr.next_deadline()
        if gr is not None:
            times.append(gr)
        return min(times) if times else None

    @property
    def initial_rib_complete(self) -> bool:
        """Every peer sent its End-of-RIB after our start, or the deferral timer ran out."""
        return self.gr.initial_rib_complete

    @property
    def rejects(self) -> Counter[tuple[IPAddress, str]]:
        """Routes rejected on import, per (neighbour, reason)."""
        return self.importer.rejects

    @property
    def adj_out(self) -> dict[IPAddress, Sent]:
        """Per neighbour, the attributes and labels we advertised for each NLRI."""
        return self.out.sent

    def transport_ops(self) -> list[tuple[IPAddress, s.TransportOp]]:
        out, self._ops = self._ops, []
        return out

    def route_events(self) -> list[RouteEvent]:
        if self.gr.deferring:
            return []  # RFC 4724 4.1: the decision's outcome waits for the End-of-RIBs
        return self.vpn.take_events()

    # ---- the loop -----------------------------------------------------------------

    def _pump(self) -> None:
        self._ops += self.events.pump(self.now)

    def _rib(self, color: Color) -> Rib:
        return self.events.rib(color)

    def _apply(self, rib: Rib, changes: Sequence[Change | None]) -> None:
        self.propagator.apply(rib, changes)

    def resolve(self, path: Path) -> Resolution:
        return self.vpn.resolve(path)

    @property
    def spoofs(self) -> dict[Nlri, Resolution]:
        return self.vpn.spoofs

    def vrf_routes(self, vrf: str) -> list[RouteEvent]:
        return self.vpn.routes(vrf)
