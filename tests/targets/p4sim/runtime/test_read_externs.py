"""Read with wildcards; counters, direct counters, registers, meters, PRE entries."""

from __future__ import annotations

import grpc
import pytest
from finsy.proto import p4r

from .builders import DELETE, INSERT, MODIFY, acl, fwd, lpm, update
from .conftest import Rig, write_errors
from .fake_program import FWD, LAST_SEEN, LPM, PORT_PKTS, RATE

pytestmark = pytest.mark.unit
C = grpc.StatusCode


async def test_wildcard_reads(primed: Rig) -> None:
    await primed.write(
        update(INSERT, fwd(b"\x01")),
        update(INSERT, fwd(b"\x02")),
        update(INSERT, lpm(b"\x0a\x00\x00\x00", 8)),
        update(INSERT, acl(5, opt=b"\x01")),
    )
    everything = await primed.read(p4r.Entity(table_entry=p4r.TableEntry()))
    assert sorted(e.table_entry.table_id for e in everything) == [FWD, FWD, LPM, 33554435]
    one = fwd(b"\x02")
    one.table_entry.ClearField("action")
    (got,) = await primed.read(one)
    assert got.table_entry.match[0].exact.value == b"\x02"
    absent = fwd(b"\x07")
    assert await primed.read(absent) == []
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.read(p4r.Entity(table_entry=p4r.TableEntry(table_id=999)))
    assert exc.value.code() == C.INVALID_ARGUMENT  # unknown P4Info id (spec 8.1.1, 12)


async def test_indirect_counter_read_write(primed: Rig) -> None:
    primed.device.receive(3, b"\x00" * 64)
    primed.device.receive(3, b"\x00" * 100)
    req = p4r.Entity()
    req.counter_entry.counter_id = PORT_PKTS
    req.counter_entry.index.index = 3
    (got,) = await primed.read(req)
    assert (got.counter_entry.data.packet_count, got.counter_entry.data.byte_count) == (2, 164)
    all_cells = await primed.read(p4r.Entity(counter_entry=p4r.CounterEntry()))
    assert len(all_cells) == 8  # counter_id 0 = every counter, no index = every cell
    req.counter_entry.data.packet_count = 0
    req.counter_entry.data.byte_count = 0
    await primed.write(update(MODIFY, req))
    (got,) = await primed.read(req)
    assert got.counter_entry.data.packet_count == 0
    req.counter_entry.index.index = 8
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(update(MODIFY, req), update(INSERT, req))
    codes = [e.canonical_code for e in write_errors(exc.value)]
    assert codes == [C.OUT_OF_RANGE.value[0], C.INVALID_ARGUMENT.value[0]]
    with pytest.raises(grpc.aio.AioRpcError) as rexc:
        await primed.read(req)
    assert rexc.value.code() == C.OUT_OF_RANGE


async def test_direct_counter(primed: Rig) -> None:
    await primed.write(update(INSERT, lpm(b"\x0a\x00\x00\x00", 8)))
    e = primed.device.pipeline.program.state.tables[LPM].lookup((0x0A010203,))  # type: ignore[union-attr]
    assert e is not None
    e.packets, e.bytes = 3, 300  # what the executor does on a hit
    req = p4r.Entity()
    req.direct_counter_entry.table_entry.table_id = 0
    (got,) = await primed.read(req)
    assert got.direct_counter_entry.data.packet_count == 3
    assert got.direct_counter_entry.table_entry.match[0].lpm.prefix_len == 8
    te = p4r.TableEntry(table_id=LPM)
    te.counter_data.SetInParent()
    (with_data,) = await primed.read(p4r.Entity(table_entry=te))
    assert with_data.table_entry.counter_data.byte_count == 300
    got.direct_counter_entry.data.packet_count = 0
    got.direct_counter_entry.data.byte_count = 0
    await primed.write(update(MODIFY, got))
    (got,) = await primed.read(req)
    assert got.direct_counter_entry.data.packet_count == 0
    no_counter = p4r.Entity()
    no_counter.direct_counter_entry.table_entry.table_id = FWD
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.read(no_counter)
    assert exc.value.code() == C.INVALID_ARGUMENT


