"""The events the daemon carries between BGP, IPsec and the switch (sans I/O).

BGP, IKE and the switch never import each other (architecture: "Who may import
whom"); this class is where their events meet:

* BGP ``RouteEvent`` for a remote VPN prefix, resolved through a red loopback
  route with an MPLS-in-IPsec tunnel → ask IPsec for SAs to the tunnel endpoint
  (draft section 4, eager or lazy) and remember the route; it reaches the VRF
  FIB only once its tunnel has an SA, so nothing is ever sent in the clear.
* a ``SPOOF`` verdict (the next hop resolves through a black-session route,
  draft section 4 "IMPORTANT") is logged, counted and kept out of the FIB;
  ``UNRESOLVED``/``NO_TUNNEL`` routes are kept out too.
* SA database ``TunnelChange`` → the tunnel's SA indexes in the pipeline; for
  the control SA of a red BGP neighbour → "transport protected" to BGP
  (draft 3.2: a red session runs only inside IPsec), with, in transport mode,
  the address the session runs to (where the SA ends).

The daemon applies the returned :class:`Action`s (calls into IpsecRuntime and
BgpSpeaker) and writes ``state.entries()`` when ``dirty`` is set.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import Counter
from dataclasses import dataclass

from controller.app.desired import ControlPeer, DesiredState, SaPair, VpnRoute
from controller.app.desired.model import RouteKey, TunnelKey
from controller.bgp.core import RouteEvent
from controller.bgp.resolve import Verdict
from controller.ipsec.sad import TunnelChange

log = logging.getLogger(__name__)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class EnsureTunnel:
    peer: str
    security_handle: bytes | None
    tenant: str | None


@dataclass(frozen=True)
class WithdrawTunnel:
    peer: str
    tenant: str | None


@dataclass(frozen=True)
class SetProtected:
    """Tell BGP whether the session to this red neighbour is inside IPsec.

    ``transport``: in transport mode (draft 3.2), the address the neighbour's session
    runs from, which is where its control SA ends (its black loopback, or its NAT's
    public address); None in tunnel mode (the session runs between red loopbacks).
    """

    neighbour: IPAddress
    protected: bool
    transport: IPAddress | None = None


@dataclass(frozen=True)
class MoveTunnel:
    """A peer's red loopback route came back with a new tunnel endpoint (mobility)."""

    old: str
    new: str


Action = EnsureTunnel | WithdrawTunnel | SetProtected | MoveTunnel


