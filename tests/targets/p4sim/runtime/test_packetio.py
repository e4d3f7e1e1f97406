"""PacketIn / PacketOut over the StreamChannel, with controller metadata on the CPU port."""

from __future__ import annotations

import asyncio

import pytest
from finsy.proto import p4r, rpc_code

from .builders import INSERT, fwd, update
from .conftest import Controller, Rig
from .fake_program import TO_CPU

pytestmark = pytest.mark.unit


def packet_out(payload: bytes, egress: bytes) -> p4r.StreamMessageRequest:
    req = p4r.StreamMessageRequest()
    req.packet.payload = payload
    req.packet.metadata.add(metadata_id=1, value=egress)
    return req


async def test_packet_in_carries_ingress_port(primed: Rig) -> None:
    primary = primed.controllers[0]
    backup = await primed.controller(3)
    await primed.write(update(INSERT, fwd(b"\x07", action_id=TO_CPU)))
    frame = bytes(range(60))
    await asyncio.to_thread(primed.device.receive, 7, frame)
    msg = await primary.next("packet")
    assert msg.packet.payload == frame
    md = {m.metadata_id: m.value for m in msg.packet.metadata}
    assert md == {1: b"\x07", 2: b"\x00"}  # canonical bytestrings
    with pytest.raises(TimeoutError):
        await backup.next("packet", timeout=0.3)  # only the primary gets packet-ins


async def test_packet_out_goes_to_the_port_in_its_metadata(primed: Rig) -> None:
    primary = primed.controllers[0]
    await primary.outbox.put(packet_out(b"\xaa" * 40, b"\x01\x05"))  # port 261: 9-bit value
    for _ in range(100):
        if primed.emitted:
            break
        await asyncio.sleep(0.01)
    assert primed.emitted == [(261, b"\xaa" * 40)]


async def test_packet_out_errors_come_back_as_stream_errors(primed: Rig) -> None:
    primary = primed.controllers[0]
    await primary.outbox.put(packet_out(b"x", b"\x04\x00"))  # 0x400 does not fit bit<9>
    err = await primary.next("error")
    assert err.error.canonical_code == rpc_code.OUT_OF_RANGE
    assert err.error.packet_out.packet_out.payload == b"x"
    bad = packet_out(b"x", b"\x01")
    bad.packet.metadata[0].metadata_id = 9
    await primary.outbox.put(bad)
    err = await primary.next("error")
    assert err.error.canonical_code == rpc_code.INVALID_ARGUMENT
    backup = await primed.controller(2)
    await backup.outbox.put(packet_out(b"y", b"\x01"))
    err = await backup.next("error")
    assert err.error.canonical_code == rpc_code.PERMISSION_DENIED
    assert primed.emitted == []


async def test_packet_out_without_cpu_port(rig: Rig) -> None:
    rig.device.cpu_port = None
    c = await rig.controller(10)
    await rig.push()
    await c.outbox.put(packet_out(b"z", b"\x01"))
    err = await c.next("error")
    assert err.error.canonical_code == rpc_code.FAILED_PRECONDITION


async def test_stream_survives_garbage_and_unsupported_messages(primed: Rig) -> None:
    primary: Controller = primed.controllers[0]
    req = p4r.StreamMessageRequest()
    req.digest_ack.digest_id = 1
    await primary.outbox.put(req)
    err = await primary.next("error")
    assert err.error.canonical_code == rpc_code.UNIMPLEMENTED
    await primary.outbox.put(packet_out(b"\x01" * 20, b"\x02"))
    for _ in range(100):
        if primed.emitted:
            break
        await asyncio.sleep(0.01)
    assert primed.emitted == [(2, b"\x01" * 20)]


async def test_pipeline_exception_is_contained(primed: Rig) -> None:
    pipe = primed.device.pipeline
    assert pipe is not None

    def broken(port: int, frame: bytes) -> list[tuple[int, bytes]]:
        raise IndexError("executor bug")

    pipe.program.process = broken
    primed.device.receive(1, b"\x00" * 10)
    assert primed.device.packet_errors == 1
    resp = await primed.stub.Capabilities(p4r.CapabilitiesRequest())
    assert resp.p4runtime_api_version


def test_trace_lines_go_to_the_tracer(primed: Rig) -> None:
    lines: list[str] = []
    primed.device.tracer = lines.append
    primed.device.receive(4, b"\x00" * 20)
    assert lines == ["port 4: table MyIngress.fwd miss"]
    pipe = primed.device.pipeline
    assert pipe is not None
    assert pipe.program.state.counters[302011393].packets[4] == 1  # processed once
