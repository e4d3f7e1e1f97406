"""Spoof attempts on black sessions: black routes that cover a red address (draft 3.1, 4).

Resolution (``resolve.py``) refuses a VPN route whose next hop resolves through
a black route. That alone leaves a spoof unseen whenever a red route wins the
lookup: a black copy of a red loopback route, or a covering black prefix such
as 10.255.0.0/24 while the red /32s are there. Draft 4 regards the existence of
such a black route as an attempt to spoof the egress C-PE, so it is reported
whether or not it would carry the traffic.

Red addresses we know: our own red loopbacks, the red loopbacks of red loopback
routes (MPLS-in-IPsec tunnel) in the red Loc-RIB, and the next hops of the VPN
routes we received (a VPN route may arrive before its red loopback route; its
next hop is red all the same). A spoof attempt is a black-session route, in the
black Loc-RIB or refused at import (a red loopback route on a black session is
ignored, draft 3.1), whose prefix matches at least one of them. Each new attempt
is logged as a warning naming the black neighbour and the prefix, and counted
per black neighbour; the attempts themselves are kept for ``show`` and metrics
until the route is withdrawn or covers no red address any more.

A default route (prefix length 0) is not reported: it claims no destination in
particular, and a provider's default route on a black session is ordinary. It
still gets no VPN route resolved through it: resolution calls that a SPOOF.
"""

from __future__ import annotations

import bisect
import ipaddress
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from controller.bgp.path import IPV4_UNICAST, IPV6_UNICAST, IPAddress, IPNetwork, Nlri, Path
from controller.bgp.resolve import resolution_address
from controller.bgp.rib import Rib

log = logging.getLogger(__name__)


@dataclass
class SpoofAttempt:
    """One black route that covers red addresses."""

    peer: IPAddress  # the black neighbour that advertised it
    prefix: IPNetwork
    covers: set[IPAddress] = field(default_factory=set)
    rejected: bool = False  # refused at import (never in the black Loc-RIB)

    def describe(self) -> str:
        return f"{self.prefix} from {self.peer}"


