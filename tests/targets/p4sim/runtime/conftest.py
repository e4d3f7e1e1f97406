"""Fixtures: a p4sim Device with the pipeline double, served over real gRPC on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc
import pytest
from finsy.proto import p4r, p4r_grpc, rpc_status

from targets.p4sim.runtime.device import Device
from targets.p4sim.runtime.loader import load_engine
from targets.p4sim.runtime.ports import InprocPort, PortManager
from targets.p4sim.runtime.server import start_server

from .engine_rig import valueset_request
from .fake_program import CPU_PORT, fake_bundle, fake_p4info, load_fake


def eid(n: int) -> p4r.Uint128:
    return p4r.Uint128(high=n >> 64, low=n & ((1 << 64) - 1))


@dataclass
class Controller:
    """One client stream to the server: send arbitration, get updates/packets."""

    stub: p4r_grpc.P4RuntimeStub
    election_id: int
    outbox: asyncio.Queue[p4r.StreamMessageRequest | None] = field(default_factory=asyncio.Queue)
    call: object = None
    inbox: asyncio.Queue[p4r.StreamMessageResponse] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None

    async def _requests(self) -> AsyncIterator[p4r.StreamMessageRequest]:
        while True:
            msg = await self.outbox.get()
            if msg is None:
                return
            yield msg

    async def open(self, device_id: int = 0, timeout: float = 5.0) -> p4r.StreamMessageResponse:
        call = self.stub.StreamChannel(self._requests())
        self.call = call

        async def pump() -> None:
            try:
                async for resp in call:
                    await self.inbox.put(resp)
            except grpc.aio.AioRpcError:
                pass

        self.task = asyncio.create_task(pump())
        req = p4r.StreamMessageRequest()
        req.arbitration.device_id = device_id
        if self.election_id:
            req.arbitration.election_id.CopyFrom(eid(self.election_id))
        await self.outbox.put(req)
        return await self.next("arbitration", timeout)

    async def arbitrate(self, election_id: int, timeout: float = 5.0) -> p4r.StreamMessageResponse:
        """Re-send a MasterArbitrationUpdate on the open stream; the answer to it."""
        self.election_id = election_id
        req = p4r.StreamMessageRequest()
        req.arbitration.device_id = 0
        req.arbitration.election_id.CopyFrom(eid(election_id))
        await self.outbox.put(req)
        return await self.next("arbitration", timeout)

    async def next(self, kind: str, timeout: float = 5.0) -> p4r.StreamMessageResponse:
        while True:
            msg = await asyncio.wait_for(self.inbox.get(), timeout)
            if msg.WhichOneof("update") == kind:
                return msg

    async def close(self) -> None:
        await self.outbox.put(None)
        if self.call is not None:
            self.call.cancel()  # type: ignore[attr-defined]
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)


@dataclass
class Rig:
    device: Device
    stub: p4r_grpc.P4RuntimeStub
    port: int
    emitted: list[tuple[int, bytes]]
    controllers: list[Controller]

    async def controller(self, election_id: int) -> Controller:
        c = Controller(self.stub, election_id)
        self.controllers.append(c)
        await c.open()
        return c

    async def push(self, election_id: int = 10) -> None:
        req = p4r.SetForwardingPipelineConfigRequest(
            device_id=0,
            action=p4r.SetForwardingPipelineConfigRequest.VERIFY_AND_COMMIT,
        )
        req.election_id.CopyFrom(eid(election_id))
        req.config.p4info.CopyFrom(fake_p4info())
        req.config.p4_device_config = fake_bundle()
        req.config.cookie.cookie = 7
        await self.stub.SetForwardingPipelineConfig(req)

    async def write(self, *updates: p4r.Update, election_id: int = 10) -> p4r.WriteResponse:
        req = p4r.WriteRequest(device_id=0, updates=list(updates))
        req.election_id.CopyFrom(eid(election_id))
        return await self.stub.Write(req)

    async def read(self, *entities: p4r.Entity) -> list[p4r.Entity]:
        out: list[p4r.Entity] = []
        async for resp in self.stub.Read(p4r.ReadRequest(device_id=0, entities=list(entities))):
            out.extend(resp.entities)
        return out


def write_errors(exc: grpc.aio.AioRpcError) -> list[p4r.Error]:
    """The per-update p4.v1.Error details of a failed Write."""
    md = dict(exc.trailing_metadata() or ())
    status = rpc_status.Status.FromString(md["grpc-status-details-bin"])
    errors = []
    for any_ in status.details:
        e = p4r.Error()
        assert any_.Unpack(e)
        errors.append(e)
    return errors


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    device = Device(load_fake, device_id=0, cpu_port=CPU_PORT)
    emitted: list[tuple[int, bytes]] = []
    device.emit = lambda port, frame: emitted.append((port, frame))
    server, port = await start_server(device, "127.0.0.1:0")
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    r = Rig(device, p4r_grpc.P4RuntimeStub(channel), port, emitted, [])
    try:
        yield r
    finally:
        for c in r.controllers:
            await c.close()
        await channel.close()
        await server.stop(None)


@pytest.fixture
async def primed(rig: Rig) -> Rig:
    """A rig with a primary controller (election id 10) and the pipeline pushed."""
    await rig.controller(10)
    await rig.push()
    return rig


@contextlib.asynccontextmanager
async def engine_rig_for(
    request: p4r.SetForwardingPipelineConfigRequest,
) -> AsyncIterator[tuple[Rig, InprocPort]]:
    """The real engine behind real gRPC: primary controller 10, one in-process wire."""
    device = Device(load_engine, device_id=0, cpu_port=CPU_PORT)
    ports = PortManager(device)
    device.emit = ports.emit
    wire = InprocPort()
    ports.set_default(wire)
    ports.start()
    server, port = await start_server(device, "127.0.0.1:0")
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    rig = Rig(device, p4r_grpc.P4RuntimeStub(channel), port, [], [])
    try:
        await rig.controller(10)
        await rig.stub.SetForwardingPipelineConfig(request)
        yield rig, wire
    finally:
        for c in rig.controllers:
            await c.close()
        await channel.close()
        await server.stop(None)
        ports.close()


@pytest.fixture
async def vs_rig() -> AsyncIterator[tuple[Rig, InprocPort]]:
    """valueset.p4 on the real engine."""
    async with engine_rig_for(valueset_request()) as rig:
        yield rig
