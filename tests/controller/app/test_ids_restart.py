"""A restarted daemon's ids: no switch entry ever points at another peer's tunnel or host.

The old daemon's state is written to p4sim; a new DesiredState and writer then
reconverge against it the way a daemon restarted with ``--keep-switch`` does
(deletes held, inputs arriving in another order). After every single Write RPC
the whole switch is read and each route is followed to where it sends packets.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

import pytest

from controller.app.desired import TABLE_ORDER, DesiredState, Neighbour, SaPair, VpnRoute
from controller.app.ids import IdPool
from controller.app.writer import SwitchWriter
from controller.config import Config, parse
from controller.p4rt import P4RuntimeClient, TableEntry

from .conftest import CPE
from .test_desired import MACS

pytestmark = pytest.mark.unit
ip, net = ipaddress.ip_address, ipaddress.ip_network

A, B, C = "198.51.100.12", "198.51.100.13", "198.51.100.14"
# (peer, tenant) -> SA pair; per-tenant SAs: A carries blue and green in separate SAs
SAS = {(A, "blue"): SaPair(2, 1), (A, "green"): SaPair(4, 3), (B, "blue"): SaPair(6, 5)}
ROUTES = {  # (VRF, prefix) -> (peer, tenant): blue and green both use 10.2.2.0/24
    ("blue", "10.2.2.0/24"): (A, "blue"),
    ("green", "10.2.2.0/24"): (A, "green"),
    ("blue", "10.3.3.0/24"): (B, "blue"),
}
# the same tenant address behind the blue and the green port (overlapping tenants)
BLUE_HOST = Neighbour(ip("10.1.1.10"), "02:bb:00:00:00:10", 1)
GREEN_HOST = Neighbour(ip("10.1.1.10"), "02:cc:00:00:00:10", 2)
VRF_IDS = {"blue": 1, "green": 2}  # table_id in the configuration


class Truth:
    """Where each route must send packets: its peer and tenant's SAs, or its host."""

    def __init__(self) -> None:
        self.routes: dict[tuple[int, str], tuple[str, str]] = {}
        self.sa_owner: dict[int, tuple[str, str]] = {}
        self.hosts: dict[tuple[int, str], tuple[int, str]] = {}

    def route(self, d: DesiredState, vrf: str, prefix: str, tkey: tuple[str, str]) -> None:
        self.routes[(VRF_IDS[vrf], prefix)] = tkey
        d.set_route(VpnRoute(vrf, net(prefix), 200, False, ip(tkey[0]), tenant=tkey[1]))

    def sa(self, d: DesiredState, tkey: tuple[str, str], pair: SaPair) -> None:
        for index in (pair.out_index, *pair.inbound()):
            self.sa_owner[index] = tkey
        d.set_sa(tkey[0], tkey[1], pair)

    def host(self, d: DesiredState, vrf: str, n: Neighbour) -> None:
        self.hosts[(VRF_IDS[vrf], f"{n.ip}/32")] = (n.port, n.mac)
        d.neighbours.add(n)

    async def leaks(self, switch: P4RuntimeClient) -> list[str]:
        """Every switch entry that would send packets to the wrong peer, tenant or host."""
        entries = [e for e in await switch.read([TableEntry("*")]) if isinstance(e, TableEntry)]
        tunnel = {e.match["tunnel_id"]: e.params for e in entries if e.table == "tunnel"}
        out_sa = {e.match["tunnel_id"]: e.params for e in entries if e.table == "tunnel_sa"}
        nexthop = {e.match["nexthop_id"]: e.params for e in entries if e.table == "red_nexthop"}
        bad: list[str] = []
        for e in entries:
            if e.table != "vrf_fib_v4":
                continue
            value, plen = e.match["ipv4_dst"]
            where = (e.match["vrf_id"], f"{ipaddress.IPv4Address(value)}/{plen}")
            if e.action == "route_remote":
                tid = e.params["tunnel_id"]
                want = self.routes.get(where)
                t, sa = tunnel.get(tid), out_sa.get(tid)
                if t is not None and str(ipaddress.IPv4Address(t["dst_addr"])) != want[0]:
                    bad.append(f"{where} -> tunnel {tid} to {t['dst_addr']}, not {want}")
                if sa is not None and self.sa_owner.get(sa["sa_index"]) != want:
                    bad.append(f"{where} -> tunnel {tid} SA {sa['sa_index']}, not {want}'s")
            elif e.action == "route_local" and where in self.hosts:
                nh = nexthop.get(e.params["nexthop_id"])
                mac = ":".join(f"{b:02x}" for b in nh["dst_mac"].to_bytes(6, "big")) if nh else ""
                if nh is not None and (nh["port"], mac) != self.hosts[where]:
                    bad.append(f"{where} -> next hop port {nh['port']} {mac}")
        return bad


