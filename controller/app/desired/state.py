"""The switch state a C-PE or RR should hold, derived from what the daemon knows.

Inputs: the configuration (port roles, loopbacks, VRFs), what the kernel knows
about the black side (neighbours and routes on the black TAPs), what BGP says
each VRF prefix resolves to (``RouteEvent``), and which SA carries each tunnel
(the SA database's ``TunnelChange``). Output, two ways:

* ``keyed()`` / ``entries()``: the full rebuild, every entry rendered from the
  inputs (after a (re)connect, and as the writer's periodic check);
* ``changes()``: only the entries whose key changed since the last call. Route
  and SA changes mark the affected routes, labels and tunnels as they happen;
  the node's own parts (ports, black routing, red hosts, control SPD) are
  rendered again when their inputs differ. A route change then costs one
  entry, not a rebuild of 10,000.

Routes and SAs change only through ``set_route``/``remove_route``/``set_sa``
(they keep the indexes behind ``changes()``); ``neighbours``, ``black_routes``
and ``control`` may be changed in place; ``black`` (our black loopback) may be
assigned when the node moves. Ids for tunnels and next hops come
from :class:`IdPool`, so an entry that is still right keeps its key.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable, Iterable, Iterator
from typing import cast

from controller.app.desired import adopt, node, replies, vpn
from controller.app.desired.extranet import extranet
from controller.app.desired.model import (
    BGP_PORT,
    PROTO_TCP,
    BlackRoute,
    ControlPeer,
    IPAddress,
    IPNetwork,
    Neighbour,
    RouteKey,
    SaPair,
    TunnelKey,
    VpnRoute,
)
from controller.app.desired.store import EntryStore, Key, entry_key, first_wins
from controller.app.ids import IdPool
from controller.config import Config
from controller.p4rt import TableEntry

Signature = tuple[
    frozenset[Neighbour], frozenset[BlackRoute], frozenset[tuple[IPAddress, ControlPeer]]
]
Render = Callable[["DesiredState"], Iterable[TableEntry]]
# Sections in precedence order (an earlier one wins a key wanted twice), which is
# also the full rebuild's order. Static ones are rendered once; "inputs" ones again
# whenever neighbours, black routes or control SAs differ.
STATIC: tuple[tuple[str, Render], ...] = (
    ("ports", node.ports),
    ("my_black", node.my_black),
    ("black_acl", node.black_acl),
)
INPUTS: tuple[tuple[str, Render], ...] = (
    ("black_routing", node.black_routing),
    ("red_local", node.red_local),
    ("neighbour_replies", replies.neighbour_replies),
    ("extranet", extranet),
)
VPN = ("tunnels", "labels", "routes")
SPD: tuple[tuple[str, Render], ...] = (
    ("red_guard", node.red_guard_spd),
    ("control", node.control_spd),
)
SECTIONS = (*(n for n, _ in STATIC + INPUTS), *VPN, *(n for n, _ in SPD))


class DesiredState:
    """Everything the daemon wants in the switch, in full or as changes."""

    def __init__(self, cfg: Config, port_macs: dict[int, str]) -> None:
        self.cfg = cfg
        self.port_macs = port_macs
        self._black = cfg.loopbacks.black
        self.vrf_ids = IdPool("VRF")
        for vrf in cfg.vrfs:
            if vrf.table_id is not None:
                self.vrf_ids.reserve(vrf.name, vrf.table_id)
        for vrf in cfg.vrfs:
            self.vrf_ids.get(vrf.name)
        self.tunnel_ids = IdPool("tunnel")
        self.red_nh_ids = IdPool("red next hop")
        self.black_nh_ids = IdPool("black next hop")
        self.adopted_tunnels: dict[int, adopt.SwitchTunnel] = {}  # see adopt_ids
        self.neighbours: set[Neighbour] = set()
        self.black_routes: set[BlackRoute] = set()
        self.routes: dict[RouteKey, VpnRoute] = {}
        self.sas: dict[TunnelKey, SaPair] = {}  # (peer black addr, tenant)
        self.control: dict[IPAddress, ControlPeer] = {}
        # red BGP from our black loopback (ike.control_sa.mode transport, draft 3.2)
        self.control_transport = cfg.ike is not None and cfg.ike.control_sa.mode == "transport"
        # Lazy SA setup (draft section 4): a remote route without an SA sends its
        # first packets to the CPU, which asks IKE for the SA.
        self.lazy = cfg.ike is not None and cfg.ike.sa_mode == "lazy"
        # (source, IP protocol, L4 source port, L4 destination port) punted to us.
        self.black_acl_punts: list[tuple[IPAddress, int, int | None, int | None]] = []
        for n in cfg.bgp.neighbors:
            if n.type == "black":
                # An unprotected black BGP session to a provider (draft section 2):
                # TCP 179 either way, from that neighbour only.
                self.black_acl_punts += [
                    (n.address, PROTO_TCP, None, BGP_PORT),
                    (n.address, PROTO_TCP, BGP_PORT, None),
                ]
        # The incremental path (see rebuild_store).
        self._store = EntryStore(SECTIONS)
        self._users: dict[TunnelKey, set[RouteKey]] = {}  # routes waiting on each tunnel
        self._labels: dict[int, dict[int, int]] = {}  # our label -> VRF id -> routes
        self._route_keys: dict[RouteKey, Key] = {}  # the vrf_fib key each route has
        self._dirty_routes: set[RouteKey] = set()
        self._dirty_labels: set[int] = set()
        self._dirty_tunnels: set[TunnelKey] = set()
        self._signature: Signature | None = None
        self.rebuild_store()

    # -- what changes -----------------------------------------------------------------------

    @property
    def black(self) -> IPAddress | None:
        """Our black loopback: the configured one until the node moves."""
        return self._black

    @black.setter
    def black(self, addr: IPAddress | None) -> None:
        # Every tunnel starts there, and own-address entries and which routes a tunnel
        # can carry (its family) depend on it: a rare event, so start the incremental
        # path again; the writer still sends only the entries that differ.
        if addr != self._black:
            self._black = addr
            self.rebuild_store()

    def move_peer(self, old: str, new: str) -> None:
        """A peer's black address changed (mobility): its routes and SAs follow it and its
        tunnels keep their ids, so only the tunnel entries' addresses change. A rare event,
        so the incremental path starts again (the writer still sends only what differs)."""
        new_ip = ipaddress.ip_address(new)
        for key, route in list(self.routes.items()):
            if route.endpoint is not None and str(route.endpoint) == old:
                self.routes[key] = dataclasses.replace(route, endpoint=new_ip)
        for peer, tenant in [k for k in self.sas if k[0] == old]:
            self.sas[(new, tenant)] = self.sas.pop((peer, tenant))
            self.tunnel_ids.rename((peer, tenant), (new, tenant))
        self.rebuild_store()

    def set_route(self, route: VpnRoute) -> None:
        key = (route.vrf, route.prefix)
        old = self.routes.get(key)
        self.routes[key] = route
        self._reindex(key, old, route)

    def remove_route(self, vrf: str, prefix: IPNetwork) -> None:
        key = (vrf, prefix)
        self._reindex(key, self.routes.pop(key, None), None)

    def set_sa(self, peer: str, tenant: str | None, pair: SaPair | None) -> None:
        tkey = (peer, tenant)
        old = self.sas.get(tkey)
        if pair is None:
            self.sas.pop(tkey, None)
        else:
            self.sas[tkey] = pair
        if old != pair:
            self._dirty_tunnels.add(tkey)
        if (old is None) != (pair is None):
            self._dirty_routes.update(self._users.get(tkey, ()))  # to the tunnel, or not

    # -- lookups ----------------------------------------------------------------------------

    def tunnel_for(self, route: VpnRoute) -> TunnelKey | None:
        """The tunnel a remote route would use, if the pipeline can carry it at all."""
        black = self.black
        tkey = route.tunnel
        if tkey is None or black is None or self.vrf_ids.peek(route.vrf) is None:
            return None
        assert route.endpoint is not None
        if route.endpoint.version != black.version:
            return None  # the pipeline's tunnel has one family for both ends
        return tkey

    def tunnel_id(self, tkey: TunnelKey) -> int:
        """A live tunnel's id: one the adopted switch already uses for it, if any."""
        found = self.tunnel_ids.peek(tkey)
        if found is not None:
            return found
        return self.tunnel_ids.get(tkey, prefer=adopt.tunnel_hint(self, tkey))

    def tunnel_of(self, endpoint: IPAddress, tenant: str | None) -> int | None:
        return self.tunnel_ids.peek((str(endpoint), tenant))

    def lookup(self, vrf: str, dst: IPAddress) -> VpnRoute | None:
        """Longest-prefix match among the routes of a VRF (for lazy SA triggers)."""
        best: VpnRoute | None = None
        for (name, prefix), route in self.routes.items():
            if name != vrf or prefix.version != dst.version or dst not in prefix:
                continue
            if best is None or prefix.prefixlen > best.prefix.prefixlen:
                best = route
        return best

    def static_next_hops(self) -> Iterator[tuple[int, IPAddress, IPNetwork, int | None]]:
        """Configured VRF routes via a tenant router: (vrf id, next hop, prefix, next-hop id)."""
        return node.static_next_hops(self)

    # -- ids across restarts (see adopt.py) ----------------------------------------------------

    def adopt_ids(self, switch: Iterable[TableEntry]) -> None:
        """The switch holds ``switch`` (a previous daemon's entries): seed the id pools."""
        adopt.adopt(self, switch)

    def settle_ids(self) -> None:
        """The switch holds exactly what we wrote: every id may be used again."""
        self.adopted_tunnels = {}
        for pool in (self.tunnel_ids, self.red_nh_ids, self.black_nh_ids):
            pool.settle()

    # -- the full rebuild -------------------------------------------------------------------

    def keyed(self) -> dict[Key, TableEntry]:
        """Every desired entry by key, rendered from the inputs alone."""
        tunnels, labels, routes = vpn.vpn_entries(self)
        return first_wins(
            [
                *(render(self) for _, render in STATIC + INPUTS),
                tunnels,
                labels,
                routes,
                *(render(self) for _, render in SPD),
            ]
        )

    def entries(self) -> list[TableEntry]:
        return list(self.keyed().values())

    # -- the incremental path ---------------------------------------------------------------

    def changes(self) -> dict[Key, TableEntry | None]:
        """The entries changed since the last call, by key (None: no longer wanted)."""
        signature = (
            frozenset(self.neighbours),
            frozenset(self.black_routes),
            frozenset(self.control.items()),
        )
        if signature != self._signature:
            self._signature = signature
            for name, render in INPUTS + SPD[1:]:
                self._store.replace(name, first_wins([render(self)]))
        if self._dirty_tunnels:
            self._update_tunnels()
        for label in self._dirty_labels:
            ids = self._labels.get(label)
            key = entry_key(vpn.label_entry(label, {0}))
            if ids:
                self._store.put("labels", key, vpn.label_entry(label, set(ids)))
            else:
                self._store.drop("labels", key)
        self._dirty_labels.clear()
        for rkey in self._dirty_routes:
            self._render_route(rkey)
        self._dirty_routes.clear()
        return self._store.take()

    def backlog(self) -> int:
        """About how many entries the next ``changes()`` reports (routes not yet rendered
        count one each): what the switch writer has still to take."""
        return len(self._dirty_routes) + self._store.backlog()

    def view(self) -> dict[Key, TableEntry]:
        """What the incremental path holds now (up to the last ``changes()``)."""
        return self._store.view()

    def check(self) -> tuple[dict[Key, TableEntry], list[Key]]:
        """Full rebuild vs the incremental path: (rebuild, keys where they differ).

        Pending changes are folded in first. Should anything differ (a bug), the
        incremental path starts again from the inputs, so it cannot drift for long.
        """
        self.changes()
        full = self.keyed()
        held = self._store.view()
        drift = [k for k in full.keys() | held.keys() if full.get(k) != held.get(k)]
        if drift:
            self.rebuild_store()
            self.changes()
        return full, drift

    def rebuild_store(self) -> None:
        """Start the incremental path again from the inputs (every entry becomes a change)."""
        before = self._store
        self._store = EntryStore(SECTIONS)
        # what the last take reported, or the next would have: gone now unless re-rendered
        self._store.touch(before.view().keys() | before.pending())
        self._users = {}
        self._labels = {}
        self._route_keys = {}
        self._dirty_routes = set()
        self._dirty_labels = set()
        self._dirty_tunnels = set()
        self._signature = None
        for name, render in STATIC + SPD[:1]:
            self._store.replace(name, first_wins([render(self)]))
        for key, route in self.routes.items():
            self._reindex(key, None, route)
        # a dead tunnel's id goes
        self._dirty_tunnels.update(cast(TunnelKey, t) for t in self.tunnel_ids.held())

    # -- bookkeeping --------------------------------------------------------------------------

    def _reindex(self, key: RouteKey, old: VpnRoute | None, new: VpnRoute | None) -> None:
        """Route ``key`` changed from ``old`` to ``new``: its entry, label and tunnel use."""
        self._dirty_routes.add(key)
        old_t = self.tunnel_for(old) if old is not None else None
        new_t = self.tunnel_for(new) if new is not None else None
        if old_t != new_t:
            if new_t is not None:
                users = self._users.setdefault(new_t, set())
                users.add(key)
                if len(users) == 1:
                    self._dirty_tunnels.add(new_t)  # may go live
            if old_t is not None:
                users = self._users[old_t]
                users.discard(key)
                if not users:
                    del self._users[old_t]
                    self._dirty_tunnels.add(old_t)  # no longer live
        for route, step in ((old, -1), (new, 1)):
            vrf_id = self.vrf_ids.peek(route.vrf) if route is not None else None
            if route is None or not route.local or vrf_id is None:
                continue
            counts = self._labels.setdefault(route.label, {})
            counts[vrf_id] = counts.get(vrf_id, 0) + step
            if not counts[vrf_id]:
                del counts[vrf_id]
            if not counts:
                del self._labels[route.label]
            self._dirty_labels.add(route.label)

    def _update_tunnels(self) -> None:
        """Ids and entries of the tunnels whose SA or use changed.

        A tunnel is live (has an id and entries) while it has an SA and a route
        using it. New ids are taken before freed ones are given back, so an id
        never passes from one tunnel to another within one write.
        """
        dirty = sorted(self._dirty_tunnels, key=str)
        self._dirty_tunnels.clear()
        live = [t for t in dirty if t in self.sas and self._users.get(t)]
        for tkey in live:
            self.tunnel_id(tkey)
        for tkey in set(dirty) - set(live):
            self.tunnel_ids.release(tkey)
        held = {
            cast(TunnelKey, t): tid
            for t in self.tunnel_ids.held()
            if (tid := self.tunnel_ids.peek(t)) is not None
        }
        self._store.replace("tunnels", first_wins([vpn.tunnels(self, held)]))

    def _render_route(self, rkey: RouteKey) -> None:
        old_key = self._route_keys.pop(rkey, None)
        entry = self._route_entry(self.routes.get(rkey))
        if entry is not None:
            key = entry_key(entry)
            self._route_keys[rkey] = key
            self._store.put("routes", key, entry)
            if old_key is not None and old_key != key:
                self._store.drop("routes", old_key)
        elif old_key is not None:
            self._store.drop("routes", old_key)

    def _route_entry(self, route: VpnRoute | None) -> TableEntry | None:
        if route is None or route.local:
            return None
        tkey = self.tunnel_for(route)
        if tkey is None or (tkey not in self.sas and not self.lazy):
            return None
        vrf_id = self.vrf_ids.peek(route.vrf)
        assert vrf_id is not None  # tunnel_for checked it
        tid = self.tunnel_ids.peek(tkey) if tkey in self.sas else None
        return vpn.route_entry(vrf_id, route, tid, self.lazy)
