"""The incremental writer leaves the switch exactly where a full reconciliation would."""

from __future__ import annotations

import ipaddress

import pytest

from controller.app.desired import TABLE_ORDER, SaPair, VpnRoute
from controller.app.writer import SwitchWriter
from controller.config import Config
from controller.p4rt import P4RuntimeClient, TableEntry

from .test_desired import state

pytestmark = pytest.mark.unit
ip, net = ipaddress.ip_address, ipaddress.ip_network


async def full_diff_is_empty(switch: P4RuntimeClient, entries: list[TableEntry]) -> bool:
    plan = await switch.reconcile(entries, [TableEntry("*")], order=TABLE_ORDER)
    return plan.updates == []


async def test_incremental_rounds_match_full_reconciliation(
    switch: P4RuntimeClient, cpe_config: Config
) -> None:
    d = state(cpe_config)
    w = SwitchWriter(TABLE_ORDER)
    first = await w.write(switch, d)
    assert first["insert"] == len(d.entries())
    assert await w.write(switch, d) == {"insert": 0, "modify": 0, "delete": 0}
    # A route moves to a new label, another arrives, the SA is rekeyed, one route leaves.
    d.set_route(VpnRoute("blue", net("10.2.2.0/24"), 201, False, ip("198.51.100.12")))
    d.set_route(VpnRoute("blue", net("10.3.3.0/24"), 300, False, ip("198.51.100.12")))
    d.set_sa("198.51.100.12", None, SaPair(4, 3))
    counts = await w.write(switch, d)
    # vrf_fib modify + tunnel_sa modify; new route insert; inbound_sa delete + insert
    assert counts == {"insert": 2, "modify": 2, "delete": 1}
    assert await full_diff_is_empty(switch, d.entries())
    d.remove_route("blue", net("10.3.3.0/24"))
    assert (await w.write(switch, d))["delete"] == 1
    assert await full_diff_is_empty(switch, d.entries())


async def test_held_deletes_keep_stale_entries_until_released(
    switch: P4RuntimeClient, cpe_config: Config
) -> None:
    d = state(cpe_config)
    w = SwitchWriter(TABLE_ORDER)
    await w.write(switch, d)
    d.remove_route("blue", net("10.2.2.0/24"))
    held = await w.write(switch, d, hold_deletes=True)
    assert held["delete"] == 0 and w.totals["held_rounds"] == 1
    assert any("10.2.2.0/24" in t for t in await switch.dump_tables())
    released = await w.write(switch, d)
    assert released["delete"] == 4  # route, tunnel, tunnel_sa, inbound_sa
    assert not any("10.2.2.0/24" in t for t in await switch.dump_tables())
