"""Extranet by explicit policy (draft section 7): configuration → extranet and leaked
local routes, written to p4sim's P4Runtime server; the configuration checks."""

from __future__ import annotations

import ipaddress

import pytest

from controller.app.desired import TABLE_ORDER, DesiredState, Neighbour
from controller.config import ConfigError, parse
from controller.p4rt import P4RuntimeClient, TableEntry

pytestmark = pytest.mark.unit
ip = ipaddress.ip_address
MACS = {1: "02:00:00:00:01:01", 2: "02:00:00:00:01:02", 3: "02:00:00:00:01:03"}


@pytest.fixture
def green(cpe_text: str) -> str:
    """The app tests' C-PE with green on its own subnet and a static route via a router."""
    text = cpe_text.replace(
        "{port: 2, name: green0, role: red, vrf: green, address: 10.1.1.1/24}",
        "{port: 2, name: green0, role: red, vrf: green, address: 10.2.0.1/24}",
    ).replace(
        'export: ["65000:2"], table_id: 2}',
        'export: ["65000:2"], table_id: 2,\n'
        "     routes: [{prefix: 10.2.9.0/24, next_hop: 10.2.0.254}]}",
    )
    assert "10.2.0.1/24" in text and "10.2.9.0/24" in text
    return text


POLICY = "extranet:\n  - {from: blue, to: green, prefixes: [10.2.0.0/16]}\n"


def state(text: str) -> DesiredState:
    d = DesiredState(parse(text, "cpe1.yml"), MACS)
    d.neighbours.add(Neighbour(ip("10.1.1.10"), "02:bb:00:00:00:10", 1))  # blue host
    d.neighbours.add(Neighbour(ip("10.2.0.20"), "02:cc:00:00:00:20", 2))  # green host
    d.neighbours.add(Neighbour(ip("10.2.0.254"), "02:cc:00:00:00:fe", 2))  # green router
    return d


async def tables(switch: P4RuntimeClient, d: DesiredState) -> list[str]:
    await switch.reconcile(d.entries(), [TableEntry("*")], order=TABLE_ORDER)
    return await switch.dump_tables()


async def test_policy_allows_one_direction_with_leaked_local_routes(
    switch: P4RuntimeClient, green: str
) -> None:
    d = state(green + POLICY)
    got = await tables(switch, d)
    nh_host = d.red_nh_ids.get((2, "02:cc:00:00:00:20"))
    nh_router = d.red_nh_ids.get((2, "02:cc:00:00:00:fe"))
    for want in (
        "extranet src_vrf_id=1 dst_vrf_id=2 -> extranet_allow()",
        f"vrf_fib_v4 vrf_id=1 ipv4_dst=10.2.0.20/32 -> route_local(nexthop_id={nh_host})",
        f"vrf_fib_v4 vrf_id=1 ipv4_dst=10.2.9.0/24 -> route_local(nexthop_id={nh_router})",
        # green's own entries for the same next hops, unchanged
        f"vrf_fib_v4 vrf_id=2 ipv4_dst=10.2.0.20/32 -> route_local(nexthop_id={nh_host})",
    ):
        assert want in got, want
    # Nothing the other way: green's hosts do not get blue's.
    assert not any(line.startswith("extranet src_vrf_id=2") for line in got)
    assert not any("vrf_id=2 ipv4_dst=10.1.1.10/32" in line for line in got)


async def test_without_policy_nothing_crosses(switch: P4RuntimeClient, green: str) -> None:
    got = await tables(switch, state(green))
    assert not any(line.startswith("extranet ") for line in got)
    assert not any("vrf_id=1 ipv4_dst=10.2." in line for line in got)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("[{from: blue, to: red, prefixes: [10.2.0.0/16]}]", "extranet[0].to: VRF 'red' is not"),
        ("[{from: blue, to: blue, prefixes: [10.1.1.0/24]}]", "extranet[0]: from and to are"),
        (
            "[{from: blue, to: green, prefixes: [10.1.0.0/16]}]",
            "extranet[0].prefixes[0]: 10.1.0.0/16 overlaps blue's own 10.1.1.0/24",
        ),
        (
            "[{from: blue, to: green, prefixes: [10.3.0.0/24]}]",
            "extranet[0].prefixes[0]: 10.3.0.0/24 reaches no subnet or route of VRF green",
        ),
        ("[{from: blue, to: green, prefixes: []}]", "extranet[0].prefixes: List should have"),
    ],
)
def test_policy_mistakes_are_one_line_errors(green: str, policy: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(green + f"extranet: {policy}\n", "cpe1.yml")
    lines = err.value.lines()
    assert any(expected in line for line in lines), lines
    assert all("\n" not in line and line.startswith("cpe1.yml:") for line in lines)