async def test_registers(primed: Rig) -> None:
    req = p4r.Entity()
    req.register_entry.register_id = LAST_SEEN
    req.register_entry.index.index = 2
    req.register_entry.data.bitstring = b"\x00\x00\x12\x34"
    await primed.write(update(MODIFY, req))
    all_cells = await primed.read(p4r.Entity(register_entry=p4r.RegisterEntry()))
    assert [c.register_entry.data.bitstring for c in all_cells] == [b"\x00"] * 2 + [
        b"\x12\x34",
        b"\x00",
    ]
    req.register_entry.data.bitstring = b"\x01\x00\x00\x00\x00"
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(update(MODIFY, req))
    assert write_errors(exc.value)[0].canonical_code == C.OUT_OF_RANGE.value[0]


async def test_meters(primed: Rig) -> None:
    req = p4r.Entity()
    req.meter_entry.meter_id = RATE
    req.meter_entry.index.index = 1
    req.meter_entry.config.cir, req.meter_entry.config.cburst = 1000, 100
    req.meter_entry.config.pir, req.meter_entry.config.pburst = 2000, 200
    await primed.write(update(MODIFY, req))
    cells = await primed.read(p4r.Entity(meter_entry=p4r.MeterEntry(meter_id=RATE)))
    assert [c.meter_entry.config.pir for c in cells] == [0, 2000]
    req.meter_entry.config.cir = 5000  # CIR > PIR
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(update(MODIFY, req))
    assert write_errors(exc.value)[0].canonical_code == C.INVALID_ARGUMENT.value[0]


def group(gid: int, *ports: int) -> p4r.Entity:
    e = p4r.Entity()
    g = e.packet_replication_engine_entry.multicast_group_entry
    g.multicast_group_id = gid
    for i, p in enumerate(ports):
        g.replicas.add(egress_port=p, instance=i)
    return e


def session(sid: int, port: int) -> p4r.Entity:
    e = p4r.Entity()
    s = e.packet_replication_engine_entry.clone_session_entry
    s.session_id = sid
    s.replicas.add(egress_port=port, instance=1)
    return e


async def test_multicast_groups_and_clone_sessions(primed: Rig) -> None:
    await primed.write(update(INSERT, group(1, 1, 2)), update(INSERT, session(5, 255)))
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(
            update(INSERT, group(1, 3)),
            update(MODIFY, group(2, 3)),
            update(DELETE, session(6, 1)),
            update(INSERT, group(3, 600)),
        )
    codes = [e.canonical_code for e in write_errors(exc.value)]
    assert codes == [
        code.value[0] for code in (C.ALREADY_EXISTS, C.NOT_FOUND, C.NOT_FOUND, C.OUT_OF_RANGE)
    ]
    await primed.write(update(MODIFY, group(1, 4, 5, 6)))
    (got,) = await primed.read(group(0))
    assert [
        r.egress_port for r in got.packet_replication_engine_entry.multicast_group_entry.replicas
    ] == [4, 5, 6]
    (s,) = await primed.read(session(0, 0))
    assert s.packet_replication_engine_entry.clone_session_entry.session_id == 5
    await primed.write(update(DELETE, group(1)))
    assert await primed.read(group(0)) == []


async def test_unsupported_entities_are_unimplemented(primed: Rig) -> None:
    e = p4r.Entity()
    e.action_profile_member.action_profile_id = 1
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(update(INSERT, e))
    assert write_errors(exc.value)[0].canonical_code == C.UNIMPLEMENTED.value[0]
    with pytest.raises(grpc.aio.AioRpcError) as rexc:
        await primed.read(e)
    assert rexc.value.code() == C.UNIMPLEMENTED


async def test_direct_meter(primed: Rig) -> None:
    await primed.write(update(INSERT, lpm(b"\x0a\x00\x00\x00", 8)))
    e = p4r.Entity()
    e.direct_meter_entry.table_entry.CopyFrom(lpm(b"\x0a\x00\x00\x00", 8).table_entry)
    e.direct_meter_entry.table_entry.ClearField("action")
    e.direct_meter_entry.config.cir = 10
    e.direct_meter_entry.config.pir = 20
    # the table has a direct counter but no direct meter
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(update(MODIFY, e))
    (err,) = write_errors(exc.value)
    assert err.canonical_code == C.INVALID_ARGUMENT.value[0] and "direct meter" in err.message
    missing = p4r.Entity()
    missing.direct_counter_entry.table_entry.CopyFrom(e.direct_meter_entry.table_entry)
    missing.direct_counter_entry.table_entry.match[0].lpm.prefix_len = 16
    missing.direct_counter_entry.table_entry.match[0].lpm.value = b"\x0a\x01\x00\x00"
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(update(MODIFY, missing))
    assert write_errors(exc.value)[0].canonical_code == C.NOT_FOUND.value[0]


