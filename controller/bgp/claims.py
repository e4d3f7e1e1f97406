"""Who may originate a red loopback route: uniqueness (draft 3.1) and identity binding.

Draft 3.1: each C-PE's red loopback is unique among the customer's C-PEs. A
second originator of a red loopback (ours or another C-PE's) is a mistake or an
attack: its route would divert the VPN routes that resolve through that
loopback. A red loopback route here is a host route carrying an MPLS-in-IPsec
tunnel. The red RIB asks :meth:`LoopbackClaims.usable` about every path; a
refused one stays in the Adj-RIB-In but is never a best-path candidate (so it is
neither used nor reflected), and :class:`~controller.bgp.refusals.Refusals`
reports it.

Identity binding (kind ``identity``): a neighbour configured with
``originates`` (the red loopbacks its IKE identity is bound to) and ``endpoints``
(its black addresses) may send red loopback routes for those loopbacks only,
naming only those tunnel endpoints. A C-PE that advertises another's red
loopback, or its own with someone else's endpoint, is refused. The binding is
checked on every path from a bound neighbour, ORIGINATOR_ID or not: a client
could forge that attribute.

Uniqueness (kind ``duplicate-loopback``): an originator is the ORIGINATOR_ID
(set by the first route reflector), else the BGP Identifier of the IBGP
neighbour, else (EBGP, where ORIGINATOR_ID is not carried) the tunnel
endpoint. Our own red loopbacks belong to us. For another's, the originator
seen first among those present keeps it; later ones are refused until it
withdraws (then the next in order takes over). Paths refused by the identity
binding take no part.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from controller.bgp.config import NeighborConfig, SpeakerConfig
from controller.bgp.path import IPAddress, Nlri, Path
from controller.bgp.refusals import Refusals
from controller.bgp.rib import Rib


class LoopbackClaims:
    def __init__(
        self,
        cfg: SpeakerConfig,
        rib: Rib,
        refusals: Refusals,
        neighbor: Callable[[IPAddress], NeighborConfig | None],
    ) -> None:
        self.cfg = cfg
        self.rib = rib
        self.refusals = refusals
        self.neighbor = neighbor
        self._own = {lo.address for lo in cfg.red_loopbacks}
        self._seq = itertools.count()
        # red loopback route -> originator -> order first seen (originators present now)
        self._seen: dict[Nlri, dict[str, int]] = {}
        self._prune_at = 1024  # bounded memory when routes come and go

    def is_red_loopback_route(self, path: Path) -> bool:
        tt = self.cfg.mpls_in_ipsec_tunnel_type
        return (
            path.nlri.rd is None
            and path.nlri.prefix.num_addresses == 1
            and any(t.tunnel_type == tt for t in path.attrs.tunnels)
        )

    def originator(self, path: Path) -> str:
        if path.source.local:
            return str(self.cfg.router_id)
        if path.attrs.originator_id is not None:
            return str(path.attrs.originator_id)
        if not path.source.ebgp:
            return str(path.source.router_id)
        ends = sorted(str(t.endpoint) for t in path.attrs.tunnels if t.endpoint is not None)
        return f"endpoint {ends[0] if ends else '-'}"

    def usable(self, path: Path) -> bool:
        """False if ``path`` is a red loopback route that must not be used (and say why)."""
        if path.source.local or not self.is_red_loopback_route(path):
            return True
        why = self._identity_problem(path)
        if why is not None:
            self.refusals.refuse("identity", path, why)
            return False
        self.refusals.clear("identity", path)
        owner = self._owner(path)
        mine = self.originator(path)
        if owner == mine:
            self.refusals.clear("duplicate-loopback", path)
            return True
        addr = path.nlri.prefix.network_address
        whose = "our own red loopback" if addr in self._own else f"red loopback {addr}"
        self.refusals.refuse(
            "duplicate-loopback",
            path,
            f"{whose} is originated by {owner}; a second originator ({mine}) is refused "
            "(draft 3.1: red loopbacks are unique among a customer's C-PEs)",
        )
        return False

    def _identity_problem(self, path: Path) -> str | None:
        peer = path.source.peer
        n = self.neighbor(peer) if peer is not None else None
        if n is None or n.originates is None:
            return None
        addr = path.nlri.prefix.network_address
        if addr not in n.originates:
            bound = ", ".join(str(a) for a in n.originates) or "none"
            return (
                f"red loopback {addr} is not bound to this neighbour's IKE identity "
                f"(it may originate: {bound})"
            )
        ends = [t.endpoint for t in path.attrs.tunnels if t.endpoint is not None]
        wrong = [str(e) for e in ends if n.endpoints and e not in n.endpoints]
        if wrong:
            allowed = ", ".join(str(e) for e in n.endpoints)
            return (
                f"tunnel endpoint {', '.join(wrong)} is not this neighbour's black address "
                f"({allowed})"
            )
        return None

    def _owner(self, path: Path) -> str:
        addr = path.nlri.prefix.network_address
        if addr in self._own:
            return str(self.cfg.router_id)
        present = {
            self.originator(p)
            for p in self.rib.paths(path.nlri)
            if p is path or self._identity_problem(p) is None
        }
        if len(self._seen) > self._prune_at:
            for nlri in [n for n in self._seen if not self.rib.paths(n)]:
                del self._seen[nlri]
            self._prune_at = max(1024, 2 * len(self._seen))
        seen = self._seen.setdefault(path.nlri, {})
        for gone in set(seen) - present:
            del seen[gone]
        for o in sorted(present - set(seen)):
            seen[o] = next(self._seq)
        return min(seen, key=seen.__getitem__)
