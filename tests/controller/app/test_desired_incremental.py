"""The incremental desired state never drifts from the full rebuild.

For random sequences of route, SA, neighbour, black-route and control-SA
changes, with write rounds at random points: the entries obtained by applying
every ``changes()`` to what was there before equal ``keyed()``, the full
rebuild from the inputs alone. Then the same against p4sim with the writer.
"""

from __future__ import annotations

import ipaddress
import logging
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.app.desired import TABLE_ORDER, DesiredState, Key, SaPair, VpnRoute
from controller.app.writer import SwitchWriter
from controller.config import Config, parse
from controller.p4rt import P4RuntimeClient, TableEntry
from controller.p4rt.errors import P4RuntimeClientError

from .conftest import CPE
from .desired_events import random_event
from .test_desired import MACS

pytestmark = pytest.mark.unit
ip, net = ipaddress.ip_address, ipaddress.ip_network
EAGER = parse(CPE, "cpe1.yml")
LAZY = parse(CPE.replace('ike: {auth: {psk: "test key"}}', "ike: {auth: {psk: k}, sa_mode: lazy}"))


def apply(mirror: dict[Key, TableEntry], changes: dict[Key, TableEntry | None]) -> None:
    for key, entry in changes.items():
        if entry is None:
            mirror.pop(key, None)
        else:
            mirror[key] = entry


@settings(max_examples=300, deadline=None)
@given(data=st.data(), lazy=st.booleans())
def test_incremental_changes_equal_the_full_rebuild(data: st.DataObject, lazy: bool) -> None:
    assert LAZY.ike is not None and LAZY.ike.sa_mode == "lazy"
    d = DesiredState(LAZY if lazy else EAGER, MACS)
    mirror: dict[Key, TableEntry] = {}
    apply(mirror, d.changes())
    assert mirror == d.keyed()
    steps = data.draw(st.integers(1, 40), label="steps")
    for _ in range(steps):
        if data.draw(st.integers(0, 3), label="round?") == 0:  # a write round
            apply(mirror, d.changes())
            assert mirror == d.keyed()
            assert d.view() == mirror
        random_event(lambda seq: data.draw(st.sampled_from(seq)))(d)
    apply(mirror, d.changes())
    assert mirror == d.keyed()
    assert d.check()[1] == []


def test_one_route_change_is_one_entry(cpe_config: Config) -> None:
    d = DesiredState(cpe_config, MACS)
    d.set_sa("198.51.100.12", None, SaPair(2, 1))
    for i in range(1000):
        d.set_route(VpnRoute("blue", net(f"10.{100 + i // 256}.{i % 256}.0/24"), 200, False,
                             ip("198.51.100.12")))  # fmt: skip
    assert len(d.changes()) == len(d.keyed())
    d.set_route(VpnRoute("blue", net("10.100.7.0/24"), 201, False, ip("198.51.100.12")))
    (entry,) = d.changes().values()
    assert entry is not None and entry.params == {"label": 201, "tunnel_id": 1}
    d.remove_route("blue", net("10.100.8.0/24"))
    assert list(d.changes().values()) == [None]
    # The SA goes: every route leaves the FIB, and the tunnel with it.
    d.set_sa("198.51.100.12", None, None)
    gone = d.changes()
    assert len(gone) == 999 + 3 and set(gone.values()) == {None}


def test_check_finds_and_repairs_drift(cpe_config: Config) -> None:
    d = DesiredState(cpe_config, MACS)
    d.set_sa("198.51.100.12", None, SaPair(2, 1))
    d.set_route(VpnRoute("blue", net("10.2.2.0/24"), 200, False, ip("198.51.100.12")))
    d.changes()
    assert d.check()[1] == []
    # A bug's effect: a route changed behind the incremental path's back.
    d.routes[("blue", net("10.2.2.0/24"))] = VpnRoute(
        "blue", net("10.2.2.0/24"), 999, False, ip("198.51.100.12")
    )
    full, drift = d.check()
    assert len(drift) == 1 and full[drift[0]].params["label"] == 999
    assert d.view() == full and d.check()[1] == []


async def full_diff_is_empty(switch: P4RuntimeClient, d: DesiredState) -> bool:
    plan = await switch.reconcile(d.entries(), [TableEntry("*")], order=TABLE_ORDER)
    return plan.updates == []


@pytest.mark.parametrize("seed", range(4))
async def test_incremental_writes_leave_the_switch_as_a_full_write(
    switch: P4RuntimeClient, cpe_config: Config, seed: int
) -> None:
    rng = random.Random(seed)
    d = DesiredState(cpe_config, MACS)
    w = SwitchWriter(TABLE_ORDER, check_every=1e9)
    await w.write(switch, d)
    for _ in range(25):
        for _ in range(rng.randint(1, 6)):
            random_event(rng.choice)(d)
        await w.write(switch, d)
        assert await full_diff_is_empty(switch, d)
    assert w.totals["full_rounds"] == 1 and w.totals["checks"] == 0


async def test_periodic_check_writes_what_drifted(
    switch: P4RuntimeClient, cpe_config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    clock = [0.0]
    d = DesiredState(cpe_config, MACS)
    d.set_sa("198.51.100.12", None, SaPair(2, 1))
    d.set_route(VpnRoute("blue", net("10.2.2.0/24"), 200, False, ip("198.51.100.12")))
    w = SwitchWriter(TABLE_ORDER, check_every=60.0, clock=lambda: clock[0])
    await w.write(switch, d)
    d.routes[("blue", net("10.2.2.0/24"))] = VpnRoute(
        "blue", net("10.2.2.0/24"), 999, False, ip("198.51.100.12")
    )
    assert await w.write(switch, d) == {"insert": 0, "modify": 0, "delete": 0}  # not seen yet
    assert not w.check_due()
    clock[0] = 61.0
    assert w.check_due()
    with caplog.at_level(logging.WARNING, "sl3vpn.writer"):
        assert await w.write(switch, d) == {"insert": 0, "modify": 1, "delete": 0}
    assert "differed from a full rebuild in 1 entries" in caplog.text
    assert w.totals["checks"] == 1 and w.totals["drift"] == 1 and not w.check_due()
    assert await full_diff_is_empty(switch, d)


async def test_a_failed_round_loses_no_change(switch: P4RuntimeClient, cpe_config: Config) -> None:
    d = DesiredState(cpe_config, MACS)
    d.set_sa("198.51.100.12", None, SaPair(2, 1))
    w = SwitchWriter(TABLE_ORDER, check_every=1e9)
    await w.write(switch, d)
    good = VpnRoute("blue", net("10.2.2.0/24"), 200, False, ip("198.51.100.12"))
    bad = VpnRoute("blue", net("10.3.3.0/24"), 1 << 20, False, ip("198.51.100.12"))
    d.set_route(good)
    d.set_route(bad)  # a label wider than the pipeline's 20 bits: the round fails
    with pytest.raises(P4RuntimeClientError):
        await w.write(switch, d)
    d.remove_route(bad.vrf, bad.prefix)
    await w.write(switch, d)  # the good route, taken by the failed round, still arrives
    assert w.totals["full_rounds"] == 2
    assert any("10.2.2.0/24" in t for t in await switch.dump_tables())
    assert await full_diff_is_empty(switch, d)
