"""Entries of the node itself: ports, own addresses, black routing, red hosts, SPD.

These come from the configuration and from what the kernel and the red-port
responder learned (neighbours, black routes), plus the control SAs of the red
BGP sessions. One function per P4 control; each reads the state and yields
entries. They are small next to the VPN routes, so the incremental path simply
renders a part again when its inputs changed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from controller.app.desired.model import BGP_PORT, PROTO_TCP, IPAddress, IPNetwork
from controller.app.desired.view import StateView
from controller.p4rt import TableEntry

NO_MAC = "00:00:00:00:00:00"


def ports(st: StateView) -> Iterator[TableEntry]:
    for port in st.cfg.switch.ports:
        if port.role == "red":
            vrf_id = st.vrf_ids.get(port.vrf)
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
    tagged = {p.port for p in st.cfg.switch.by_role("red") if p.vlan is not None}
    untagged = {p.port for p in st.cfg.switch.by_role("red") if p.vlan is None}
    for number in sorted(tagged - untagged):
        yield TableEntry("port_role", {"port": number}, "set_red_port", {"vrf_id": 0})


def my_black(st: StateView) -> Iterator[TableEntry]:
    mine: dict[IPAddress, str] = {}
    for port in st.cfg.switch.by_role("black"):
        for iface in port.address:
            mine[iface.ip] = "my_address"
    black = st.black
    if black is not None:
        mine[black] = "my_loopback"
    for addr, action in sorted(mine.items(), key=lambda kv: (kv[0].version, kv[0])):
        key = "ipv4_dst" if addr.version == 4 else "ipv6_dst"
        yield TableEntry(f"my_black_v{addr.version}", {key: str(addr)}, action)


def black_acl(st: StateView) -> Iterator[TableEntry]:
    for i, (src, proto, sport, dport) in enumerate(st.black_acl_punts):
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


def _black_nexthop(st: StateView, port: int, mac: str) -> tuple[int, TableEntry]:
    nh = st.black_nh_ids.get((port, mac))
    entry = TableEntry(
        "black_nexthop",
        {"nexthop_id": nh},
        "set_black_nexthop",
        {"port": port, "src_mac": st.port_macs.get(port, NO_MAC), "dst_mac": mac},
    )
    return nh, entry


def black_routing(st: StateView) -> Iterator[TableEntry]:
    black_ports = {p.port for p in st.cfg.switch.by_role("black")}
    nexthops: dict[int, TableEntry] = {}
    fib: dict[IPNetwork, int] = {}
    by_ip = {(n.ip, n.port): n for n in st.neighbours if n.port in black_ports}
    for n in by_ip.values():
        nh, entry = _black_nexthop(st, n.port, n.mac)
        nexthops[nh] = entry
        fib[ipaddress.ip_network(n.ip)] = nh
    for route in sorted(st.black_routes, key=lambda r: (r.prefix.version, r.prefix)):
        if route.gateway is None or route.port not in black_ports:
            continue  # connected: covered by the neighbours' host entries
        gw = by_ip.get((route.gateway, route.port))
        if gw is None:
            continue  # the kernel has not resolved the gateway yet
        fib.setdefault(route.prefix, _black_nexthop(st, gw.port, gw.mac)[0])
    live = {(n.port, n.mac) for n in by_ip.values()}
    for key in [k for k in st.black_nh_ids.held() if k not in live]:
        st.black_nh_ids.release(key)
    yield from (nexthops[k] for k in sorted(nexthops))
    for prefix, nh in sorted(fib.items(), key=lambda kv: (kv[0].version, kv[0])):
        key = "ipv4_dst" if prefix.version == 4 else "ipv6_dst"
        yield TableEntry(
            f"black_fib_v{prefix.version}",
            {key: str(prefix)},
            "set_black_nexthop_id",
            {"nexthop_id": nh},
        )


def red_local(st: StateView) -> Iterator[TableEntry]:
    """Tenant hosts on our red ports: host routes to learned neighbours, the
    connected subnets and our own red addresses go to the CPU (ARP/ICMP)."""
    red_ports = {p.port: p for p in st.cfg.switch.by_role("red") if p.vlan is None}
    for port in sorted(red_ports.values(), key=lambda p: p.port):
        vrf_id = st.vrf_ids.get(port.vrf)
        for iface in port.address:
            v = iface.version
            # written as a prefix, so that a BGP route for the same /32 has the same key
            key = {"vrf_id": vrf_id, f"ipv{v}_dst": f"{iface.ip}/{iface.max_prefixlen}"}
            yield TableEntry(f"vrf_fib_v{v}", key, "route_to_cpu")
            net = {"vrf_id": vrf_id, f"ipv{v}_dst": str(iface.network)}
            yield TableEntry(f"vrf_fib_v{v}", net, "route_to_cpu")
    seen: set[tuple[int, IPAddress]] = set()
    for n in sorted(st.neighbours, key=lambda n: (n.port, n.ip.version, n.ip, n.mac)):
        red = red_ports.get(n.port)
        if red is None or (n.port, n.ip) in seen:
            continue
        seen.add((n.port, n.ip))
        vrf_id = st.vrf_ids.get(red.vrf)
        nh = st.red_nh_ids.get((n.port, n.mac))
        yield TableEntry(
            "red_nexthop",
            {"nexthop_id": nh},
            "set_red_nexthop",
            {
                "port": n.port,
                "src_mac": st.port_macs.get(n.port, NO_MAC),
                "dst_mac": n.mac,
                "vlan_id": 0,
                "vrf_id": vrf_id,
            },
        )
        v = n.ip.version
        key = {"vrf_id": vrf_id, f"ipv{v}_dst": f"{n.ip}/{n.ip.max_prefixlen}"}
        yield TableEntry(f"vrf_fib_v{v}", key, "route_local", {"nexthop_id": nh})
    for static_vrf, _gw, prefix, static_nh in static_next_hops(st):
        if static_nh is not None:  # unresolved: a VRF miss until the tenant router answers
            v = prefix.version
            key = {"vrf_id": static_vrf, f"ipv{v}_dst": str(prefix)}
            yield TableEntry(f"vrf_fib_v{v}", key, "route_local", {"nexthop_id": static_nh})


def static_next_hops(st: StateView) -> Iterator[tuple[int, IPAddress, IPNetwork, int | None]]:
    """Configured VRF routes via a tenant router: (vrf id, next hop, prefix, next-hop id)."""
    for vrf in st.cfg.vrfs:
        ports = {p.port for p in st.cfg.switch.by_role("red") if p.vrf == vrf.name}
        for route in vrf.routes:
            if route.next_hop is None:
                continue
            found = next(
                (n for n in sorted(st.neighbours, key=lambda n: (n.port, n.mac))
                 if n.ip == route.next_hop and n.port in ports),
                None,
            )  # fmt: skip
            nh = st.red_nh_ids.get((found.port, found.mac)) if found else None
            yield st.vrf_ids.get(vrf.name), route.next_hop, route.prefix, nh


def red_guard_spd(st: StateView) -> Iterator[TableEntry]:
    """Red BGP never leaves in the clear (draft 2, 3.1, 3.2): SPD DISCARD under PROTECT.

    The controller's own traffic from a red loopback, or to a red BGP neighbour,
    goes out only through a control SA. Until that SA's PROTECT entries are
    written (they rank above these), such packets -- the first SYN of a red BGP
    session, say -- are dropped and counted as SPD_DISCARD instead of following
    black routing unencrypted. In transport mode red sessions run between black
    addresses, which move: there every BGP packet (TCP port 179 either way) is
    discarded unless a control SA protects it or it goes to a black neighbour
    (bypass), whatever our address, so none leaks while a move is being written.
    """
    lb = st.cfg.loopbacks
    sources = {a for a in (lb.red, *lb.tenants.values()) if a is not None}
    peers = {n.address for n in st.cfg.bgp.neighbors if n.type == "red"}
    for field, addrs in (("src", sources), ("dst", peers)):
        for addr in sorted(addrs, key=lambda a: (a.version, a)):
            v = addr.version
            yield TableEntry(
                f"spd_v{v}", {f"ipv{v}_{field}": _host(addr)}, "spd_discard", priority=1
            )
    if not (st.control_transport and peers):
        return
    for v in (4, 6):
        for guard in _bgp_either_way(v):
            yield TableEntry(f"spd_v{v}", guard, "spd_discard", priority=2)
    blacks = [n.address for n in st.cfg.bgp.neighbors if n.type == "black"]
    for addr in sorted(blacks, key=lambda a: (a.version, a)):
        for black in _bgp_either_way(addr.version, dst=addr):
            yield TableEntry(f"spd_v{addr.version}", black, "spd_bypass", priority=3)


def _host(addr: IPAddress) -> tuple[str, int]:
    return (str(addr), (1 << addr.max_prefixlen) - 1)


def _bgp_either_way(
    v: int, src: IPAddress | None = None, dst: IPAddress | None = None
) -> Iterator[dict[str, object]]:
    """SPD matches for TCP port 179 (from ``src``, to ``dst``), as client and as server."""
    for sport, dport in ((None, BGP_PORT), (BGP_PORT, None)):
        match: dict[str, object] = {"ip_proto": (PROTO_TCP, 0xFF)}
        if src is not None:
            match[f"ipv{v}_src"] = _host(src)
        if dst is not None:
            match[f"ipv{v}_dst"] = _host(dst)
        if sport is not None:
            match["l4_sport"] = (sport, 0xFFFF)
        if dport is not None:
            match["l4_dport"] = (dport, 0xFFFF)
        yield match


def control_spd(st: StateView) -> Iterator[TableEntry]:
    """BGP to a red neighbour leaves through its control SA, and only BGP from it is let in.

    Tunnel mode: between the red loopbacks (red inside the SA). Transport mode
    (draft 3.2): between our black loopback and the peer's SA address.
    """
    for red in sorted(st.control, key=lambda a: (a.version, a)):
        cp = st.control[red]
        local, remote = (st.black, cp.peer_transport) if cp.peer_transport else (cp.local_red, red)
        if local is None or remote is None or local.version != remote.version:
            continue
        v = remote.version
        for i, match in enumerate(_bgp_either_way(v, local, remote)):
            yield TableEntry(
                f"spd_v{v}", match, "spd_protect", {"sa_index": cp.sa.out_index}, priority=10 - i
            )
        # The entry's action is the SA's kind (RFC 4301 5.2): the data plane lets
        # through this SA only BGP from the peer's session address to ours.
        for in_index in cp.sa.inbound():
            yield TableEntry(
                f"inbound_sa_v{v}",
                {"sa_index": in_index, f"ipv{v}_src": str(remote)},
                f"inbound_sa_control_v{v}",
                {"local_addr": str(local)},
            )
