"""Best-path changes to their consequences, sans I/O.

A change in a Loc-RIB (red or black) reaches: the Adj-RIB-Out of every
established neighbour of that colour, the VRFs that import a VPN-IP route, the
spoof watch, and the VPN routes whose next hop resolves over a changed unicast
route (which are then selected again). ``Propagator`` also learns the red
loopbacks other C-PEs advertise (host routes with an MPLS-in-IPsec tunnel).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from controller.bgp import session as s
from controller.bgp.adjribout import AdjRibOut, Sent
from controller.bgp.config import SpeakerConfig
from controller.bgp.path import RTC, Color, IPAddress, IPNetwork, Nlri, is_vpn_family
from controller.bgp.rib import Change, Rib
from controller.bgp.rtc import route_targets
from controller.bgp.spoofwatch import SpoofWatch
from controller.bgp.vpnview import VpnView
from controller.bgp.vrf import Vrf

Target = tuple[IPAddress, Sent, set[Nlri]]
_Targets = tuple[list[Target], list[Target], dict[IPAddress, Target]]


@dataclass(eq=False)
class Propagator:
    """``sessions`` and ``vrfs`` are the speaker's own dicts, shared, not copied."""

    cfg: SpeakerConfig
    sessions: dict[IPAddress, s.Session]
    red: Rib
    black: Rib
    out: AdjRibOut
    vrfs: dict[str, Vrf]
    vpn: VpnView
    spoof_watch: SpoofWatch
    _red_loopbacks_seen: set[IPAddress] = field(default_factory=set, init=False)
    _vrf_dirty: set[tuple[str, IPNetwork]] | None = field(default=None, init=False)
    _target_cache: dict[Color, tuple[int, _Targets]] = field(default_factory=dict, init=False)

    def known_red_loopbacks(self) -> set[IPAddress]:
        """Our red loopbacks and those learnt from other C-PEs' routes."""
        return {lo.address for lo in self.cfg.red_loopbacks} | self._red_loopbacks_seen

    def apply(self, rib: Rib, changes: Sequence[Change | None]) -> None:
        """Propagate best-path changes: Adj-RIB-Out, VRF imports, dependent resolutions.

        VRF prefixes are recomputed once, after every consequence has been applied,
        so the app never sees a transient state (e.g. unresolved just before withdrawn).
        """
        outer = self._vrf_dirty is None
        if outer:
            self._vrf_dirty = set()
        assert self._vrf_dirty is not None
        color = Color.RED if rib is self.red else Color.BLACK
        rtc = self.out.rtc
        targets, free, constrained = self._targets(color)
        for ch in changes:
            if ch is None:
                continue
            vpn = is_vpn_family(ch.nlri.family)
            if ch.best_changed:
                src = ch.new.source.peer if ch.new is not None else None
                these = targets
                if vpn and color is Color.RED:
                    these = self._vpn_targets(ch, free, constrained)
                for peer, sent, pending in these:
                    if peer == src and ch.nlri not in sent:
                        continue  # its own route, and nothing of ours to withdraw there
                    pending.add(ch.nlri)
            if ch.nlri.family == RTC:
                if not ch.best_changed:  # a client's path may be what goes to non-clients
                    for peer, _, pending in targets:
                        if not self.sessions[peer].neighbor.rr_client:
                            pending.add(ch.nlri)
                for peer, rt, opened in rtc.membership_paths(ch.nlri, rib.paths(ch.nlri)):
                    if opened:
                        self.out.rtc_opened(peer)
                    self.out.rtc_wants(peer, rt)
                continue
            if vpn:
                if color is Color.RED and self.vrfs:
                    paths = rib.paths(ch.nlri)
                    self.spoof_watch.vpn_paths(ch.nlri, paths)
                    for v in self.vrfs.values():
                        if v.set_candidates(ch.nlri, paths):
                            self._vrf_dirty.add((v.name, ch.nlri.prefix))
                continue
            if color is Color.BLACK:
                self.spoof_watch.black_changed(ch.nlri)
            if not ch.best_changed:
                continue
            # A unicast change (red or black) may change how VPN next hops resolve.
            self._track_red_loopback(ch, color)
            for deps in self.vpn.unicast_changed(ch.nlri.prefix, self.red):
                for v in self.vrfs.values():
                    for nlri in deps:
                        if nlri.prefix in v.imported:
                            self._vrf_dirty.add((v.name, nlri.prefix))
                self.apply(self.red, self.red.reselect(deps))
        if outer:
            dirty, self._vrf_dirty = self._vrf_dirty, None
            # In a fixed order (VRF, family, prefix); str() of the keys, the order once
            # used, cost a sixth of the BGP time of a big UPDATE.
            for name, prefix in sorted(dirty, key=_vrf_order):
                self.vpn.refresh(self.vrfs[name], prefix)

    def _targets(self, color: Color) -> tuple[list[Target], list[Target], dict[IPAddress, Target]]:
        """The established peers of a colour: all, without RT-Constrain, with it (VPN-IP
        changes go to those by their route targets, rtc.py). Kept until the Adj-RIB-Out's
        peers change: an RR has many peers and sees many UPDATEs."""
        cached = self._target_cache.get(color)
        if cached is not None and cached[0] == self.out.version:
            return cached[1]
        rtc = self.out.rtc
        targets: list[Target] = [
            (peer, self.out.sent[peer], self.out.pending[peer])
            for peer, sess in self.sessions.items()
            if sess.neighbor.color is color and sess.established
        ]
        free = [t for t in targets if t[0] not in rtc.peers]
        constrained = {t[0]: t for t in targets if t[0] in rtc.peers}
        self._target_cache[color] = (self.out.version, (targets, free, constrained))
        return targets, free, constrained

    def reimport(self, v: Vrf) -> None:
        """What ``v`` imports changed: its candidates for every VPN route, again."""
        dirty = set()
        for p in list(self.red.best_paths()):
            if is_vpn_family(p.nlri.family) and v.set_candidates(p.nlri, self.red.paths(p.nlri)):
                dirty.add(p.nlri.prefix)
        for prefix in list(v.imported):
            for nlri in list(v.imported.get(prefix, {})):
                if v.set_candidates(nlri, self.red.paths(nlri)):
                    dirty.add(prefix)
        for prefix in dirty:
            self.vpn.refresh(v, prefix)

    def _vpn_targets(
        self, ch: Change, free: list[Target], constrained: dict[IPAddress, Target]
    ) -> list[Target]:
        """Peers without RT-Constrain, and the constrained ones that want (or hold) it."""
        rtc = self.out.rtc
        rtc.vpn_best_changed(ch.nlri, ch.old, ch.new)
        if not constrained:
            return free
        rts: frozenset[int] = frozenset()
        for p in (ch.old, ch.new):
            if p is not None:
                rts |= route_targets(p.attrs)
        return free + [constrained[p] for p in rtc.peers_for(rts) if p in constrained]

    def _track_red_loopback(self, ch: Change, color: Color) -> None:
        if color is not Color.RED or ch.nlri.prefix.num_addresses != 1:
            return
        addr = ch.nlri.prefix.network_address
        tt = self.cfg.mpls_in_ipsec_tunnel_type
        if ch.new is not None and any(t.tunnel_type == tt for t in ch.new.attrs.tunnels):
            if addr not in self._red_loopbacks_seen:
                self._red_loopbacks_seen.add(addr)
                self.spoof_watch.add_red(addr)
        elif ch.new is None and addr in self._red_loopbacks_seen:
            self._red_loopbacks_seen.discard(addr)
            self.spoof_watch.remove_red(addr)


def _vrf_order(key: tuple[str, IPNetwork]) -> tuple[str, int, int, int]:
    """(VRF, family, address, length): ints, which compare in C (networks do not)."""
    net = key[1]
    return key[0], net.version, int(net.network_address), net.prefixlen
