"""The switch state a C-PE or RR should hold, derived from what the daemon knows.

Inputs: the configuration (port roles, loopbacks, VRFs), what the kernel knows
about the black side (neighbours and routes on the black TAPs), what BGP says
each VRF prefix resolves to (``RouteEvent``), and which SA carries each tunnel
(the SA database's ``TunnelChange``). Output: the full list of table entries,
by P4 name (``p4src/README.md``), for ``P4RuntimeClient.reconcile``.

One small function per P4 control turns domain objects into entries. Ids for
tunnels and next hops come from :class:`IdPool`, so an entry that is still
right keeps its key and reconciliation leaves it alone.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from controller.app.ids import IdPool
from controller.config import Config
from controller.p4rt import TableEntry

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

PROTO_TCP = 6
BGP_PORT = 179
# Overhead the black side adds to an MPLS-in-IP packet after our outer header:
# ESP header 8 + IV 8 + pad/trailer up to 3+2 + ICV 16, plus UDP 8 for NAT-T, rounded up.
ESP_OVERHEAD = 48

# Write order: a later table may refer to entries of an earlier one.
TABLE_ORDER = (
    "port_role",
    "red_subif",
    "egress_port_role",
    "my_black_v4",
    "my_black_v6",
    "black_acl",
    "black_nexthop",
    "black_fib_v4",
    "black_fib_v6",
    "red_nexthop",
    "tunnel",
    "tunnel_sa",
    "inbound_sa_v4",
    "inbound_sa_v6",
    "vpn_label",
    "spd_v4",
    "spd_v6",
    "vrf_fib_v4",
    "vrf_fib_v6",
    "extranet",
)


@dataclass(frozen=True)
class Neighbour:
    """An L2 neighbour the kernel resolved on the TAP of a switch port."""

    ip: IPAddress
    mac: str
    port: int


@dataclass(frozen=True)
class BlackRoute:
    """A kernel route over a black TAP: ``gateway`` None means directly connected."""

    prefix: IPNetwork
    port: int
    gateway: IPAddress | None = None


@dataclass(frozen=True)
class VpnRoute:
    """A VRF prefix as BGP resolved it: local (``label`` is ours) or remote."""

    vrf: str
    prefix: IPNetwork
    label: int
    local: bool
    endpoint: IPAddress | None = None  # remote black loopback (Tunnel Egress Endpoint)
    tenant: str | None = None  # per-tenant SAs: which tenant's SA carries it


@dataclass(frozen=True)
class SaPair:
    """The SA indexes that currently carry a tunnel (from the SA database)."""

    out_index: int
    in_index: int
    # inbound indexes still accepted besides in_index (a rekey's new SA before the
    # outbound switch, the old one while it drains): the pipeline must not drop them
    more_in: tuple[int, ...] = ()
    # where the peer's SAs are: its black loopback, or its NAT's public address (RFC
    # 3948); transport-mode ESP goes there and comes back from there
    outer: IPAddress | None = None

    def inbound(self) -> tuple[int, ...]:
        return (self.in_index, *(i for i in self.more_in if i != self.in_index))


@dataclass(frozen=True)
class ControlPeer:
    """A red BGP neighbour whose session runs inside a control SA."""

    red_address: IPAddress
    sa: SaPair
    local_red: IPAddress


class DesiredState:
    """Everything the daemon wants in the switch; ``entries()`` renders it."""

    def __init__(self, cfg: Config, port_macs: dict[int, str]) -> None:
        self.cfg = cfg
        self.port_macs = port_macs
        self.vrf_ids = IdPool("VRF")
        for vrf in cfg.vrfs:
            if vrf.table_id is not None:
                self.vrf_ids.reserve(vrf.name, vrf.table_id)
        for vrf in cfg.vrfs:
            self.vrf_ids.get(vrf.name)
        self.tunnel_ids = IdPool("tunnel")
        self.red_nh_ids = IdPool("red next hop")
        self.black_nh_ids = IdPool("black next hop")
        self.neighbours: set[Neighbour] = set()
        self.black_routes: set[BlackRoute] = set()
        self.routes: dict[tuple[str, IPNetwork], VpnRoute] = {}
        self.sas: dict[tuple[str, str | None], SaPair] = {}  # (peer black addr, tenant)
        self.control: dict[IPAddress, ControlPeer] = {}
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

    # -- what changes -----------------------------------------------------------------------

    def set_route(self, route: VpnRoute) -> None:
        self.routes[(route.vrf, route.prefix)] = route

    def remove_route(self, vrf: str, prefix: IPNetwork) -> None:
        self.routes.pop((vrf, prefix), None)

    def set_sa(self, peer: str, tenant: str | None, pair: SaPair | None) -> None:
        if pair is None:
            self.sas.pop((peer, tenant), None)
        else:
            self.sas[(peer, tenant)] = pair

    # -- rendering --------------------------------------------------------------------------

    def entries(self) -> list[TableEntry]:
        out: list[TableEntry] = []
        for part in (
            self._ports(),
            self._my_black(),
            self._black_acl(),
            self._black_routing(),
            self._red_local(),
            self._vpn(),
            self._red_guard_spd(),
            self._control_spd(),
        ):
            out.extend(part)
        return out

    def _ports(self) -> Iterator[TableEntry]:
        for port in self.cfg.switch.ports:
            if port.role == "red":
                vrf_id = self.vrf_ids.get(port.vrf)
                if port.vlan is None:
                    yield TableEntry(
                        "port_role", {"port": port.port}, "set_red_port", {"vrf_id": vrf_id}
                    )
                else:
                    yield TableEntry(
                        "red_subif",
                        {"port": port.port, "vlan_id": port.vlan},
                        "set_subif_vrf",
                        {"vrf_id": vrf_id},
                    )
                yield TableEntry("egress_port_role", {"port": port.port}, "egress_red")
            elif port.role == "black":
                yield TableEntry("port_role", {"port": port.port}, "set_black_port")
                yield TableEntry("egress_port_role", {"port": port.port}, "egress_black")
        # A tagged-only red port is a trunk: untagged frames find no VRF (vrf_id 0).
        tagged = {p.port for p in self.cfg.switch.by_role("red") if p.vlan is not None}
        untagged = {p.port for p in self.cfg.switch.by_role("red") if p.vlan is None}
        for number in sorted(tagged - untagged):
            yield TableEntry("port_role", {"port": number}, "set_red_port", {"vrf_id": 0})

    def _my_black(self) -> Iterator[TableEntry]:
        mine: dict[IPAddress, str] = {}
        for port in self.cfg.switch.by_role("black"):
            for iface in port.address:
                mine[iface.ip] = "my_address"
        black = self.cfg.loopbacks.black
        if black is not None:
            mine[black] = "my_loopback"
        for addr, action in sorted(mine.items(), key=lambda kv: (kv[0].version, kv[0])):
            key = "ipv4_dst" if addr.version == 4 else "ipv6_dst"
            yield TableEntry(f"my_black_v{addr.version}", {key: str(addr)}, action)

    def _black_acl(self) -> Iterator[TableEntry]:
        for i, (src, proto, sport, dport) in enumerate(self.black_acl_punts):
            full = (1 << src.max_prefixlen) - 1
            match: dict[str, object] = {
                "to_us": (1, 1),
                "ip_proto": (proto, 0xFF),
                f"ipv{src.version}_src": (str(src), full),
            }
            if sport is not None:
                match["l4_sport"] = (sport, 0xFFFF)
            if dport is not None:
                match["l4_dport"] = (dport, 0xFFFF)
            yield TableEntry("black_acl", match, "acl_punt", priority=100 - i)

    def _black_nexthop(self, port: int, mac: str) -> tuple[int, TableEntry]:
        nh = self.black_nh_ids.get((port, mac))
        src = self.port_macs.get(port, "00:00:00:00:00:00")
        entry = TableEntry(
            "black_nexthop",
            {"nexthop_id": nh},
            "set_black_nexthop",
            {"port": port, "src_mac": src, "dst_mac": mac},
        )
        return nh, entry

    def _black_routing(self) -> Iterator[TableEntry]:
        black_ports = {p.port for p in self.cfg.switch.by_role("black")}
        nexthops: dict[int, TableEntry] = {}
        fib: dict[IPNetwork, int] = {}
        by_ip = {(n.ip, n.port): n for n in self.neighbours if n.port in black_ports}
        for n in by_ip.values():
            nh, entry = self._black_nexthop(n.port, n.mac)
            nexthops[nh] = entry
            fib[ipaddress.ip_network(n.ip)] = nh
        for route in sorted(self.black_routes, key=lambda r: (r.prefix.version, r.prefix)):
            if route.gateway is None or route.port not in black_ports:
                continue  # connected: covered by the neighbours' host entries
            gw = by_ip.get((route.gateway, route.port))
            if gw is None:
                continue  # the kernel has not resolved the gateway yet
            fib.setdefault(route.prefix, self._black_nexthop(gw.port, gw.mac)[0])
        live = {(n.port, n.mac) for n in by_ip.values()}
        for key in [k for k in self.black_nh_ids.held() if k not in live]:
            self.black_nh_ids.release(key)
        yield from (nexthops[k] for k in sorted(nexthops))
        for prefix, nh in sorted(fib.items(), key=lambda kv: (kv[0].version, kv[0])):
            key = "ipv4_dst" if prefix.version == 4 else "ipv6_dst"
            yield TableEntry(
                f"black_fib_v{prefix.version}",
                {key: str(prefix)},
                "set_black_nexthop_id",
                {"nexthop_id": nh},
            )

    def _red_local(self) -> Iterator[TableEntry]:
        """Tenant hosts on our red ports: host routes to learned neighbours, the
        connected subnets and our own red addresses go to the CPU (ARP/ICMP)."""
        red_ports = {p.port: p for p in self.cfg.switch.by_role("red") if p.vlan is None}
        for port in sorted(red_ports.values(), key=lambda p: p.port):
            vrf_id = self.vrf_ids.get(port.vrf)
            for iface in port.address:
                v = iface.version
                key = {"vrf_id": vrf_id, f"ipv{v}_dst": str(iface.ip)}
                yield TableEntry(f"vrf_fib_v{v}", key, "route_to_cpu")
                net = {"vrf_id": vrf_id, f"ipv{v}_dst": str(iface.network)}
                yield TableEntry(f"vrf_fib_v{v}", net, "route_to_cpu")
        seen: set[tuple[int, IPAddress]] = set()
        for n in sorted(self.neighbours, key=lambda n: (n.port, n.ip.version, n.ip, n.mac)):
            red = red_ports.get(n.port)
            if red is None or (n.port, n.ip) in seen:
                continue
            seen.add((n.port, n.ip))
            vrf_id = self.vrf_ids.get(red.vrf)
            nh = self.red_nh_ids.get((n.port, n.mac))
            yield TableEntry(
                "red_nexthop",
                {"nexthop_id": nh},
                "set_red_nexthop",
                {
                    "port": n.port,
                    "src_mac": self.port_macs.get(n.port, "00:00:00:00:00:00"),
                    "dst_mac": n.mac,
                    "vlan_id": 0,
                    "vrf_id": vrf_id,
                },
            )
            v = n.ip.version
            key = {"vrf_id": vrf_id, f"ipv{v}_dst": f"{n.ip}/{n.ip.max_prefixlen}"}
            yield TableEntry(f"vrf_fib_v{v}", key, "route_local", {"nexthop_id": nh})
        for static_vrf, _gw, prefix, static_nh in self.static_next_hops():
            if static_nh is not None:  # unresolved: a VRF miss until the tenant router answers
                v = prefix.version
                key = {"vrf_id": static_vrf, f"ipv{v}_dst": str(prefix)}
                yield TableEntry(f"vrf_fib_v{v}", key, "route_local", {"nexthop_id": static_nh})

    def static_next_hops(self) -> Iterator[tuple[int, IPAddress, IPNetwork, int | None]]:
        """Configured VRF routes via a tenant router: (vrf id, next hop, prefix, next-hop id)."""
        for vrf in self.cfg.vrfs:
            ports = {p.port for p in self.cfg.switch.by_role("red") if p.vrf == vrf.name}
            for route in vrf.routes:
                if route.next_hop is None:
                    continue
                found = next(
                    (n for n in sorted(self.neighbours, key=lambda n: (n.port, n.mac))
                     if n.ip == route.next_hop and n.port in ports),
                    None,
                )  # fmt: skip
                nh = self.red_nh_ids.get((found.port, found.mac)) if found else None
                yield self.vrf_ids.get(vrf.name), route.next_hop, route.prefix, nh

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

    def _vpn(self) -> Iterator[TableEntry]:
        black = self.cfg.loopbacks.black
        labels: dict[int, int] = {}
        tunnels: dict[tuple[str, str | None], int] = {}
        fib: list[TableEntry] = []
        for (vrf, prefix), route in sorted(
            self.routes.items(), key=lambda kv: (kv[0][0], kv[0][1].version, kv[0][1])
        ):
            vrf_id = self.vrf_ids.peek(vrf)
            if vrf_id is None:
                continue
            if route.local:
                labels[route.label] = vrf_id
                continue
            if route.endpoint is None or black is None:
                continue
            if route.endpoint.version != black.version:
                continue  # the pipeline's tunnel has one family for both ends
            tkey = (str(route.endpoint), route.tenant)
            if tkey not in self.sas:
                # No SA yet: never sent in the clear; a VRF miss, or (lazy) to the CPU.
                if self.lazy:
                    miss: dict[str, Any] = {
                        "vrf_id": vrf_id,
                        f"ipv{prefix.version}_dst": str(prefix),
                    }
                    fib.append(TableEntry(f"vrf_fib_v{prefix.version}", miss, "route_to_cpu"))
                continue
            tid = self.tunnel_ids.get(tkey)
            tunnels[tkey] = tid
            v = prefix.version
            fib.append(
                TableEntry(
                    f"vrf_fib_v{v}",
                    {"vrf_id": vrf_id, f"ipv{v}_dst": str(prefix)},
                    "route_remote",
                    {"label": route.label, "tunnel_id": tid},
                )
            )
        for key in [k for k in self.tunnel_ids.held() if k not in tunnels]:
            self.tunnel_ids.release(key)
        mtu = min((p.mtu for p in self.cfg.switch.by_role("black")), default=1500) - ESP_OVERHEAD
        for (peer, tenant), tid in sorted(tunnels.items(), key=lambda kv: kv[1]):
            assert black is not None
            sa = self.sas[(peer, tenant)]
            outer = str(sa.outer) if sa.outer is not None else peer
            action = f"set_tunnel_v{black.version}"
            params: dict[str, int | str | bytes] = {
                "src_addr": str(black),
                "dst_addr": outer,
                "mtu": mtu,
            }
            yield TableEntry("tunnel", {"tunnel_id": tid}, action, params)
            yield TableEntry(
                "tunnel_sa", {"tunnel_id": tid}, "set_outbound_sa", {"sa_index": sa.out_index}
            )
            v = black.version
            for in_index in sa.inbound():
                yield TableEntry(
                    f"inbound_sa_v{v}",
                    {"sa_index": in_index, f"ipv{v}_src": outer},
                    "inbound_sa_ok",
                    {"tunnel_id": tid},
                )
        for label, vrf_id in sorted(labels.items()):
            yield TableEntry("vpn_label", {"label": label}, "set_label_vrf", {"vrf_id": vrf_id})
        yield from fib

    def _red_guard_spd(self) -> Iterator[TableEntry]:
        """Red addresses never leave in the clear (draft 2, 3.1): SPD DISCARD under PROTECT.

        The controller's own traffic from a red loopback, or to a red BGP neighbour,
        goes out only through a control SA. Until that SA's PROTECT entries are
        written (they rank above these), such packets -- the first SYN of a red BGP
        session, say -- are dropped and counted as SPD_DISCARD instead of following
        black routing unencrypted.
        """
        lb = self.cfg.loopbacks
        sources = {a for a in (lb.red, *lb.tenants.values()) if a is not None}
        peers = {n.address for n in self.cfg.bgp.neighbors if n.type == "red"}
        for field, addrs in (("src", sources), ("dst", peers)):
            for addr in sorted(addrs, key=lambda a: (a.version, a)):
                v = addr.version
                full = (1 << addr.max_prefixlen) - 1
                yield TableEntry(
                    f"spd_v{v}", {f"ipv{v}_{field}": (str(addr), full)}, "spd_discard", priority=1
                )

    def _control_spd(self) -> Iterator[TableEntry]:
        """BGP to a red RR leaves through its control SA (tunnel mode, red inside)."""
        for red in sorted(self.control, key=lambda a: (a.version, a)):
            cp = self.control[red]
            v = red.version
            full = (1 << red.max_prefixlen) - 1
            for i, (sport, dport) in enumerate(((None, BGP_PORT), (BGP_PORT, None))):
                match: dict[str, object] = {
                    f"ipv{v}_src": (str(cp.local_red), full),
                    f"ipv{v}_dst": (str(red), full),
                    "ip_proto": (PROTO_TCP, 0xFF),
                }
                if sport is not None:
                    match["l4_sport"] = (sport, 0xFFFF)
                if dport is not None:
                    match["l4_dport"] = (dport, 0xFFFF)
                yield TableEntry(
                    f"spd_v{v}",
                    match,
                    "spd_protect",
                    {"sa_index": cp.sa.out_index},
                    priority=10 - i,
                )
            for in_index in cp.sa.inbound():
                yield TableEntry(
                    f"inbound_sa_v{v}",
                    {"sa_index": in_index, f"ipv{v}_src": str(red)},
                    "inbound_sa_ok",
                    {"tunnel_id": 0},
                )
