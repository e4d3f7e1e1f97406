"""The pipeline's ARP/NS answers (arp_reply, nd_reply) follow the neighbours we know."""

from __future__ import annotations

import ipaddress

import pytest

from controller.app.desired import DesiredState, Neighbour
from controller.config import Config, parse
from controller.p4rt import P4RuntimeClient, TableEntry

pytestmark = pytest.mark.unit
ip = ipaddress.ip_address
MACS = {
    1: "02:00:00:00:01:01",
    2: "02:00:00:00:01:02",
    3: "02:00:00:00:01:03",
    4: "02:00:00:00:01:04",
}
HOST = "02:bb:00:00:00:10"


def replies(d: DesiredState) -> list[TableEntry]:
    return [e for e in d.entries() if e.table in ("arp_reply", "nd_reply")]


def test_one_answer_per_known_neighbour_and_our_address_of_its_family(cpe_config: Config) -> None:
    d = DesiredState(cpe_config, MACS)
    assert replies(d) == []  # nobody known yet: every request goes to the controller
    d.neighbours |= {
        Neighbour(ip("10.1.1.10"), HOST, 1),
        Neighbour(ip("2001:db8:1:1::10"), HOST, 1),
        Neighbour(ip("fe80::10"), HOST, 1),  # an NS from the host's link-local address
        Neighbour(ip("203.0.113.1"), "02:aa:00:00:00:01", 3),  # the black gateway
    }
    got = {
        (e.table, e.match["port"], e.match["sender_ip"], e.match["target_ip"]) for e in replies(d)
    }
    assert got == {
        ("arp_reply", 1, "10.1.1.10", "10.1.1.1"),
        ("nd_reply", 1, "2001:db8:1:1::10", "2001:db8:1:1::1"),
        ("nd_reply", 1, "fe80::10", "2001:db8:1:1::1"),
        ("arp_reply", 3, "203.0.113.1", "203.0.113.2"),
    }
    nd = next(e for e in replies(d) if e.table == "nd_reply")
    assert nd.match["vrf_id"] == 1 and nd.match["sender_mac"] == HOST
    assert nd.params == {"my_mac": MACS[1], "router": 1}  # the tenants' router: R set
    black = next(e for e in replies(d) if e.match["port"] == 3)
    assert black.match["vrf_id"] == 0 and black.params == {"my_mac": MACS[3]}


def test_black_ports_answer_nd_as_a_host_and_subinterfaces_are_left_to_us(
    cpe_text: str,
) -> None:
    text = cpe_text.replace(
        "address: 203.0.113.2/30}",
        'address: [203.0.113.2/30, "2001:db8:ff::2/64"]}\n'
        "    - {port: 4, name: blue7, role: red, vrf: blue, vlan: 7, address: 10.7.0.1/24}",
    )
    d = DesiredState(parse(text, "c"), MACS)
    d.neighbours |= {
        Neighbour(ip("2001:db8:ff::1"), "02:aa:00:00:00:01", 3),
        Neighbour(ip("10.7.0.9"), HOST, 4),
    }
    (only,) = replies(d)
    assert only.table == "nd_reply" and only.match["target_ip"] == "2001:db8:ff::2"
    assert only.params == {"my_mac": MACS[3], "router": 0}


async def test_unchanged_neighbours_write_nothing_and_a_new_mac_replaces_the_entry(
    switch: P4RuntimeClient, cpe_config: Config
) -> None:
    d = DesiredState(cpe_config, MACS)
    d.neighbours.add(Neighbour(ip("10.1.1.10"), HOST, 1))
    first = await switch.reconcile(d.entries(), [TableEntry("*")])
    assert first.counts["insert"] == len(d.entries())
    again = await switch.reconcile(d.entries(), [TableEntry("*")])
    assert again.counts == {"insert": 0, "modify": 0, "delete": 0}
    d.neighbours = {Neighbour(ip("10.1.1.10"), "02:bb:00:00:00:99", 1)}
    tables = [t for t in await switch.dump_tables() if t.startswith("arp_reply")]
    assert len(tables) == 1 and "sender_mac=02:bb:00:00:00:10" in tables[0]
    await switch.reconcile(d.entries(), [TableEntry("*")])
    tables = [t for t in await switch.dump_tables() if t.startswith("arp_reply")]
    assert len(tables) == 1 and "sender_mac=02:bb:00:00:00:99" in tables[0]
