"""Desired switch state from config, kernel neighbours, BGP routes and SAs, written to p4sim."""

from __future__ import annotations

import ipaddress

import pytest

from controller.app.desired import (
    TABLE_ORDER,
    BlackRoute,
    ControlPeer,
    DesiredState,
    Neighbour,
    SaPair,
    VpnRoute,
)
from controller.app.desired.adopt import switch_tunnels
from controller.config import Config, parse
from controller.p4rt import P4RuntimeClient, TableEntry

pytestmark = pytest.mark.unit
ip = ipaddress.ip_address
net = ipaddress.ip_network
MACS = {1: "02:00:00:00:01:01", 2: "02:00:00:00:01:02", 3: "02:00:00:00:01:03"}


def state(cfg: Config) -> DesiredState:
    d = DesiredState(cfg, MACS)
    d.neighbours.add(Neighbour(ip("203.0.113.1"), "02:aa:00:00:00:01", 3))
    d.neighbours.add(Neighbour(ip("10.1.1.10"), "02:bb:00:00:00:10", 1))
    d.black_routes.add(BlackRoute(net("0.0.0.0/0"), 3, ip("203.0.113.1")))
    d.set_route(VpnRoute("blue", net("10.1.1.0/24"), 100, local=True))
    d.set_route(VpnRoute("blue", net("10.2.2.0/24"), 200, False, ip("198.51.100.12")))
    d.set_sa("198.51.100.12", None, SaPair(out_index=2, in_index=1))
    return d


async def write(switch: P4RuntimeClient, d: DesiredState) -> dict[str, int]:
    plan = await switch.reconcile(d.entries(), [TableEntry("*")], order=TABLE_ORDER)
    return plan.counts


async def test_state_is_accepted_by_the_switch_and_reads_back(
    switch: P4RuntimeClient, cpe_config: Config
) -> None:
    d = state(cpe_config)
    counts = await write(switch, d)
    assert counts["insert"] == len(d.entries()) and counts["delete"] == 0
    tables = "\n".join(await switch.dump_tables())
    for want in (
        "port_role port=1 -> set_red_port(vrf_id=1)",
        "port_role port=3 -> set_black_port()",
        "egress_port_role port=3 -> egress_black()",
        "my_black_v4 ipv4_dst=198.51.100.11 -> my_loopback()",
        "my_black_v4 ipv4_dst=203.0.113.2 -> my_address()",
        "black_fib_v4 -> set_black_nexthop_id(nexthop_id=1)",  # /0: wildcard
        "vrf_fib_v4 vrf_id=1 ipv4_dst=10.2.2.0/24 -> route_remote(label=200, tunnel_id=1)",
        "tunnel_sa tunnel_id=1 -> set_outbound_sa(sa_index=2)",
        "inbound_sa_v4 sa_index=1 ipv4_src=198.51.100.12 -> inbound_sa_ok(tunnel_id=1)",
        "vpn_label label=100 -> set_label_vrf(vrf_id=1)",
        "vrf_fib_v4 vrf_id=1 ipv4_dst=10.1.1.10/32 -> route_local(nexthop_id=1)",
        "vrf_fib_v6 vrf_id=1 ipv6_dst=2001:db8:1:1::1/128 -> route_to_cpu()",
        # the pipeline answers ARP for our addresses from the neighbours we know
        "arp_reply port=3 vrf_id=0 target_ip=203.0.113.2 sender_ip=203.0.113.1 "
        "sender_mac=02:aa:00:00:00:01 -> arp_answer(my_mac=02:00:00:00:01:03)",
        "arp_reply port=1 vrf_id=1 target_ip=10.1.1.1 sender_ip=10.1.1.10 "
        "sender_mac=02:bb:00:00:00:10 -> arp_answer(my_mac=02:00:00:00:01:01)",
    ):
        assert want in tables, want
    assert "dst_addr=198.51.100.12" in tables and "mtu=1452" in tables
    # Nothing changed: nothing is written (what a restarted daemon relies on).
    again = await write(switch, state(cpe_config))
    assert again == {"insert": 0, "modify": 0, "delete": 0}