class Composer:
    def __init__(
        self,
        state: DesiredState,
        control_peers: dict[str, IPAddress],
        local_red: IPAddress | None,
        per_tenant: bool = False,
    ) -> None:
        """``control_peers`` maps a red BGP neighbour's black address to its red address."""
        self.state = state
        self.control_peers = control_peers
        self.local_red = local_red
        self.per_tenant = per_tenant
        self.dirty = True
        self.counters: Counter[str] = Counter()
        # Keyed by (VRF, prefix): the network object, not its text (str() costs ~2 us).
        self.rejected: dict[RouteKey, RouteEvent] = {}  # why not used
        self.last_event: dict[RouteKey, RouteEvent] = {}  # for show: next hop, RD
        self._users: dict[TunnelKey, set[RouteKey]] = {}
        self._uses: dict[RouteKey, TunnelKey] = {}  # the tunnel each route uses (reverse)

    # -- BGP --------------------------------------------------------------------------------

    def route_event(self, ev: RouteEvent) -> list[Action]:
        key = (ev.vrf, ev.prefix)
        self.dirty = True
        moved = self._moved(self.last_event.get(key), ev)
        if moved is not None:
            return [moved, *self.route_event(ev)]
        if ev.withdrawn:
            self.last_event.pop(key, None)
        else:
            self.last_event[key] = ev
        if ev.withdrawn:
            self.state.remove_route(ev.vrf, ev.prefix)
            self.rejected.pop(key, None)
            return self._release(key)
        if ev.local:
            if ev.label is None:
                return []
            self.state.set_route(VpnRoute(ev.vrf, ev.prefix, ev.label, local=True))
            return self._release(key)
        verdict = ev.verdict
        if verdict is not Verdict.RESOLVED or ev.tunnel_endpoint is None or ev.label is None:
            self.state.remove_route(ev.vrf, ev.prefix)
            self.rejected[key] = ev
            name = verdict.value if verdict is not None else "unresolved"
            self.counters[f"routes_{name}"] += 1
            if verdict is Verdict.SPOOF:
                log.warning(
                    "VRF %s %s: next hop %s resolves through a black-session route: spoof, "
                    "not installed (draft section 4)",
                    ev.vrf,
                    ev.prefix,
                    ev.next_hop,
                )
            return self._release(key)
        self.rejected.pop(key, None)
        tenant = ev.vrf if self.per_tenant else None
        route = VpnRoute(ev.vrf, ev.prefix, ev.label, False, ev.tunnel_endpoint, tenant)
        self.state.set_route(route)
        tkey = route.tunnel
        assert tkey is not None  # a remote route with an endpoint
        actions = self._release(key, keep=tkey)
        users = self._users.setdefault(tkey, set())
        if not users:
            actions.append(EnsureTunnel(tkey[0], ev.security_handle, tenant))
        users.add(key)
        self._uses[key] = tkey
        return actions

    def _release(self, key: RouteKey, keep: TunnelKey | None = None) -> list[Action]:
        """Forget ``key``'s use of any other tunnel; the last user withdraws it."""
        tkey = self._uses.get(key)
        if tkey is None or tkey == keep:
            return []
        del self._uses[key]
        users = self._users.get(tkey)
        if users is None:
            return []
        users.discard(key)
        if users:
            return []
        del self._users[tkey]
        return [] if tkey[0] in self.control_peers else [WithdrawTunnel(*tkey)]

    # -- mobility ---------------------------------------------------------------------------

    def _moved(self, prev: RouteEvent | None, ev: RouteEvent) -> MoveTunnel | None:
        """The same next hop (a peer's red loopback) now has another tunnel endpoint: the
        peer moved. Only the first route to say so moves the tunnel (later ones find it
        moved), and none does if IKE already reported the move (MOBIKE)."""
        if prev is None or ev.withdrawn or prev.next_hop != ev.next_hop:
            return None
        old, new = prev.tunnel_endpoint, ev.tunnel_endpoint
        if old is None or new is None or old == new:
            return None
        if not any(peer == str(old) for peer, _ in self._users):
            return None
        self.peer_moved(str(old), str(new))
        return MoveTunnel(str(old), str(new))

    def peer_moved(self, old: str, new: str) -> None:
        """Re-key everything held per peer black address; the tunnel keeps its SAs."""
        self.dirty = True
        if old in self.control_peers:
            self.control_peers[new] = self.control_peers.pop(old)
            # transport mode: the session now runs to the new address (the SA database
            # announces the control SA there next; until then nothing goes to the old one)
            red = self.control_peers[new]
            cp = self.state.control.get(red)
            if cp is not None and cp.peer_transport is not None:
                self.state.control[red] = ControlPeer(
                    red, cp.sa, cp.local_red, ipaddress.ip_address(new)
                )
        self.state.move_peer(old, new)
        for peer, tenant in [k for k in self._users if k[0] == old]:
            users = self._users.pop((peer, tenant))
            self._users.setdefault((new, tenant), set()).update(users)
            for key in users:
                self._uses[key] = (new, tenant)
        log.info("peer %s moved to %s: tunnels, routes and control session follow", old, new)

    # -- IPsec ------------------------------------------------------------------------------

    def tunnel_change(self, change: TunnelChange) -> list[Action]:
        peer_addr, tenant, child = change.key
        peer = str(peer_addr)
        self.dirty = True
        pair = (
            SaPair(change.out_index, change.in_index, change.inbound[1:], change.remote)
            if change.out_index is not None and change.in_index is not None
            else None
        )
        if child == "bgp":
            red = self.control_peers.get(peer)
            if red is None or self.local_red is None:
                return []
            if pair is None:
                self.state.control.pop(red, None)
                return [SetProtected(red, False)]
            # transport mode: the session runs to where the SA ends (RFC 7296 2.23.1: a
            # peer behind NAT is seen at its NAT's address; the engine fixes the TCP
            # checksum for it, RFC 3948 3.1.2)
            where = (pair.outer or peer_addr) if self.state.control_transport else None
            self.state.control[red] = ControlPeer(red, pair, self.local_red, where)
            return [SetProtected(red, True, where)]
        if child.startswith("mpls"):
            self.state.set_sa(peer, tenant, pair)
        return []

    def status(self) -> dict[str, object]:
        return {
            "counters": dict(self.counters),
            "rejected": [
                {
                    "vrf": ev.vrf,
                    "prefix": str(ev.prefix),
                    "verdict": ev.verdict.value if ev.verdict else "unresolved",
                    "next_hop": str(ev.next_hop) if ev.next_hop else None,
                }
                for ev in self.rejected.values()
            ],
            "tunnels": {
                f"{peer}" + (f"/{tenant}" if tenant else ""): len(users)
                for (peer, tenant), users in sorted(self._users.items(), key=str)
            },
        }