async def test_inline_direct_counter_data_and_unsupported_extras(primed: Rig) -> None:
    e = lpm(b"\x0a\x00\x00\x00", 8)
    e.table_entry.counter_data.packet_count = 5
    e.table_entry.counter_data.byte_count = 500
    await primed.write(update(INSERT, e))
    req = p4r.Entity()
    req.direct_counter_entry.table_entry.table_id = LPM
    (got,) = await primed.read(req)
    assert got.direct_counter_entry.data.byte_count == 500
    e.table_entry.counter_data.byte_count = 7
    await primed.write(update(MODIFY, e))
    (got,) = await primed.read(req)
    assert got.direct_counter_entry.data.byte_count == 7
    idle = fwd(b"\x01")
    idle.table_entry.idle_timeout_ns = 1000
    no_counter = fwd(b"\x02")
    no_counter.table_entry.counter_data.packet_count = 1
    no_meter = lpm(b"\x0b\x00\x00\x00", 8)
    no_meter.table_entry.meter_config.cir = 1
    no_meter.table_entry.meter_config.pir = 2
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(*[update(INSERT, x) for x in (idle, no_counter, no_meter)])
    errs = write_errors(exc.value)
    assert [x.canonical_code for x in errs] == [C.INVALID_ARGUMENT.value[0]] * 3
    assert "idle timeout" in errs[0].message and "direct meter" in errs[2].message


async def test_read_rules_spec_9_1_4_and_11(primed: Rig) -> None:
    """Wildcard-read filters (priority, controller_metadata, action_id); an empty entity
    and a match under table_id 0 are INVALID_ARGUMENT."""
    cookie = fwd(b"\x02")
    cookie.table_entry.controller_metadata = 9
    await primed.write(
        update(INSERT, acl(5, opt=b"\x01")),
        update(INSERT, acl(6, opt=b"\x02")),
        update(INSERT, fwd(b"\x03", action_id=16777218)),  # to_cpu
        update(INSERT, fwd(b"\x01")),
        update(INSERT, cookie),
    )
    prio6 = p4r.TableEntry(table_id=33554435, priority=6)
    by_prio = await primed.read(p4r.Entity(table_entry=prio6))
    assert [e.table_entry.priority for e in by_prio] == [6]
    by_action = p4r.TableEntry(table_id=FWD)
    by_action.action.action.action_id = 16777218
    (got,) = await primed.read(p4r.Entity(table_entry=by_action))
    assert got.table_entry.match[0].exact.value == b"\x03"
    by_cookie = p4r.TableEntry(controller_metadata=9)  # all tables, filtered
    (got,) = await primed.read(p4r.Entity(table_entry=by_cookie))
    assert got.table_entry.table_id == FWD and got.table_entry.match[0].exact.value == b"\x02"
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.read(p4r.Entity())
    assert exc.value.code() == C.INVALID_ARGUMENT
    all_tables_with_match = fwd(b"\x01")
    all_tables_with_match.table_entry.table_id = 0
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.read(all_tables_with_match)
    assert exc.value.code() == C.INVALID_ARGUMENT