async def test_route_without_sa_is_kept_out_and_sa_change_is_one_modify(
    switch: P4RuntimeClient, cpe_config: Config
) -> None:
    d = state(cpe_config)
    d.set_sa("198.51.100.12", None, None)
    await write(switch, d)
    tables = "\n".join(await switch.dump_tables())
    assert "route_remote" not in tables and "tunnel " not in tables
    d.set_sa("198.51.100.12", None, SaPair(2, 1))
    await write(switch, d)
    # A rekey moves the tunnel to new SAs: tunnel_sa modified, inbound entry replaced.
    d.set_sa("198.51.100.12", None, SaPair(4, 3))
    counts = await write(switch, d)
    assert counts == {"insert": 1, "modify": 1, "delete": 1}
    tables = "\n".join(await switch.dump_tables())
    assert "tunnel_sa tunnel_id=1 -> set_outbound_sa(sa_index=4)" in tables


async def test_withdrawn_route_and_lost_neighbour_are_deleted(
    switch: P4RuntimeClient, cpe_config: Config
) -> None:
    d = state(cpe_config)
    await write(switch, d)
    d.remove_route("blue", net("10.2.2.0/24"))
    d.neighbours.discard(Neighbour(ip("203.0.113.1"), "02:aa:00:00:00:01", 3))
    counts = await write(switch, d)
    # route, tunnel, tunnel_sa, inbound_sa; black nexthop, host route, default route,
    # and the pipeline's ARP answer to that neighbour
    assert counts == {"insert": 0, "modify": 0, "delete": 8}
    tables = "\n".join(await switch.dump_tables())
    assert "black_fib" not in tables and "tunnel" not in tables
    assert "sender_ip=203.0.113.1" not in tables


async def test_transport_mode_control_sa_entries_are_accepted(
    switch: P4RuntimeClient, cpe_text: str
) -> None:
    """Draft 3.2 transport mode: BGP between the black loopbacks through the control SA;
    the guard (TCP 179 either way, any address) and the black neighbour's bypass."""
    cfg = parse(
        cpe_text.replace('psk: "test key"}', 'psk: "k"}, control_sa: {mode: transport}'), "c"
    )
    d = state(cfg)
    rr_black = "198.51.100.1"
    d.control[ip("10.255.0.1")] = ControlPeer(
        ip("10.255.0.1"), SaPair(6, 5, outer=ip(rr_black)), ip("10.255.0.11"), ip(rr_black)
    )
    await write(switch, d)
    tables = "\n".join(await switch.dump_tables())
    assert (
        f"inbound_sa_v4 sa_index=5 ipv4_src={rr_black} "
        "-> inbound_sa_control_v4(local_addr=198.51.100.11)"
    ) in tables
    spd = [ln for ln in tables.splitlines() if ln.startswith("spd_v")]
    assert sum("spd_protect(sa_index=6)" in ln and rr_black in ln for ln in spd) == 2
    assert (
        sum("spd_discard" in ln and "l4_" in ln and "ipv" not in ln.split("->")[0] for ln in spd)
        == 4
    )
    assert sum("spd_bypass" in ln and "203.0.113.1" in ln for ln in spd) == 2


@pytest.mark.parametrize(
    ("rr", "local"), [("10.255.0.1", "10.255.0.11"), ("2001:db8:ff::1", "2001:db8:ff::11")]
)
async def test_control_sa_protects_bgp_to_the_red_rr(
    switch: P4RuntimeClient, cpe_config: Config, rr: str, local: str
) -> None:
    d = state(cpe_config)
    d.control[ip(rr)] = ControlPeer(ip(rr), SaPair(6, 5, more_in=(7,)), ip(local))
    await write(switch, d)
    tables = "\n".join(await switch.dump_tables())
    assert "spd_protect(sa_index=6)" in tables
    # Its inbound entries name the SA's kind: the data plane lets only BGP from the RR's
    # red address to our red loopback through it (RFC 4301 5.2), and no MPLS.
    v = ip(rr).version
    for index in (5, 7):
        want = (
            f"inbound_sa_v{v} sa_index={index} ipv{v}_src={rr} "
            f"-> inbound_sa_control_v{v}(local_addr={local})"
        )
        assert want in tables
    inbound = [e for e in d.entries() if e.table.startswith("inbound_sa_")]
    assert {e.action for e in inbound} == {"inbound_sa_ok", f"inbound_sa_control_v{v}"}
    # A restarted daemon adopting these entries sees one tunnel, not a control "tunnel".
    held = [e for e in await switch.read([TableEntry("*")]) if isinstance(e, TableEntry)]
    assert set(switch_tunnels(held)) == {1}


