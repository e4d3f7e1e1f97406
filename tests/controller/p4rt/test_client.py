"""The asyncio client against a strict in-test P4Runtime server over real gRPC."""

from __future__ import annotations

import asyncio
import logging

import pytest
from finsy.proto import p4i

from controller.p4rt import (
    MulticastGroup,
    NotPrimaryError,
    P4RuntimeClient,
    PacketOut,
    RegisterEntry,
    Replica,
    RpcError,
    TableEntry,
    WriteError,
)

from .fake_switch import FakeSwitch

pytestmark = pytest.mark.unit


def route(vrf: int, net: str, label: int, tunnel: int = 1) -> TableEntry:
    return TableEntry(
        "vrf_fib", {"vrf": vrf, "dst": net}, "push_label", {"label": label, "tunnel": tunnel}
    )


async def wait_for(predicate: object, timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


@pytest.fixture
async def client(fake: tuple[FakeSwitch, str], p4info: p4i.P4Info):  # type: ignore[no-untyped-def]
    _, address = fake
    cli = P4RuntimeClient(address, device_id=1, election_id=10, backoff=(0.02, 0.1))
    await cli.connect(timeout=5)
    await cli.set_pipeline(p4info, b"device-config", cookie=7)
    try:
        yield cli
    finally:
        await cli.close()


async def test_pipeline_and_capabilities(client: P4RuntimeClient, fake, p4info) -> None:  # type: ignore[no-untyped-def]
    switch, _ = fake
    assert client.is_primary
    assert await client.capabilities() == "1.4.0"
    assert switch.device_config == b"device-config"
    config = await client.get_pipeline()
    assert config.p4info == p4info


async def test_insert_read_and_canonical_strings(client: P4RuntimeClient) -> None:
    await client.insert(
        [
            route(2, "10.1.0.0/16", 100, 3),
            route(1, "10.1.0.0/16", 200, 4),
            TableEntry("acl", {"proto": (6, 0xFF), "dport": (179, 179)}, "punt", priority=10),
        ]
    )
    await client.modify([TableEntry("vrf_fib", action="drop", is_default=True)])
    got = sorted(client.entry_string(x) for x in await client.read([TableEntry("vrf_fib")]))
    assert got == [
        "vrf_fib vrf=1 dst=10.1.0.0/16 -> push_label(label=200, tunnel=4)",
        "vrf_fib vrf=2 dst=10.1.0.0/16 -> push_label(label=100, tunnel=3)",
    ]
    everything = await client.read([TableEntry("*")])
    assert len(everything) == 3
    default = await client.read([TableEntry("vrf_fib", is_default=True)])
    assert [client.entry_string(x) for x in default] == ["vrf_fib default -> drop()"]
    await client.delete([route(2, "10.1.0.0/16", 100, 3)])
    assert len(await client.read([TableEntry("vrf_fib")])) == 1


async def test_write_error_lists_each_failed_update(client: P4RuntimeClient) -> None:
    await client.insert([route(1, "10.0.0.0/8", 1)])
    with pytest.raises(WriteError) as info:
        await client.insert([route(1, "10.0.0.0/8", 1), route(1, "10.9.0.0/16", 2)])
    err = info.value
    assert err.total == 2
    assert [str(f) for f in err.failures] == [
        "#0 INSERT vrf_fib vrf=1 dst=10.0.0.0/8 -> push_label(label=1, tunnel=1): "
        "ALREADY_EXISTS: entry exists"
    ]
    assert "\n" not in str(err)
    # The good update of the batch went in (CONTINUE_ON_ERROR).
    assert len(await client.read([TableEntry("vrf_fib")])) == 2
    with pytest.raises(WriteError, match=r"DELETE vrf_fib vrf=7 .*NOT_FOUND"):
        await client.delete([route(7, "10.0.0.0/8", 1)])


async def test_batches_split_and_report_global_indices(client: P4RuntimeClient) -> None:
    client.batch_size = 3
    await client.insert([route(1, f"10.{i}.0.0/16", i) for i in range(7)])
    assert len(await client.read([TableEntry("vrf_fib")])) == 7
    with pytest.raises(WriteError) as info:
        await client.insert(
            [
                route(1, "10.99.0.0/16", 1),
                route(1, "10.98.0.0/16", 1),
                route(1, "10.97.0.0/16", 1),
                route(1, "10.5.0.0/16", 5),
            ]
        )
    assert [f.index for f in info.value.failures] == [3]


async def test_reconcile_writes_only_the_difference(client: P4RuntimeClient, fake) -> None:  # type: ignore[no-untyped-def]
    switch, _ = fake
    desired = [route(1, f"10.{i}.0.0/16", i) for i in range(20)]
    scope = [TableEntry("vrf_fib")]
    plan = await client.reconcile(desired, scope)
    assert plan.counts == {"insert": 20, "modify": 0, "delete": 0}
    before = switch.write_count
    plan = await client.reconcile(desired, scope)
    assert plan.updates == [] and plan.unchanged == 20
    assert switch.write_count == before  # nothing written when in sync
    desired[3] = route(1, "10.3.0.0/16", 333)
    del desired[0]
    plan = await client.reconcile(desired, scope)
    assert plan.counts == {"insert": 0, "modify": 1, "delete": 1}
    got = {client.entry_string(x) for x in await client.read(scope)}
    assert got == {client.entry_string(x) for x in desired}


async def test_registers_and_multicast(client: P4RuntimeClient) -> None:
    await client.modify([RegisterEntry("sa_seq", 2, 5)])
    assert await client.read([RegisterEntry("sa_seq")]) == [RegisterEntry("sa_seq", 2, 5)]
    await client.insert([MulticastGroup(1, [Replica(1), Replica(2)])])
    await client.modify([MulticastGroup(1, [Replica(3)])])
    assert await client.read([MulticastGroup(0)]) == [MulticastGroup(1, [Replica(3)])]


async def test_packet_out_and_in(client: P4RuntimeClient, fake) -> None:  # type: ignore[no-untyped-def]
    switch, _ = fake
    await client.packet_out(PacketOut(b"\x01\x02", {"egress_port": 5, "mode": 0}))
    pkt = await client.packet_in(timeout=5)
    assert pkt.payload == b"\x01\x02"
    assert pkt.metadata == {"ingress_port": 5, "reason": 7}
    assert switch.packet_outs[0].metadata[0].value == b"\x05"


async def test_primaryship_moves_to_higher_election_id(
    client: P4RuntimeClient,
    fake,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    _, address = fake
    events: list[bool] = []
    client.on_primary(events.append)
    other = P4RuntimeClient(address, device_id=1, election_id=20)
    await other.connect(timeout=5)
    try:
        await wait_for(lambda: not client.is_primary)
        assert events == [False]
        assert client.status is not None
        assert (client.status.code, client.status.highest) == ("ALREADY_EXISTS", 20)
        assert "lost primaryship: backup: election id 20 is primary (ours 10)" in caplog.text
        with pytest.raises(RpcError, match="PERMISSION_DENIED"):
            await client.insert([route(1, "10.0.0.0/8", 1)])
        with pytest.raises(NotPrimaryError):
            await client.packet_out(PacketOut(b"x", {"egress_port": 1}))
    finally:
        await other.close()
    # Spec 5.3: the primary left, nobody is promoted; the backup hears NOT_FOUND
    # carrying the highest id seen, and must re-arbitrate with one >= it.
    await wait_for(lambda: client.status is not None and client.status.code == "NOT_FOUND")
    assert client.status.highest == 20 and not client.is_primary
    assert events == [False]
    with pytest.raises(NotPrimaryError, match=r"no primary .* id >= 20 \(ours 15\)"):
        # below election_id_past: still nobody is primary (and the error says what it takes)
        await client.arbitrate(15, timeout=5)
    status = await client.arbitrate(20, timeout=5)
    assert status.code == "OK" and client.is_primary and client.election_id == 20
    assert events == [False, True]
    await client.insert([route(1, "10.0.0.0/8", 1)])  # writes carry the new id


async def test_arbitrate_takes_over_from_a_live_primary(
    client: P4RuntimeClient, fake, p4info: p4i.P4Info
) -> None:  # type: ignore[no-untyped-def]
    _, address = fake
    other = P4RuntimeClient(address, device_id=1, election_id=20)
    other_events: list[bool] = []
    other.on_primary(other_events.append)
    await other.connect(timeout=5)
    try:
        await wait_for(lambda: not client.is_primary)
        status = await client.arbitrate(21, timeout=5)
        assert (status.code, status.highest) == ("OK", 21)
        await wait_for(lambda: not other.is_primary)
        assert other_events == [True, False]
        assert other.status is not None and other.status.code == "ALREADY_EXISTS"
        await client.insert([route(1, "10.0.0.0/8", 1)])
        with pytest.raises(RpcError, match="PERMISSION_DENIED"):
            other.use_pipeline(p4info)
            await other.insert([route(1, "10.1.0.0/16", 1)])
    finally:
        await other.close()


async def test_arbitrate_with_an_id_in_use_is_refused_and_reverted(
    client: P4RuntimeClient, fake
) -> None:  # type: ignore[no-untyped-def]
    _, address = fake
    other = P4RuntimeClient(address, device_id=1, election_id=20)
    await other.connect(timeout=5)
    try:
        await wait_for(lambda: not client.is_primary)
        with pytest.raises(NotPrimaryError, match=r"election id 20 refused: INVALID_ARGUMENT"):
            await client.arbitrate(20, timeout=5)
        # The refused id is dropped: the stream reconnects with 10 as a backup.
        assert client.election_id == 10
        await wait_for(lambda: client.status is not None and client.status.highest == 20)
        assert other.is_primary and not client.is_primary
    finally:
        await other.close()


async def test_primary_downgrading_itself_leaves_no_primary(client: P4RuntimeClient) -> None:
    events: list[bool] = []
    client.on_primary(events.append)
    status = await client.arbitrate(3, timeout=5, require_primary=False)
    assert (status.code, status.highest) == ("NOT_FOUND", 10)
    assert events == [False] and not client.is_primary
    assert "arbitrate with an election id >= 10 (ours 3)" in status.describe(3)
    await client.arbitrate(10, timeout=5)
    assert events == [False, True]


async def test_arbitrate_before_connect_fails_clearly() -> None:
    cli = P4RuntimeClient("127.0.0.1:1")
    with pytest.raises(NotPrimaryError, match="arbitrate before connect"):
        await cli.arbitrate(5)


async def test_backup_client_connects_without_primaryship(client: P4RuntimeClient, fake) -> None:  # type: ignore[no-untyped-def]
    _, address = fake
    backup = P4RuntimeClient(address, device_id=1, election_id=5)
    with pytest.raises(NotPrimaryError, match="no primary within"):
        await backup.connect(timeout=0.3)
    backup = P4RuntimeClient(address, device_id=1, election_id=5)
    await backup.connect(timeout=5, require_primary=False)
    assert not backup.is_primary
    await backup.close()


async def test_reconnects_after_stream_loss(client: P4RuntimeClient, fake, caplog) -> None:  # type: ignore[no-untyped-def]
    switch, _ = fake
    events: list[bool] = []
    client.on_primary(events.append)
    switch.kick_all_streams()
    await wait_for(lambda: events == [False, True])
    assert client.is_primary
    await client.insert([route(1, "10.0.0.0/8", 1)])
    # a switch that answered and then dropped the stream is worth a warning
    assert any(
        r.levelno == logging.WARNING and "reconnecting" in r.getMessage() for r in caplog.records
    )


async def test_a_switch_still_starting_is_not_a_warning(caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="controller.p4rt")
    cli = P4RuntimeClient("127.0.0.1:1", backoff=(0.01, 0.05))
    with pytest.raises(NotPrimaryError):
        await cli.connect(timeout=0.3)
    refusals = [r for r in caplog.records if "reconnecting" in r.getMessage()]
    assert refusals and all(r.levelno == logging.INFO for r in refusals)


async def test_connect_to_nothing_fails_clearly() -> None:
    cli = P4RuntimeClient("127.0.0.1:1", backoff=(0.01, 0.05))
    with pytest.raises(NotPrimaryError, match=r"127\.0\.0\.1:1 device 1: no arbitration answer"):
        await cli.connect(timeout=0.3)


async def test_switch_restart_reconnects_and_tells_the_app(
    p4info: p4i.P4Info, unused_tcp_port: int
) -> None:
    from .fake_switch import start_fake

    address = f"127.0.0.1:{unused_tcp_port}"
    first = FakeSwitch()
    server, _ = await start_fake(first, address)
    cli = P4RuntimeClient(address, device_id=1, election_id=4, backoff=(0.02, 0.2))
    events: list[bool] = []
    cli.on_primary(events.append)
    try:
        await cli.connect(timeout=5)
        await cli.set_pipeline(p4info, b"cfg")
        await cli.insert([route(1, "10.0.0.0/8", 1)])
        await server.stop(None)
        await wait_for(lambda: events == [True, False])
        # The switch comes back empty: the client re-arbitrates by itself, and the
        # application (told through on_primary) pushes pipeline and state again.
        second = FakeSwitch()
        server, _ = await start_fake(second, address)
        await wait_for(lambda: events == [True, False, True])
        await cli.set_pipeline(p4info, b"cfg")
        plan = await cli.reconcile([route(1, "10.0.0.0/8", 1)], [TableEntry("vrf_fib")])
        assert plan.counts["insert"] == 1
        assert await cli.dump_tables() == [
            "vrf_fib vrf=1 dst=10.0.0.0/8 -> push_label(label=1, tunnel=1)"
        ]
    finally:
        await cli.close()
        await server.stop(None)


async def test_a_failing_listener_does_not_break_the_stream(
    client: P4RuntimeClient,
    fake,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    switch, _ = fake

    def broken(primary: bool) -> None:
        raise RuntimeError("listener bug")

    client.on_primary(broken)
    switch.kick_all_streams()
    await wait_for(lambda: "primaryship listener failed" in caplog.text)
    await wait_for(lambda: client.is_primary)
    await client.insert([route(1, "10.0.0.0/8", 1)])


async def test_reconcile_refuses_entries_outside_its_scope(client: P4RuntimeClient) -> None:
    from controller.p4rt import P4ValueError

    with pytest.raises(P4ValueError, match="table vrf_fib has desired entries but is not in scope"):
        await client.reconcile([route(1, "10.0.0.0/8", 1)], [TableEntry("tunnel")])
    with pytest.raises(
        P4ValueError, match="multicast_group_entry entries desired but not in scope"
    ):
        await client.reconcile([MulticastGroup(1, [Replica(1)])], [TableEntry("*")])
    plan = await client.reconcile(
        [MulticastGroup(1, [Replica(1)]), route(1, "10.0.0.0/8", 1)],
        [TableEntry("*"), MulticastGroup(0)],
    )
    assert plan.counts == {"insert": 2, "modify": 0, "delete": 0}
