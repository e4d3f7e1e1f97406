"""RT-Constrain (RFC 4684), sans I/O: send a peer only the VPN routes it asked for.

A peer that negotiated the RT membership family (AFI 1, SAFI 132) tells us, by
the membership routes it advertises, which route targets it imports; the
default membership (length 0) asks for everything. Towards such a peer the
Adj-RIB-Out (``adjribout.py``) sends a VPN-IP route only if one of its route
targets matches one of the peer's memberships, and sends no VPN-IP route
before the peer's End-of-RIB for the membership family (RFC 4684 6) or its
first membership route; a peer that did not negotiate the family gets every
route, as without RFC 4684. The VPN End-of-RIB waits with the VPN routes.

Membership routes live in the red RIB like any route (an RR reflects them);
the key of one is kept in ``Nlri.prefix`` as a 128-bit network whose top 96
bits are origin AS + route target: containment of membership prefixes is then
IP prefix containment. A route target is matched as the 64-bit integer of its
8 octets.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from controller.bgp.config import SpeakerConfig
from controller.bgp.path import (
    RTC,
    Attrs,
    Color,
    Family,
    IPAddress,
    Nlri,
    Path,
    Source,
    is_vpn_family,
)
from controller.bgp.rib import Change, Rib
from controller.bgp.vrf import Vrf
from controller.bgp.wire.attributes.ext_communities import ExtCommunity
from controller.bgp.wire.nlri.rtc import MAX_BITS, RtMembership

_RT_MASK = (1 << 64) - 1


def membership_nlri(m: RtMembership) -> Nlri:
    return Nlri(RTC, ipaddress.IPv6Network((m.value << 32, m.length)))


def wire_membership(nlri: Nlri) -> RtMembership:
    return RtMembership(nlri.prefix.prefixlen, int(nlri.prefix.network_address) >> 32)


def rt_int(ec: ExtCommunity) -> int:
    return int.from_bytes(ec.encode(), "big")


def local_memberships(local_as: int, rts: Iterable[ExtCommunity]) -> set[Nlri]:
    """One full-length membership route per import route target (RFC 4684 4)."""
    return {membership_nlri(RtMembership.create(local_as, ec.encode())) for ec in rts}


DEFAULT_MEMBERSHIP = membership_nlri(RtMembership())


def wanted_memberships(cfg: SpeakerConfig, vrfs: Iterable[Vrf], clients: bool = False) -> set[Nlri]:
    """RFC 4684: one membership route per import RT of our VRFs, and the default one to
    ask an RR's clients for all their VPN routes (sent to clients only, policy.py).
    ``clients``: a route reflector client is configured now, beyond what ``cfg`` lists
    (one added at run time, e.g. a C-PE discovered by its certificate, draft 3.2)."""
    if not cfg.rt_constrain:
        return set()
    want = local_memberships(cfg.local_as, (rt for v in vrfs for rt in v.import_rts))
    clients = clients or any(n.rr_client for n in cfg.neighbors)
    if clients or any(d.rr_client for d in cfg.dynamic_neighbors):
        want.add(DEFAULT_MEMBERSHIP)
    return want


def originate_memberships(
    rib: Rib, have: set[Nlri], want: set[Nlri], next_hop: IPAddress
) -> list[Change | None]:
    """Our membership routes from ``have`` to ``want`` in the red RIB."""
    attrs = Attrs(next_hop=next_hop, local_pref=100)
    changes: list[Change | None] = []
    for nlri in want - have:
        changes.append(rib.update(Path(nlri, attrs, Source(Color.RED))))
    for nlri in have - want:
        changes.append(rib.withdraw(nlri, None))
    return changes


# Route targets of an Attrs, by the identity of its ext_communities tuple: many routes
# share one (convert.py hands out one Attrs per distinct attribute set). The tuple is
# kept in the entry, so its id cannot be reused while the entry lives.
_RTS: dict[int, tuple[tuple[ExtCommunity, ...], frozenset[int]]] = {}


def route_targets(attrs: Attrs) -> frozenset[int]:
    ecs = attrs.ext_communities
    known = _RTS.get(id(ecs))
    if known is None or known[0] is not ecs:
        if len(_RTS) >= 4096:
            _RTS.clear()
        known = _RTS[id(ecs)] = (ecs, frozenset(rt_int(e) for e in ecs if e.is_route_target))
    return known[1]


@dataclass(eq=False)
class Interest:
    """What one peer asked for; ``open`` once its End-of-RIB or a membership arrived."""

    open: bool = False
    everything: int = 0
    exact: Counter[int] = field(default_factory=Counter)
    partial: Counter[tuple[int, int]] = field(default_factory=Counter)  # (bits, RT prefix)

    def allows(self, rts: frozenset[int]) -> bool:
        if not self.open:
            return False
        if self.everything:
            return True
        exact = self.exact
        for rt in rts:
            if rt in exact:
                return True
        return any(rt >> (64 - bits) == want for bits, want in self.partial for rt in rts)

    def change(self, nlri: Nlri, delta: int) -> int | None:
        """Count one membership in or out; the RT it names if full length, else None."""
        m = wire_membership(nlri)
        if m.length == 0:
            self.everything += delta
            return None
        rt_bits = m.length - 32
        rt = m.value & _RT_MASK
        if m.length == MAX_BITS:
            self.exact[rt] += delta
            if self.exact[rt] <= 0:
                del self.exact[rt]
            return rt
        key = (rt_bits, rt >> (64 - rt_bits))
        self.partial[key] += delta
        if self.partial[key] <= 0:
            del self.partial[key]
        return None


class RtConstrain:
    """Per-peer interests, and an index of the VPN-IP best paths by route target."""

    def __init__(self, best_paths: Callable[[], Iterable[Path]]) -> None:
        """``best_paths``: the red RIB's best paths, read when the RT index is built."""
        self.peers: dict[IPAddress, Interest] = {}
        self._holders: dict[Nlri, set[IPAddress]] = {}
        self._best_paths = best_paths
        # The VPN-IP best paths by route target, kept only while a peer negotiated the
        # family (None otherwise): ~40 octets and a set insert per route of a full
        # table that no one would read.
        self._by_rt: dict[int, set[Nlri]] | None = None
        # Which peers want a route target, and those that want more than exact ones:
        # a VPN change is looked at for these peers only, not for every constrained peer.
        self.rt_peers: dict[int, set[IPAddress]] = {}
        self.wide: set[IPAddress] = set()

    def session_up(self, peer: IPAddress, families: frozenset[Family]) -> None:
        self.session_down(peer)
        if RTC in families:
            self.peers[peer] = Interest()
            if self._by_rt is None:
                self._by_rt = {}
                for p in self._best_paths():
                    if is_vpn_family(p.nlri.family):
                        self.vpn_best_changed(p.nlri, None, p)

    def session_down(self, peer: IPAddress) -> None:
        i = self.peers.pop(peer, None)
        if i is None:
            return
        for holders in self._holders.values():
            holders.discard(peer)
        for rt in i.exact:
            self._index_peer(peer, rt, False)
        self.wide.discard(peer)
        if not self.peers:
            self._by_rt = None

    def _index_peer(self, peer: IPAddress, rt: int, wants: bool) -> None:
        if wants:
            self.rt_peers.setdefault(rt, set()).add(peer)
            return
        peers = self.rt_peers.get(rt)
        if peers is not None:
            peers.discard(peer)
            if not peers:
                del self.rt_peers[rt]

    def peers_for(self, rts: frozenset[int]) -> set[IPAddress]:
        """Constrained peers that may want a route with these route targets."""
        out = set(self.wide)
        for rt in rts:
            peers = self.rt_peers.get(rt)
            if peers:
                out |= peers
        return out

    def interest(self, peer: IPAddress) -> Interest | None:
        return self.peers.get(peer)

    def end_of_rib(self, peer: IPAddress) -> bool:
        """The peer's membership End-of-RIB: True if that opens its VPN routes now."""
        i = self.peers.get(peer)
        if i is None or i.open:
            return False
        i.open = True
        return True

    def membership_paths(
        self, nlri: Nlri, paths: list[Path]
    ) -> list[tuple[IPAddress, int | None, bool]]:
        """The candidates for one membership NLRI changed: (peer, its RT or None for a
        default/partial one, whether that opened the peer) for each peer that gained or
        lost it."""
        now = {p.source.peer for p in paths if p.source.peer in self.peers}
        before = self._holders.get(nlri, set())
        out: list[tuple[IPAddress, int | None, bool]] = []
        for peer in now ^ before:
            assert peer is not None
            i = self.peers.get(peer)
            if i is None:
                continue
            opened = not i.open
            i.open = True  # its first membership route: what it wants is arriving
            rt = i.change(nlri, 1 if peer in now else -1)
            if rt is not None:
                self._index_peer(peer, rt, rt in i.exact)
            if i.everything or i.partial:
                self.wide.add(peer)
            else:
                self.wide.discard(peer)
            out.append((peer, rt, opened))
        if now:
            self._holders[nlri] = now
        else:
            self._holders.pop(nlri, None)
        return out

    def vpn_best_changed(self, nlri: Nlri, old: Path | None, new: Path | None) -> None:
        by_rt = self._by_rt
        if by_rt is None:
            return
        was = route_targets(old.attrs) if old is not None else frozenset()
        now = route_targets(new.attrs) if new is not None else frozenset()
        for rt in was - now:
            s = by_rt.get(rt)
            if s is not None:
                s.discard(nlri)
                if not s:
                    del by_rt[rt]
        for rt in now - was:
            by_rt.setdefault(rt, set()).add(nlri)

    def with_rt(self, rt: int) -> set[Nlri]:
        """The VPN-IP NLRIs whose best path carries route target ``rt`` (a peer must have
        negotiated the family: the index exists only then)."""
        assert self._by_rt is not None, "RT index read with no RT-Constrain peer"
        return self._by_rt.get(rt, set())

    def matching(self, peer: IPAddress, best_vpn: Iterable[Nlri]) -> set[Nlri]:
        """The VPN NLRIs the peer's interest covers (``best_vpn``: all of them, used
        only when a default or partial membership asks for a scan)."""
        i = self.peers[peer]
        if i.everything or i.partial:
            return {n for n in best_vpn if is_vpn_family(n.family)}
        out: set[Nlri] = set()
        for rt in i.exact:
            out |= self.with_rt(rt)
        return out
