"""Tenant hosts the C-PE has heard on its red ports (sans I/O: time is passed in).

A host is learned from its ARP/NS/NA (``hostif.red``); a new MAC for the same
(port, address) replaces the old one at once (a replaced NIC, a failover). A
host not heard for ``ttl`` seconds is forgotten; during the last
``probe_window`` seconds it is asked again (ARP/NS) every ``probe_every``
seconds, so a live host that only receives traffic stays known.
"""

from __future__ import annotations

import ipaddress

from controller.app.desired import Neighbour
from controller.p4rt import TableEntry

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RedHosts:
    def __init__(
        self,
        neighbours: set[Neighbour],
        ttl: float = 600.0,
        probe_window: float = 60.0,
        probe_every: float = 10.0,
    ) -> None:
        self.neighbours = neighbours  # shared with the desired state
        self.ttl, self.probe_window, self.probe_every = ttl, probe_window, probe_every
        self.seen: dict[tuple[int, IPAddress], tuple[str, float]] = {}
        self._probed: dict[tuple[int, IPAddress], float] = {}

    def learn(self, port: int, ip: IPAddress, mac: str, now: float) -> bool:
        """Record a sighting; True if the neighbour set changed."""
        old = self.seen.get((port, ip))
        self.seen[(port, ip)] = (mac, now)
        self._probed.pop((port, ip), None)
        if old is not None and old[0] == mac:
            return False
        if old is not None:
            self.neighbours.discard(Neighbour(ip, old[0], port))
        self.neighbours.add(Neighbour(ip, mac, port))
        return True

    def age(self, now: float) -> tuple[bool, list[IPAddress]]:
        """Forget the silent; return (changed, addresses to ask again)."""
        changed, probe = False, []
        for key, (mac, seen) in list(self.seen.items()):
            silent = now - seen
            if silent > self.ttl:
                del self.seen[key]
                self._probed.pop(key, None)
                self.neighbours.discard(Neighbour(key[1], mac, key[0]))
                changed = True
            elif (
                silent > self.ttl - self.probe_window
                and now - self._probed.get(key, float("-inf")) >= self.probe_every
            ):
                self._probed[key] = now
                probe.append(key[1])
        return changed, probe


def hosts_in_fib(entries: list[TableEntry]) -> list[IPAddress]:
    """Tenant hosts a switch forwards to (host routes to a red next hop), e.g. one left
    running by our previous life: asking them again re-learns them before the stale
    entries may be deleted."""
    out: list[IPAddress] = []
    for e in entries:
        if not (e.table.startswith("vrf_fib_v") and (e.action or "").endswith("route_local")):
            continue
        for name, value in e.match.items():
            if not name.endswith(("ipv4_dst", "ipv6_dst")) or not isinstance(value, tuple):
                continue
            addr, plen = value
            if not isinstance(addr, int) or not isinstance(plen, int):
                continue
            v6 = name.endswith("ipv6_dst")
            ip = ipaddress.IPv6Address(addr) if v6 else ipaddress.IPv4Address(addr)
            if plen == ip.max_prefixlen:
                out.append(ip)
    return out
