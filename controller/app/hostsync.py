"""What the hosts around the switch tell the desired state: neighbours and routes.

Red side: tenant hosts are learned from their ARP/NS/NA, punted to us as
packet-ins, and forgotten (after being asked again) when no longer heard
(``redhosts.py``). Black side: the kernel carries ARP/ND on the black TAPs,
so its neighbour and route tables are read every second and mirrored.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable

from controller.app.desired import BlackRoute, DesiredState, Neighbour
from controller.app.hostports import HostPorts
from controller.app.redhosts import RedHosts
from controller.p4rt import P4RuntimeClient

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class HostSync:
    def __init__(
        self,
        state: DesiredState,
        host: HostPorts,
        control_peers: dict[str, IPAddress],
        client: Callable[[], P4RuntimeClient | None],
        wake: Callable[[], None],
    ) -> None:
        self.state, self.host = state, host
        self.control_peers = control_peers  # their red addresses are reached through SAs
        self._client, self._wake = client, wake
        self.red_hosts = RedHosts(state.neighbours)

    def known_hosts(self) -> set[IPAddress]:
        return {ip for _, ip in self.red_hosts.seen}

    async def packet_ins(self) -> None:
        while True:
            client = self._client()
            if client is None:
                await asyncio.sleep(0.1)
                continue
            try:
                pkt = await client.packet_in(timeout=1.0)
            except TimeoutError:
                continue
            port = int(pkt.metadata.get("ingress_port", -1))
            reason = int(pkt.metadata.get("reason", 0))
            for ip, mac in self.host.packet_in(port, reason, pkt.payload):
                self._learn_red(port, ip, mac)

    def _learn_red(self, port: int, ip: IPAddress, mac: str) -> None:
        if self.red_hosts.learn(port, ip, mac, asyncio.get_running_loop().time()):
            self._wake()

    def _age_red(self) -> None:
        changed, probe = self.red_hosts.age(asyncio.get_running_loop().time())
        for ip in probe:
            self.host.solicit(ip)
        if changed:
            self._wake()

    async def kernel_sync(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # read each time: an RR's discovered C-PEs come and go (controller/app/discovery.py)
            red_addrs = set(self.control_peers.values())
            neigh, routes = await loop.run_in_executor(None, self.host.read_kernel)
            black = {
                Neighbour(n.ip, n.mac, port)
                for n in neigh
                if (port := self.host.black_port_of(n.dev)) is not None and n.ip not in red_addrs
            }
            broutes = {
                BlackRoute(r.prefix, port, r.gateway)
                for r in routes
                if (port := self.host.black_port_of(r.dev)) is not None
                and r.prefix.network_address not in red_addrs
            }
            red_now = {n for n in self.state.neighbours if n.port not in self.host.black_ports}
            if black | red_now != self.state.neighbours or broutes != self.state.black_routes:
                # In place: the red-host table shares this set.
                self.state.neighbours.intersection_update(black | red_now)
                self.state.neighbours.update(black)
                self.state.black_routes = broutes
                self._wake()
            self._age_red()
            for _vrf, gateway, _prefix, nh in self.state.static_next_hops():
                if nh is None:
                    self.host.solicit(gateway)  # a tenant router we have not heard yet
            await asyncio.sleep(1.0)