class SpoofWatch:
    """Keeps the set of red addresses and the black routes that cover them."""

    def __init__(self, black: Rib) -> None:
        self.black = black
        self.attempts: dict[tuple[IPAddress, IPNetwork], SpoofAttempt] = {}
        self.per_peer: Counter[IPAddress] = Counter()  # attempts detected, ever
        self._red: Counter[IPAddress] = Counter()  # reference counts
        self._sorted: dict[int, list[int]] = {4: [], 6: []}
        self._vpn_nh: dict[Nlri, tuple[IPAddress, ...]] = {}

    # ---- red addresses ----------------------------------------------------------------

    def add_red(self, addr: IPAddress) -> None:
        self._red[addr] += 1
        if self._red[addr] > 1:
            return
        bisect.insort(self._sorted[addr.version], int(addr))
        fam = IPV4_UNICAST if addr.version == 4 else IPV6_UNICAST
        for plen in range(addr.max_prefixlen, 0, -1):  # not /0: see the module docstring
            net = ipaddress.ip_network((addr, plen), strict=False)
            for p in self.black.paths(Nlri(fam, net)):
                if p.source.peer is not None:
                    self._note(p.source.peer, net, {addr}, rejected=False)
        for att in list(self.attempts.values()):
            if att.rejected and addr in att.prefix:
                att.covers.add(addr)

    def remove_red(self, addr: IPAddress) -> None:
        if self._red[addr] <= 0:
            return
        self._red[addr] -= 1
        if self._red[addr]:
            return
        del self._red[addr]
        ints = self._sorted[addr.version]
        del ints[bisect.bisect_left(ints, int(addr))]
        for key, att in list(self.attempts.items()):
            att.covers.discard(addr)
            if not att.covers:
                self._drop(key, "covers no red address any more")

    def vpn_paths(self, nlri: Nlri, paths: Iterable[Path]) -> None:
        """The received paths of one VPN destination now: their next hops are red."""
        nhs = tuple(
            sorted(
                {
                    resolution_address(p.attrs.next_hop)
                    for p in paths
                    if not p.source.local and p.attrs.next_hop is not None
                },
                key=lambda a: (a.version, int(a)),
            )
        )
        old = self._vpn_nh.get(nlri, ())
        if nhs == old:
            return
        if nhs:
            self._vpn_nh[nlri] = nhs
        else:
            del self._vpn_nh[nlri]
        for a in nhs:
            self.add_red(a)
        for a in old:
            self.remove_red(a)

    # ---- black routes -----------------------------------------------------------------

    def black_changed(self, nlri: Nlri) -> None:
        """The black paths for ``nlri`` changed: record or forget each neighbour's."""
        net = nlri.prefix
        peers = {p.source.peer for p in self.black.paths(nlri) if p.source.peer is not None}
        covers = self._covered(net)
        for peer in peers:
            if covers:
                self._note(peer, net, covers, rejected=False)
        for key, att in list(self.attempts.items()):
            if att.prefix == net and att.peer not in peers and not att.rejected:
                self._drop(key, "withdrawn")

    def rejected(self, peer: IPAddress, nlri: Nlri) -> None:
        """A black route refused at import (e.g. a red loopback route, draft 3.1)."""
        covers = self._covered(nlri.prefix)
        if covers:
            self._note(peer, nlri.prefix, covers, rejected=True)

    def withdrawn(self, peer: IPAddress, nlri: Nlri) -> None:
        """The black neighbour withdrew ``nlri``: forget it if it had been refused."""
        key = (peer, nlri.prefix)
        att = self.attempts.get(key)
        if att is not None and att.rejected:
            self._drop(key, "withdrawn")

    def peer_down(self, peer: IPAddress) -> None:
        """The session is gone: forget the refused routes (RIB ones go with the RIB)."""
        for key, att in list(self.attempts.items()):
            if att.peer == peer and att.rejected:
                self._drop(key, "session down")

    # ---- queries ----------------------------------------------------------------------

    def covering(self, addr: IPAddress) -> list[SpoofAttempt]:
        """The spoof attempts whose prefix matches ``addr`` (a red next hop)."""
        addr = resolution_address(addr)
        found = [a for a in self.attempts.values() if addr in a.covers]
        return sorted(found, key=lambda a: (-a.prefix.prefixlen, str(a.peer)))

    def of_peer(self, peer: IPAddress) -> list[SpoofAttempt]:
        found = [a for a in self.attempts.values() if a.peer == peer]
        return sorted(found, key=lambda a: (a.prefix.version, a.prefix))

    def is_red(self, addr: IPAddress) -> bool:
        return addr in self._red

    # ---- internals --------------------------------------------------------------------

    def _covered(self, net: IPNetwork) -> set[IPAddress]:
        if net.prefixlen == 0:
            return set()  # a default route: see the module docstring
        ints = self._sorted[net.version]
        lo = bisect.bisect_left(ints, int(net.network_address))
        hi = bisect.bisect_right(ints, int(net.broadcast_address))
        cls = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
        return {cls(i) for i in ints[lo:hi]}

    def _note(
        self, peer: IPAddress, net: IPNetwork, covers: set[IPAddress], rejected: bool
    ) -> None:
        key = (peer, net)
        att = self.attempts.get(key)
        if att is not None:
            att.covers |= covers
            att.rejected = rejected
            return
        self.attempts[key] = SpoofAttempt(peer, net, set(covers), rejected)
        self.per_peer[peer] += 1
        shown = ", ".join(str(a) for a in sorted(covers, key=int)[:4])
        more = f" and {len(covers) - 4} more" if len(covers) > 4 else ""
        log.warning(
            "SPOOF attempt: black neighbor %s advertises %s, which covers red address %s%s "
            "(draft section 4); %s",
            peer,
            net,
            shown,
            more,
            "refused at import" if rejected else "never used to resolve a VPN route",
        )

    def _drop(self, key: tuple[IPAddress, IPNetwork], why: str) -> None:
        att = self.attempts.pop(key)
        log.info("spoof attempt %s: %s", att.describe(), why)