async def test_extern_array_rules_spec_9_2_9_3_9_9(primed: Rig) -> None:
    """Unset index in a MODIFY sets every cell; a negative index is INVALID_ARGUMENT;
    unset counter data changes nothing; eburst and per-colour counters are refused."""
    primed.device.receive(2, b"\x00" * 10)
    every = p4r.Entity()
    every.counter_entry.counter_id = PORT_PKTS
    every.counter_entry.data.packet_count = 4
    await primed.write(update(MODIFY, every))  # no index: the whole array
    cells = await primed.read(p4r.Entity(counter_entry=p4r.CounterEntry(counter_id=PORT_PKTS)))
    assert {c.counter_entry.data.packet_count for c in cells} == {4}
    no_data = p4r.Entity()
    no_data.counter_entry.counter_id = PORT_PKTS
    no_data.counter_entry.index.index = 2
    await primed.write(update(MODIFY, no_data))  # data unset: untouched
    (got,) = await primed.read(no_data)
    assert got.counter_entry.data.packet_count == 4
    reg = p4r.Entity()
    reg.register_entry.register_id = LAST_SEEN
    reg.register_entry.data.bitstring = b"\x2a"
    await primed.write(update(MODIFY, reg))
    cells = await primed.read(p4r.Entity(register_entry=p4r.RegisterEntry(register_id=LAST_SEEN)))
    assert {c.register_entry.data.bitstring for c in cells} == {b"\x2a"}
    negative = p4r.Entity()
    negative.counter_entry.counter_id = PORT_PKTS
    negative.counter_entry.index.index = -1
    negative.counter_entry.data.packet_count = 1
    eburst = p4r.Entity()
    eburst.meter_entry.meter_id = RATE
    eburst.meter_entry.config.cir, eburst.meter_entry.config.pir = 1, 2
    eburst.meter_entry.config.eburst = 5
    colours = p4r.Entity()
    colours.meter_entry.meter_id = RATE
    colours.meter_entry.counter_data.green.packet_count = 0
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(*[update(MODIFY, x) for x in (negative, eburst, colours)])
    codes = [e.canonical_code for e in write_errors(exc.value)]
    assert codes == [C.INVALID_ARGUMENT.value[0]] * 2 + [C.UNIMPLEMENTED.value[0]]
    with pytest.raises(grpc.aio.AioRpcError) as rexc:
        await primed.read(negative)
    assert rexc.value.code() == C.INVALID_ARGUMENT


async def test_direct_counter_modify_without_data_keeps_the_value_spec_9_2_1(
    primed: Rig,
) -> None:
    await primed.write(update(INSERT, lpm(b"\x0a\x00\x00\x00", 8)))
    dce = p4r.Entity()
    dce.direct_counter_entry.table_entry.CopyFrom(lpm(b"\x0a\x00\x00\x00", 8).table_entry)
    dce.direct_counter_entry.table_entry.ClearField("action")
    dce.direct_counter_entry.data.packet_count = 7
    await primed.write(update(MODIFY, dce))
    dce.direct_counter_entry.ClearField("data")
    await primed.write(update(MODIFY, dce))
    (got,) = await primed.read(dce)
    assert got.direct_counter_entry.data.packet_count == 7


async def test_pre_ids_zero_and_backup_replicas_spec_9_5(primed: Rig) -> None:
    """Group/session id 0 is the read wildcard: INVALID_ARGUMENT in every write;
    backup replicas (optional in the spec) are UNIMPLEMENTED."""
    backup = group(4, 1)
    mg = backup.packet_replication_engine_entry.multicast_group_entry
    mg.replicas[0].backup_replicas.add(port=b"\x02", instance=0)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(
            update(INSERT, group(0, 1)),
            update(MODIFY, group(0, 1)),
            update(DELETE, group(0)),
            update(DELETE, session(0, 1)),
            update(INSERT, backup),
        )
    codes = [e.canonical_code for e in write_errors(exc.value)]
    assert codes == [C.INVALID_ARGUMENT.value[0]] * 4 + [C.UNIMPLEMENTED.value[0]]
    assert await primed.read(group(0)) == []


async def test_pre_read_write_symmetry_spec_9_5(primed: Rig) -> None:
    """A group reads back as written: its metadata, and ports in the form the client
    used (``port`` bytestring, canonical, or ``egress_port``)."""
    written = p4r.Entity()
    mg = written.packet_replication_engine_entry.multicast_group_entry
    mg.multicast_group_id, mg.metadata = 7, b"vrf-3"
    mg.replicas.add(port=b"\x00\x05", instance=1)
    mg.replicas.add(port=b"\x0c", instance=2)
    await primed.write(update(INSERT, written), update(INSERT, session(9, 4)))
    (got,) = await primed.read(group(7))
    back = got.packet_replication_engine_entry.multicast_group_entry
    assert back.metadata == b"vrf-3"
    assert [(r.port, r.instance) for r in back.replicas] == [(b"\x05", 1), (b"\x0c", 2)]
    (s,) = await primed.read(session(9, 0))
    assert s.packet_replication_engine_entry.clone_session_entry.replicas[0].egress_port == 4
    empty_port = group(8)
    empty_port.packet_replication_engine_entry.multicast_group_entry.replicas.add(port=b"")
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(update(INSERT, empty_port))
    assert write_errors(exc.value)[0].canonical_code == C.OUT_OF_RANGE.value[0]
    await primed.write(update(DELETE, group(7)))
    assert primed.device.pipeline.program.state.pre_extra == {  # type: ignore[union-attr]
        ("clone_session_entry", 9): (b"", False)
    }