def test_overlapping_tenants_use_their_own_vrf_ids(cpe_config: Config) -> None:
    d = DesiredState(cpe_config, MACS)
    fib = [e for e in d.entries() if e.table == "vrf_fib_v4"]
    assert {e.match["vrf_id"] for e in fib if e.match["ipv4_dst"] == "10.1.1.0/24"} == {1, 2}


def test_lazy_mode_sends_first_packets_to_the_cpu(cpe_config: Config) -> None:
    lazy = cpe_config.model_copy(deep=True)
    assert lazy.ike is not None
    lazy.ike.sa_mode = "lazy"
    d = state(lazy)
    d.set_sa("198.51.100.12", None, None)
    fib = {(e.match["ipv4_dst"], e.action) for e in d.entries() if e.table == "vrf_fib_v4"}
    assert ("10.2.2.0/24", "route_to_cpu") in fib
    assert d.lookup("blue", ip("10.2.2.7")) == d.routes[("blue", net("10.2.2.0/24"))]
    assert d.lookup("green", ip("10.2.2.7")) is None
    d.set_sa("198.51.100.12", None, SaPair(2, 1))
    fib = {(e.match["ipv4_dst"], e.action) for e in d.entries() if e.table == "vrf_fib_v4"}
    assert ("10.2.2.0/24", "route_remote") in fib and ("10.2.2.0/24", "route_to_cpu") not in fib


def test_static_route_via_tenant_router_follows_its_neighbour(cpe_config: Config) -> None:
    cfg = cpe_config.model_copy(deep=True)
    from controller.config.vpn import LocalRoute

    cfg.vrfs[0].routes.append(LocalRoute(prefix=net("172.20.0.0/16"), next_hop=ip("10.1.1.254")))
    d = DesiredState(cfg, MACS)
    assert [x[3] for x in d.static_next_hops()] == [None]
    assert not [e for e in d.entries() if e.match.get("ipv4_dst") == "172.20.0.0/16"]
    d.neighbours.add(Neighbour(ip("10.1.1.254"), "02:cc:00:00:00:fe", 1))
    # The same address learned on a port of another VRF does not count.
    d.neighbours.add(Neighbour(ip("10.1.1.254"), "02:dd:00:00:00:fe", 2))
    route = next(e for e in d.entries() if e.match.get("ipv4_dst") == "172.20.0.0/16")
    nh = route.params["nexthop_id"]
    red_nh = next(
        e for e in d.entries() if e.table == "red_nexthop" and e.match["nexthop_id"] == nh
    )
    assert (route.match["vrf_id"], red_nh.params["dst_mac"]) == (1, "02:cc:00:00:00:fe")


async def test_tenant_hosts_are_found_again_in_a_running_switch(
    switch: P4RuntimeClient, cpe_config: Config
) -> None:
    from controller.app.redhosts import hosts_in_fib

    d = state(cpe_config)
    d.neighbours.add(Neighbour(ip("2001:db8:1:1::10"), "02:bb:00:00:00:11", 1))
    d.neighbours.add(Neighbour(ip("10.1.1.20"), "02:bb:00:00:00:20", 2))
    await write(switch, d)
    read = await switch.read([TableEntry("vrf_fib_v4"), TableEntry("vrf_fib_v6")])
    found = hosts_in_fib([e for e in read if isinstance(e, TableEntry)])
    # the red hosts only: not the gateway's own address, subnets or remote routes
    assert sorted(map(str, found)) == ["10.1.1.10", "10.1.1.20", "2001:db8:1:1::10"]


async def test_peer_behind_nat_is_sent_to_and_accepted_from_its_nat(
    switch: P4RuntimeClient, cpe_config: Config
) -> None:
    """Transport-mode ESP keeps the outer header: the tunnel's destination and the
    source the pipeline accepts are the NAT's public address, not the black loopback."""
    d = state(cpe_config)
    d.set_sa("198.51.100.12", None, SaPair(2, 1, (3,), outer=ip("203.0.113.9")))
    await write(switch, d)
    tables = "\n".join(await switch.dump_tables())
    assert "dst_addr=203.0.113.9" in tables and "dst_addr=198.51.100.12" not in tables
    for index in (1, 3):
        want = f"inbound_sa_v4 sa_index={index} ipv4_src=203.0.113.9 -> inbound_sa_ok(tunnel_id=1)"
        assert want in tables
    assert "ipv4_src=198.51.100.12" not in tables
    # the VRF route still names the tunnel of the peer's black loopback
    assert "ipv4_dst=10.2.2.0/24 -> route_remote(label=200, tunnel_id=1)" in tables