def watch(switch: P4RuntimeClient, truth: Truth, seen: list[str]) -> None:
    """Check the whole switch after every Write RPC (what packets meet in between)."""
    write: Callable[..., Awaitable[None]] = switch.write

    async def checked(updates: object) -> None:
        await write(updates)
        seen.extend(await truth.leaks(switch))

    switch.write = checked  # type: ignore[method-assign]


def old_daemon(cfg: Config, truth: Truth) -> DesiredState:
    d = DesiredState(cfg, MACS)
    truth.host(d, "blue", BLUE_HOST)
    truth.host(d, "green", GREEN_HOST)
    for tkey, pair in SAS.items():
        truth.sa(d, tkey, pair)
    for (vrf, prefix), tkey in ROUTES.items():
        truth.route(d, vrf, prefix, tkey)
    return d


async def test_restart_keeps_ids_and_never_points_at_another_peer(
    switch: P4RuntimeClient, cpe_config: Config
) -> None:
    truth = Truth()
    old = old_daemon(cpe_config, truth)
    await SwitchWriter(TABLE_ORDER).write(switch, old)
    assert await truth.leaks(switch) == []
    seen: list[str] = []
    watch(switch, truth, seen)

    new, w = DesiredState(cpe_config, MACS), SwitchWriter(TABLE_ORDER)
    await w.write(switch, new, hold_deletes=True)  # started: nothing known yet
    for tkey, pair in SAS.items():  # the engine's inherited SAs
        truth.sa(new, tkey, pair)
    # BGP and the red ports come back in another order: green first
    truth.host(new, "green", GREEN_HOST)
    truth.route(new, "green", "10.2.2.0/24", (A, "green"))
    counts = await w.write(switch, new, hold_deletes=True)
    assert counts == {"insert": 0, "modify": 0, "delete": 0}  # all still right
    # a peer the old daemon did not know, and B
    truth.sa(new, (C, "blue"), SaPair(8, 7))
    truth.route(new, "blue", "10.4.4.0/24", (C, "blue"))
    truth.route(new, "blue", "10.3.3.0/24", (B, "blue"))
    await w.write(switch, new, hold_deletes=True)
    truth.host(new, "blue", BLUE_HOST)
    truth.route(new, "blue", "10.2.2.0/24", (A, "blue"))
    await w.write(switch, new, hold_deletes=True)
    await w.write(switch, new)  # converged: deletes released
    assert seen == [], seen
    for tkey in SAS:
        assert new.tunnel_ids.peek(tkey) == old.tunnel_ids.peek(tkey), tkey
    assert new.tunnel_ids.peek((C, "blue")) not in {old.tunnel_ids.peek(t) for t in SAS}
    for n in (BLUE_HOST, GREEN_HOST):
        assert new.red_nh_ids.peek((n.port, n.mac)) == old.red_nh_ids.peek((n.port, n.mac))
    plan = await switch.reconcile(new.entries(), [TableEntry("*")], order=TABLE_ORDER)
    assert plan.updates == []


async def test_a_tunnel_whose_sa_changed_never_takes_a_stale_id(
    switch: P4RuntimeClient, cpe_config: Config
) -> None:
    truth = Truth()
    old = old_daemon(cpe_config, truth)
    await SwitchWriter(TABLE_ORDER).write(switch, old)
    seen: list[str] = []
    watch(switch, truth, seen)
    new, w = DesiredState(cpe_config, MACS), SwitchWriter(TABLE_ORDER)
    await w.write(switch, new, hold_deletes=True)
    # A's blue SA was replaced (new CHILD_SA) before its route came back: nothing ties
    # it to its old tunnel, so it gets a new id; the old one stays until deleted.
    truth.sa(new, (A, "blue"), SaPair(10, 9))
    truth.route(new, "blue", "10.2.2.0/24", (A, "blue"))
    await w.write(switch, new, hold_deletes=True)
    stale = {old.tunnel_ids.peek(t) for t in SAS}
    assert new.tunnel_ids.peek((A, "blue")) not in stale
    # while deletes are held, a tunnel that goes away keeps its id from others
    gone = new.tunnel_ids.peek((A, "blue"))
    new.remove_route("blue", net("10.2.2.0/24"))
    truth.sa(new, (C, "blue"), SaPair(8, 7))
    truth.route(new, "blue", "10.4.4.0/24", (C, "blue"))
    await w.write(switch, new, hold_deletes=True)
    assert new.tunnel_ids.peek((C, "blue")) not in stale | {gone}
    await w.write(switch, new)
    assert seen == [], seen
    assert new.tunnel_ids.blocked() == set()  # settled: the switch holds only ours


