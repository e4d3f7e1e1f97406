"""The write loop as a pipeline: back-pressure on BGP's reader, and order kept across rounds."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from controller.app.desired import VpnRoute
from controller.app.switchsync import SwitchSync
from controller.config import Config
from controller.p4rt import P4RuntimeClient

from .test_desired import state

pytestmark = pytest.mark.unit
ip, net = ipaddress.ip_address, ipaddress.ip_network
REMOTE = ip("198.51.100.12")  # the tunnel endpoint test_desired.state() gives an SA


def remote_route(i: int, label: int = 300) -> VpnRoute:
    return VpnRoute("blue", net(f"10.{50 + i // 256}.{i % 256}.0/24"), label, False, REMOTE)


async def vrf_routes(switch: P4RuntimeClient) -> list[str]:
    return sorted(
        t
        for t in await switch.dump_tables()
        if t.startswith("vrf_fib_v4 ") and " ipv4_dst=10.5" in t
    )


async def until(cond: object, what: str, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if cond():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_room_holds_the_reader_until_a_round_takes_the_backlog(
    switch: P4RuntimeClient, cpe_config: Config
) -> None:
    d = state(cpe_config)
    sync = SwitchSync(d, lambda: switch, lambda: True, backlog_limit=3)
    sync.hold_deletes = False
    await sync.write_state()
    for i in range(8):
        d.set_route(remote_route(i))
    assert d.backlog() == 8
    reader = asyncio.create_task(sync.room())
    await asyncio.sleep(0.1)
    assert not reader.done()  # no round has taken anything yet: BGP waits
    loop = asyncio.create_task(sync.run())
    try:
        await asyncio.wait_for(reader, 2.0)
        assert d.backlog() == 0
        await until(lambda: sync.writer.totals["insert"] >= 8, "the round")
        assert len(await vrf_routes(switch)) == 8
    finally:
        loop.cancel()


async def test_room_never_waits_without_a_switch(cpe_config: Config) -> None:
    d = state(cpe_config)
    sync = SwitchSync(d, lambda: None, lambda: True, backlog_limit=1)
    for i in range(5):
        d.set_route(remote_route(i))
    # BGP must go on reading (keepalives) while the switch is away
    await asyncio.wait_for(sync.room(), 0.5)
    assert d.backlog() > 1


async def test_room_never_waits_while_rounds_are_full(
    switch: P4RuntimeClient, cpe_config: Config
) -> None:
    d = state(cpe_config)
    sync = SwitchSync(d, lambda: switch, lambda: True, backlog_limit=1)
    for i in range(5):
        d.set_route(remote_route(i))
    assert sync.hold_deletes  # after a start: every round reads the switch, rebuilds all
    await asyncio.wait_for(sync.room(), 0.5)


async def test_changes_during_a_round_end_in_order(
    switch: P4RuntimeClient, cpe_config: Config
) -> None:
    d = state(cpe_config)
    sync = SwitchSync(d, lambda: switch, lambda: True)
    sync.hold_deletes = False
    await sync.write_state()
    loop = asyncio.create_task(sync.run())
    try:
        for i in range(300):
            d.set_route(remote_route(i))
        sync.wake()
        for _ in range(100_000):  # turn by turn: catch the round just after its take
            if not d.backlog():
                break
            await asyncio.sleep(0)
        assert sync.writer.totals["rounds"] == 1  # the start-up round only: this one is on
        # while that round's Writes are in flight: one route goes, another changes twice
        d.remove_route("blue", net("10.50.0.0/24"))
        d.set_route(remote_route(1, label=301))
        d.set_route(remote_route(1, label=302))
        sync.wake()
        await until(lambda: d.backlog() == 0 and sync.writer.totals["rounds"] >= 3, "rounds")
        await until(lambda: sync.writer.totals["delete"] >= 1, "the delete")
        held = await vrf_routes(switch)
        assert len(held) == 299
        assert not any("10.50.0.0/24" in t for t in held)
        one = [t for t in held if "10.50.1.0/24" in t]
        assert len(one) == 1 and "302" in one[0], one
    finally:
        loop.cancel()
