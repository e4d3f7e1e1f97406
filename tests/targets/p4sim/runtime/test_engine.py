"""The P4Runtime server on the real p4sim engine running basic.p4, over real gRPC."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from finsy.proto import p4r, rpc_code

from targets.p4sim.runtime.ports import InprocPort

from .conftest import Controller, Rig, engine_rig_for, write_errors
from .engine_rig import basic_bundle, fwd_entry, ids, lpm_entry, pipeline_request

pytestmark = pytest.mark.unit

ETH = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01"


def ipv4_frame(dst: bytes, size: int = 64) -> bytes:
    ip = bytes([0x45, 0, 0, size - 14, 0, 0, 0, 0, 64, 17, 0, 0, 192, 168, 0, 1]) + dst
    return (ETH + b"\x08\x00" + ip).ljust(size, b"\x00")


@pytest.fixture
async def engine_rig() -> AsyncIterator[tuple[Rig, InprocPort]]:
    async with engine_rig_for(pipeline_request()) as rig:
        yield rig


INSERT = p4r.Update.INSERT


async def test_forwarding_counters_and_registers(engine_rig: tuple[Rig, InprocPort]) -> None:
    rig, wire = engine_rig
    i = ids()
    await rig.write(
        p4r.Update(type=INSERT, entity=fwd_entry(1, "BasicIngress.set_port", b"\x02")),
        p4r.Update(type=INSERT, entity=lpm_entry(b"\x0a\x01\x00\x00", 16, 3)),
    )
    await asyncio.to_thread(wire.inject, 1, ipv4_frame(b"\x0a\x01\x02\x03"))  # LPM hit: port 3
    await asyncio.to_thread(wire.inject, 1, ipv4_frame(b"\x0b\x00\x00\x01"))  # miss: fwd port 2
    assert [wire.sent.get_nowait()[0], wire.sent.get_nowait()[0]] == [3, 2]
    await asyncio.to_thread(wire.inject, 5, ipv4_frame(b"\x0b\x00\x00\x01"))  # no fwd entry: drop
    assert wire.sent.empty()
    ce = p4r.Entity()
    ce.counter_entry.counter_id = i["BasicIngress.port_pkts"]
    ce.counter_entry.index.index = 1
    (got,) = await rig.read(ce)
    assert (got.counter_entry.data.packet_count, got.counter_entry.data.byte_count) == (2, 128)
    dc = p4r.Entity()
    dc.direct_counter_entry.table_entry.table_id = i["BasicIngress.ipv4_lpm"]
    (hits,) = await rig.read(dc)
    assert hits.direct_counter_entry.data.packet_count == 1
    reg = p4r.Entity()
    reg.register_entry.register_id = i["BasicIngress.last_len"]
    reg.register_entry.index.index = 5
    (cell,) = await rig.read(reg)
    assert cell.register_entry.data.bitstring == b"\x40"  # 64, canonical


async def test_packet_in_and_out_on_the_cpu_port(engine_rig: tuple[Rig, InprocPort]) -> None:
    rig, wire = engine_rig
    primary: Controller = rig.controllers[0]
    await rig.write(p4r.Update(type=INSERT, entity=fwd_entry(7, "BasicIngress.to_cpu")))
    frame = ipv4_frame(b"\x0a\x00\x00\x09")
    await asyncio.to_thread(wire.inject, 7, frame)
    msg = await primary.next("packet")
    assert msg.packet.payload == frame
    assert {m.metadata_id: m.value for m in msg.packet.metadata} == {1: b"\x07", 2: b"\x00"}
    out = p4r.StreamMessageRequest()
    out.packet.payload = frame
    out.packet.metadata.add(metadata_id=1, value=b"\x04")
    await primary.outbox.put(out)
    port, sent = await asyncio.to_thread(wire.sent.get, True, 5)
    assert (port, sent) == (4, frame)


async def test_engine_rejections(engine_rig: tuple[Rig, InprocPort]) -> None:
    rig, _ = engine_rig
    bad = pipeline_request()
    bad.config.p4info.tables[0].size = 1  # not what p4sim generates for this program
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await rig.stub.SetForwardingPipelineConfig(bad)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    broken = pipeline_request()
    broken.config.p4_device_config = (
        basic_bundle().sources["basic.p4"].replace("apply", "aply", 1).encode()
    )
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await rig.stub.SetForwardingPipelineConfig(broken)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "\n" not in (exc.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await rig.write(
            p4r.Update(type=INSERT, entity=fwd_entry(1, "BasicIngress.set_port", b"\x02\x00")),
            p4r.Update(type=INSERT, entity=lpm_entry(b"\x0a\x01\x00\x01", 16, 3)),
        )
    codes = [e.canonical_code for e in write_errors(exc.value)]
    assert codes == [rpc_code.OUT_OF_RANGE, rpc_code.INVALID_ARGUMENT]


async def test_trace_names_parser_states_and_table_hits(
    engine_rig: tuple[Rig, InprocPort],
) -> None:
    rig, wire = engine_rig
    await rig.write(p4r.Update(type=INSERT, entity=fwd_entry(1, "BasicIngress.set_port", b"\x02")))
    lines: list[str] = []
    rig.device.tracer = lines.append
    await asyncio.to_thread(wire.inject, 1, ipv4_frame(b"\x0b\x00\x00\x01"))
    await asyncio.to_thread(wire.inject, 6, ipv4_frame(b"\x0b\x00\x00\x01"))
    text = "\n".join(lines)
    assert "parser state parse_ipv4" in text
    assert "table BasicIngress.fwd: hit" in text and "table BasicIngress.fwd: miss" in text
    assert "output port 2: 64 bytes" in text and "no output (dropped)" in text
    assert wire.sent.get_nowait()[0] == 2 and wire.sent.empty()  # each packet ran once
