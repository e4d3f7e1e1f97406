"""What the VPN routes mean to this C-PE: resolution, spoof records and per-VRF results.

``VpnView`` sits beside the red Loc-RIB. It answers the RIB's "is this next hop
usable?" (a VPN path is a candidate only if its next hop resolves through a red
loopback route with an MPLS-in-IPsec tunnel, draft 4), remembers which VPN
routes depend on which next hop so they are re-evaluated when unicast routes
change, records spoofs, and turns each VRF prefix into a ``RouteEvent`` for the
application, emitted only when what the prefix resolves to changes.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from dataclasses import dataclass

from controller.bgp.path import IPAddress, IPNetwork, Nlri, Path, is_vpn_family
from controller.bgp.refusals import Refusals
from controller.bgp.resolve import Resolution, Resolver, Verdict, resolution_address
from controller.bgp.rib import Rib
from controller.bgp.vrf import Vrf

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RouteEvent:
    """What one VRF prefix now resolves to; ``withdrawn`` when it left the VRF.

    For a remote route the data plane needs ``label`` (pushed), ``tunnel_endpoint``
    (the remote black loopback, from the Tunnel Encapsulation attribute) and
    ``security_handle``; ``verdict`` says whether it may be used at all.
    """

    vrf: str
    prefix: IPNetwork
    withdrawn: bool = False
    local: bool = False
    label: int | None = None
    next_hop: IPAddress | None = None
    verdict: Verdict | None = None
    tunnel_type: int | None = None
    tunnel_endpoint: IPAddress | None = None
    security_handle: bytes | None = None
    rd: str = ""


class VpnView:
    def __init__(
        self, resolver: Resolver, counters: Counter[str], enabled: bool, refusals: Refusals
    ) -> None:
        self.resolver = resolver
        self.counters = counters
        self.enabled = enabled  # a C-PE resolves; a route reflector passes VPN routes on as is
        self.refusals = refusals
        self.spoofs: dict[Nlri, Resolution] = {}
        self._deps: dict[IPAddress, set[Nlri]] = {}
        self._cache: dict[IPAddress, Resolution] = {}
        self._state: dict[tuple[str, IPNetwork], RouteEvent] = {}
        self._events: list[RouteEvent] = []

    # ---- resolution ----

    def next_hop_cost(self, path: Path) -> int | None:
        """The red RIB's cost function: None (not a candidate) unless the next hop resolves."""
        if not self.enabled or not is_vpn_family(path.nlri.family) or path.source.local:
            return 0
        res = self.resolve(path)
        if res.verdict is Verdict.SPOOF:
            if self.spoofs.get(path.nlri) != res:
                self.counters["spoof"] += 1
                log.warning(
                    "SPOOF: VPN route %s from %s: next hop %s resolves through %s learned on a "
                    "black session; route not used",
                    path.nlri,
                    path.source.peer,
                    res.next_hop,
                    res.via,
                )
            self.spoofs[path.nlri] = res
        else:
            self.spoofs.pop(path.nlri, None)
        return 0 if res.usable else None

    def resolve(self, path: Path) -> Resolution:
        nh = path.attrs.next_hop
        if not path.source.local and not self._encapsulated(path):
            return Resolution(Verdict.NO_ENCAP, None if nh is None else resolution_address(nh))
        if nh is None:
            return self.resolver.resolve(path)
        # Keyed by the address it resolves as, so IPv4-mapped next hops of VPN-IPv6
        # routes are re-evaluated when the IPv4 red loopback route changes.
        nh = resolution_address(nh)
        self._deps.setdefault(nh, set()).add(path.nlri)
        res = self._cache.get(nh)
        if res is None:
            res = self._cache[nh] = self.resolver.resolve(path)
        return res

    def _encapsulated(self, path: Path) -> bool:
        """Draft 2: a VPN-IP route MUST carry an MPLS-in-IPsec Tunnel Encapsulation attribute.

        Without one (or with other tunnel types only) it is not used, whatever its
        next hop resolves to, and the refusal is reported.
        """
        tt = self.resolver.tunnel_type
        if any(t.tunnel_type == tt for t in path.attrs.tunnels):
            self.refusals.clear("no-encap", path)
            return True
        types = ", ".join(str(t.tunnel_type) for t in path.attrs.tunnels) or "none"
        self.refusals.refuse(
            "no-encap",
            path,
            f"no Tunnel Encapsulation attribute with the MPLS-in-IPsec tunnel type {tt} "
            f"(draft section 2); tunnel types present: {types}",
        )
        return False

    def unicast_changed(self, net: IPNetwork, rib: Rib) -> list[set[Nlri]]:
        """A unicast best path for ``net`` changed: the VPN routes whose next hop it covers.

        Routes gone from ``rib`` since they were resolved are forgotten on the way.
        """
        self._cache.clear()
        out = []
        for nh in [nh for nh in self._deps if nh.version == net.version and nh in net]:
            deps = self._deps[nh]
            deps.difference_update([n for n in deps if not rib.paths(n)])
            if deps:
                out.append(deps)
            else:
                del self._deps[nh]
        return out

    # ---- per-VRF results ----

    def refresh(self, v: Vrf, prefix: IPNetwork) -> None:
        """Recompute one VRF prefix and queue an event if what it resolves to changed."""
        ev = self._compute(v, prefix)
        key = (v.name, prefix)
        old = self._state.get(key)
        if ev.withdrawn:
            if old is None:
                return
            del self._state[key]
        elif old == ev:
            return
        else:
            self._state[key] = ev
        self._events.append(ev)

    def _compute(self, v: Vrf, prefix: IPNetwork) -> RouteEvent:
        if prefix in v.local:
            return RouteEvent(v.name, prefix, local=True, label=v.local[prefix], rd=_rd_text(v.rd))
        best = v.best_remote(prefix)
        if best is not None:
            res = self.resolve(best)
            return RouteEvent(
                v.name,
                prefix,
                label=best.labels[0] if best.labels else None,
                next_hop=best.attrs.next_hop,
                verdict=res.verdict,
                tunnel_type=res.tunnel_type,
                tunnel_endpoint=res.tunnel_endpoint,
                security_handle=res.security_handle,
                rd=_rd_text(best.nlri.rd),
            )
        cands = v.candidates(prefix)
        if not cands:
            return RouteEvent(v.name, prefix, withdrawn=True)
        # Nothing usable: say why (spoof, unresolved, no tunnel); not for the FIB.
        first = cands[0]
        return RouteEvent(
            v.name,
            prefix,
            label=first.labels[0] if first.labels else None,
            next_hop=first.attrs.next_hop,
            verdict=self.resolve(first).verdict,
            rd=_rd_text(first.nlri.rd),
        )

    def routes(self, vrf: str) -> list[RouteEvent]:
        return [ev for (name, _), ev in sorted(self._state.items(), key=str) if name == vrf]

    def take_events(self) -> list[RouteEvent]:
        out, self._events = self._events, []
        return out


# RouteEvent carries the RD as text; formatting it per route cost 2-3 us, and a VRF's
# routes share a few RDs (the objects are frozen, equal ones give the same text).
_rd_text = functools.lru_cache(maxsize=4096)(str)