def test_pool_blocks_adopted_ids_until_settled() -> None:
    pool = IdPool("tunnel")
    pool.adopt({1, 2, 4}, {"b": 2})
    assert pool.get("new") == 3
    assert pool.get("b") == 2  # its hint
    assert pool.get("c", prefer=2) == 5  # 2 is b's; 4 is blocked
    assert pool.get("d", prefer=4) == 4  # the caller knows 4 is d's
    pool.release("new")
    assert pool.get("e") == 6  # 3 may still be on the switch
    pool.settle()
    assert pool.get("f") == 1
    assert pool.get("g") == 3


def test_pool_frees_an_id_once_no_key_has_it() -> None:
    pool = IdPool("VRF")
    pool.reserve("a", 5)
    pool.reserve("b", 5)  # two keys, one id (e.g. a shared table id)
    pool.reserve("a", 5)
    pool.release("a")
    assert pool.get("c") == 1 and pool.peek("b") == 5
    pool.reserve("b", 7)  # b moves: 5 is free again
    assert [pool.get(k) for k in "defgh"] == [2, 3, 4, 5, 6]


def renumbered_configs() -> tuple[Config, Config]:
    """Before: blue, green by configuration order. After: a VRF red listed first."""
    base = CPE.replace(", table_id: 1", "").replace(", table_id: 2", "")
    red_port = "    - {port: 4, name: red0, role: red, vrf: red, address: 10.9.9.1/24}\n"
    red_vrf = '  - {name: red, rd: "65000:3", import: ["65000:3"], export: ["65000:3"]}\n'
    after = base.replace(
        "    - {port: 255, role: cpu}\n", red_port + "    - {port: 255, role: cpu}\n"
    )
    after = after.replace("vrfs:\n", "vrfs:\n" + red_vrf)
    return parse(base, "before.yml"), parse(after, "after.yml")


async def vrf_leaks(switch: P4RuntimeClient, prefixes: dict[str, set[str]]) -> list[str]:
    """A route or label of one VRF reachable from a port of another."""
    entries = [e for e in await switch.read([TableEntry("*")]) if isinstance(e, TableEntry)]
    port_vrf = {4: "red", 1: "blue", 2: "green"}
    ports_of: dict[int, set[str]] = {}
    for e in entries:
        if e.table == "port_role" and e.action == "set_red_port":
            ports_of.setdefault(e.params["vrf_id"], set()).add(port_vrf[e.match["port"]])
    bad = []
    for e in entries:
        if e.table == "vrf_fib_v4" and e.action == "route_remote":
            value, plen = e.match["ipv4_dst"]
            prefix = f"{ipaddress.IPv4Address(value)}/{plen}"
            for vrf in ports_of.get(e.match["vrf_id"], ()):
                if prefix not in prefixes[vrf]:
                    bad.append(f"{vrf}'s port meets {prefix} in VRF id {e.match['vrf_id']}")
    return bad


async def test_vrfs_renumbered_by_a_new_configuration_never_meet_stale_routes(
    switch: P4RuntimeClient,
) -> None:
    before, after = renumbered_configs()
    prefixes = {"blue": {"10.2.2.0/24"}, "green": {"10.5.5.0/24"}, "red": {"10.6.6.0/24"}}
    routes = [("blue", "10.2.2.0/24", A), ("green", "10.5.5.0/24", A), ("red", "10.6.6.0/24", B)]

    def fill(d: DesiredState) -> None:
        for vrf, prefix, peer in routes:
            if d.vrf_ids.peek(vrf) is not None:
                d.set_sa(peer, vrf, SaPair(len(d.sas) * 2 + 2, len(d.sas) * 2 + 1))
                d.set_route(VpnRoute(vrf, net(prefix), 200, False, ip(peer), tenant=vrf))

    old = DesiredState(before, MACS)
    fill(old)
    await SwitchWriter(TABLE_ORDER).write(switch, old)
    assert (old.vrf_ids.peek("blue"), old.vrf_ids.peek("green")) == (1, 2)
    seen: list[str] = []
    write: Callable[..., Awaitable[None]] = switch.write

    async def checked(updates: object) -> None:
        await write(updates)
        seen.extend(await vrf_leaks(switch, prefixes))

    switch.write = checked  # type: ignore[method-assign]
    new, w = DesiredState(after, MACS), SwitchWriter(TABLE_ORDER)
    assert new.vrf_ids.peek("blue") == 2  # by configuration order: green's old id
    await w.write(switch, new, hold_deletes=True)
    assert {v: new.vrf_ids.peek(v) for v in ("blue", "green", "red")} == {
        "blue": 1,
        "green": 2,
        "red": 3,
    }
    fill(new)
    await w.write(switch, new, hold_deletes=True)
    await w.write(switch, new)
    assert seen == [], seen
    plan = await switch.reconcile(new.entries(), [TableEntry("*")], order=TABLE_ORDER)
    assert plan.updates == []
