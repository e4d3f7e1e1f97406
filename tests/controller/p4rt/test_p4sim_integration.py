"""The client against p4sim's real P4Runtime server, compiling a real P4 program.

``programs/small.p4`` has the table shapes of the C-PE, one of each extern, a
parser value set and packet I/O (a PacketOut comes back as a PacketIn). p4sim
compiles it, generates its P4Info and serves it over gRPC, so every request is
validated by the target the product runs on.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from finsy.proto import p4i

from controller.p4rt import (
    CloneSession,
    CounterData,
    CounterEntry,
    DirectCounterEntry,
    MeterConfig,
    MeterEntry,
    MulticastGroup,
    P4RuntimeClient,
    PacketOut,
    RegisterEntry,
    Replica,
    TableEntry,
    ValueSetEntry,
    WriteError,
)
from targets.p4sim.runtime.bundle import Bundle, bundle_from_path
from targets.p4sim.runtime.device import Device
from targets.p4sim.runtime.loader import load_engine
from targets.p4sim.runtime.server import start_server

from .test_client import wait_for

pytestmark = pytest.mark.unit

CPU_PORT = 255
PROGRAM = Path(__file__).with_name("programs") / "small.p4"


@pytest.fixture(scope="module")
def small() -> tuple[Bundle, p4i.P4Info]:
    bundle = bundle_from_path(PROGRAM)
    return bundle, load_engine(bundle).p4info


@pytest.fixture
async def switch() -> AsyncIterator[tuple[Device, str]]:
    device = Device(load_engine, device_id=1, cpu_port=CPU_PORT)
    server, port = await start_server(device, "127.0.0.1:0")
    try:
        yield device, f"127.0.0.1:{port}"
    finally:
        await server.stop(None)


@pytest.fixture
async def client(
    switch: tuple[Device, str], small: tuple[Bundle, p4i.P4Info]
) -> AsyncIterator[P4RuntimeClient]:
    _, address = switch
    bundle, p4info = small
    cli = P4RuntimeClient(address, device_id=1, election_id=3, backoff=(0.02, 0.1))
    await cli.connect(timeout=5)
    await cli.set_pipeline(p4info, bundle.encode())
    try:
        yield cli
    finally:
        await cli.close()


ENTRIES = [
    TableEntry(
        "vrf_fib", {"vrf": 2, "dst": "10.1.0.0/16"}, "push_label", {"label": 100, "tunnel": 3}
    ),
    TableEntry(
        "vrf_fib", {"vrf": 1, "dst": "10.1.0.0/16"}, "push_label", {"label": 200, "tunnel": 4}
    ),
    TableEntry(
        "acl",
        {"src_addr": "10.0.0.0&&&255.0.0.0", "proto": (6, 0xFF), "dport": "179..179", "in_port": 3},
        "punt",
        priority=10,
    ),
    TableEntry(
        "tunnel", {"tunnel_id": 3}, "set_tunnel", {"remote_addr": "198.51.100.12", "sa_index": 7}
    ),
    TableEntry(
        "neighbor", {"nexthop6": "fe80::1"}, "set_dmac", {"dmac": "02:00:00:00:00:01", "port": 1}
    ),
]


async def test_capabilities_and_pipeline(
    client: P4RuntimeClient, small: tuple[Bundle, p4i.P4Info]
) -> None:
    assert (await client.capabilities()).startswith("1.")
    config = await client.get_pipeline()
    assert config.p4info == small[1]


async def test_entries_read_back_identical(client: P4RuntimeClient) -> None:
    await client.insert(ENTRIES)
    got = sorted(client.entry_string(x) for x in await client.read([TableEntry("*")]))
    assert got == sorted(client.entry_string(x) for x in ENTRIES)
    assert "vrf_fib vrf=2 dst=10.1.0.0/16 -> push_label(label=100, tunnel=3)" in got
    await client.modify(
        [
            TableEntry(
                "tunnel",
                action="set_tunnel",
                is_default=True,
                params={"remote_addr": "192.0.2.9", "sa_index": 9},
            )
        ]
    )
    default = await client.read([TableEntry("tunnel", is_default=True)])
    assert [client.entry_string(x) for x in default] == [
        "tunnel default -> set_tunnel(remote_addr=192.0.2.9, sa_index=9)"
    ]


async def test_p4sim_write_errors_are_decoded(client: P4RuntimeClient) -> None:
    await client.insert(ENTRIES[:1])
    with pytest.raises(WriteError) as info:
        await client.insert([ENTRIES[0], ENTRIES[1]])
    assert [(f.index, f.update_type, f.code) for f in info.value.failures] == [
        (0, "INSERT", "ALREADY_EXISTS")
    ]
    assert info.value.failures[0].entity == client.entry_string(ENTRIES[0])
    with pytest.raises(WriteError, match="NOT_FOUND"):
        await client.delete([TableEntry("tunnel", {"tunnel_id": 9}, "drop")])


async def test_reconcile_against_p4sim(client: P4RuntimeClient) -> None:
    scope = [TableEntry("*")]
    order = ["tunnel", "vrf_fib"]
    plan = await client.reconcile(ENTRIES, scope, order=order)
    assert plan.counts == {"insert": 5, "modify": 0, "delete": 0}
    # What p4sim returns compares equal to what we encode: nothing to do the second time.
    plan = await client.reconcile(ENTRIES, scope, order=order)
    assert plan.updates == [] and plan.unchanged == 5
    changed = [*ENTRIES[1:4], TableEntry("tunnel", {"tunnel_id": 4}, "drop")]
    plan = await client.reconcile(changed, scope, order=order)
    assert plan.counts == {"insert": 1, "modify": 0, "delete": 2}
    got = sorted(client.entry_string(x) for x in await client.read(scope))
    assert got == sorted(client.entry_string(x) for x in changed)


async def test_externs_and_replication(client: P4RuntimeClient) -> None:
    await client.insert(ENTRIES[:1])
    await client.modify([RegisterEntry("sa_seq", 4, 2**40)])
    assert RegisterEntry("sa_seq", 4, 2**40) in await client.read([RegisterEntry("sa_seq")])
    cells = await client.read([CounterEntry("drop_reason")])
    assert len(cells) == 16
    assert cells[0] == CounterEntry("drop_reason", 0, CounterData(0, 0))
    await client.modify([MeterEntry("port_meter", 2, MeterConfig(1000, 100, 2000, 200))])
    meters = await client.read([MeterEntry("port_meter", 2)])
    assert meters == [MeterEntry("port_meter", 2, MeterConfig(1000, 100, 2000, 200))]
    direct = await client.read([DirectCounterEntry(TableEntry("vrf_fib"))])
    assert [client.entry_string(x) for x in direct] == [
        "direct_counter [vrf_fib vrf=2 dst=10.1.0.0/16] packets=0 bytes=0"
    ]
    await client.insert(
        [MulticastGroup(1, [Replica(1), Replica(2)]), CloneSession(5, [Replica(CPU_PORT)])]
    )
    groups = await client.read([MulticastGroup(0)])
    assert groups == [MulticastGroup(1, [Replica(1), Replica(2)])]
    sessions = await client.read([CloneSession(0)])
    assert sessions == [CloneSession(5, [Replica(CPU_PORT)])]


async def test_packet_out_comes_back_as_packet_in(client: P4RuntimeClient) -> None:
    await client.packet_out(PacketOut(b"\xde\xad\xbe\xef", {"egress_port": 5, "mode": 1, "pad": 0}))
    pkt = await client.packet_in(timeout=5)
    assert pkt.payload == b"\xde\xad\xbe\xef"
    assert pkt.metadata == {"ingress_port": 5, "reason": 7, "pad": 0}


async def test_p4sim_arbitration_moves_primaryship(
    client: P4RuntimeClient, switch: tuple[Device, str]
) -> None:
    """P4Runtime spec 5 and 5.3: a higher election_id takes primaryship; when that
    primary leaves nobody is promoted -- the server stays without a primary until a
    controller sends an election_id >= the highest ever seen (9 here), so the
    client (election_id 3) stays a backup."""
    device, address = switch
    events: list[bool] = []
    client.on_primary(events.append)
    other = P4RuntimeClient(address, device_id=1, election_id=9)
    await other.connect(timeout=5)
    try:
        await wait_for(lambda: not client.is_primary)
        assert other.is_primary
    finally:
        await other.close()
    await wait_for(lambda: device.arbitration.primary_election_id is None)
    assert not client.is_primary
    # a controller re-arbitrating with the highest id ever seen is primary again
    again = P4RuntimeClient(address, device_id=1, election_id=9)
    await again.connect(timeout=5)
    try:
        await wait_for(lambda: again.is_primary)
        assert device.arbitration.primary_election_id == 9
        assert not client.is_primary
    finally:
        await again.close()
    assert events == [False]


async def test_reconcile_manages_default_entries(client: P4RuntimeClient) -> None:
    desired = [
        *ENTRIES[:2],
        TableEntry(
            "tunnel",
            action="set_tunnel",
            is_default=True,
            params={"remote_addr": "192.0.2.9", "sa_index": 9},
        ),
    ]
    scope = [TableEntry("vrf_fib"), TableEntry("tunnel")]
    plan = await client.reconcile(desired, scope)
    assert plan.counts == {"insert": 2, "modify": 1, "delete": 0}
    plan = await client.reconcile(desired, scope)
    assert plan.updates == [] and plan.unchanged == 3


async def test_bit_value_set_written_by_its_own_name(client: P4RuntimeClient) -> None:
    # small.p4: value_set<bit<16>>(4) ike_ports; p4sim's P4Info gives its one
    # field id 1 and no name (P4Runtime spec 8.3).
    vs = client._codec().schema.value_sets["ike_ports"]
    assert [(f.id, f.name) for f in vs.match_fields] == [(1, "")]
    await client.modify([ValueSetEntry("ike_ports", [{"ike_ports": 500}, 4500])])
    (got,) = await client.read([ValueSetEntry("ike_ports")])
    assert isinstance(got, ValueSetEntry)
    assert sorted(got.members, key=str) == [{"ike_ports": 4500}, {"ike_ports": 500}]
    assert client.entry_string(got) in (
        "value_set ike_ports {ike_ports=500; ike_ports=4500}",
        "value_set ike_ports {ike_ports=4500; ike_ports=500}",
    )


async def test_backup_takes_over_p4sim_only_by_re_arbitrating(
    client: P4RuntimeClient, switch: tuple[Device, str]
) -> None:
    _, address = switch
    backup = P4RuntimeClient(address, device_id=1, election_id=2, backoff=(0.02, 0.1))
    await backup.connect(timeout=5, require_primary=False)
    try:
        assert backup.status is not None and backup.status.code == "ALREADY_EXISTS"
        await client.close()  # the primary (id 3) leaves; p4sim promotes nobody
        await wait_for(lambda: backup.status is not None and backup.status.code == "NOT_FOUND")
        assert backup.status.highest == 3 and not backup.is_primary
        status = await backup.arbitrate(3, timeout=5)
        assert status.code == "OK" and backup.is_primary
        backup.use_pipeline(client._codec().schema.p4info)
        await backup.insert(ENTRIES[:1])
        assert len(await backup.read([TableEntry("vrf_fib")])) == 1
    finally:
        await backup.close()
