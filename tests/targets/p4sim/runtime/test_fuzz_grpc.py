"""Hypothesis over real gRPC: random well-typed Write batches get per-update answers, no crash."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import grpc
import pytest
from finsy.proto import p4r, p4r_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from targets.p4sim.runtime.bundle import Bundle
from targets.p4sim.runtime.device import Device
from targets.p4sim.runtime.server import start_server

from .conftest import write_errors
from .fake_program import CPU_PORT, fake_bundle, load_fake
from .test_fuzz import updates

pytestmark = pytest.mark.unit

ALLOWED = {c.value[0] for c in grpc.StatusCode} - {grpc.StatusCode.INTERNAL.value[0]}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[p4r_grpc.P4RuntimeStub, Device]]:
    """A device with the double, served from a background event loop for sync clients."""
    device = Device(load_fake, cpu_port=CPU_PORT)
    device.load_at_start(Bundle.decode(fake_bundle()))
    arb = p4r.MasterArbitrationUpdate(device_id=0)
    arb.election_id.low = 1
    device.arbitration.update("fuzzer", arb)
    loop = asyncio.new_event_loop()
    box: dict[str, object] = {}

    async def boot() -> None:
        box["server"], box["port"] = await start_server(device, "127.0.0.1:0")

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(boot(), loop).result(10)
    with grpc.insecure_channel(f"127.0.0.1:{box['port']}") as channel:
        yield p4r_grpc.P4RuntimeStub(channel), device
    server = box["server"]
    asyncio.run_coroutine_threadsafe(server.stop(None), loop).result(10)  # type: ignore[attr-defined]
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(updates, min_size=1, max_size=6))
def test_random_write_batches_over_grpc(
    served: tuple[p4r_grpc.P4RuntimeStub, Device], batch: list[p4r.Update]
) -> None:
    stub, device = served
    req = p4r.WriteRequest(device_id=0, updates=batch)
    req.election_id.low = 1
    try:
        stub.Write(req, timeout=10)
    except grpc.RpcError as exc:
        code = exc.code()  # type: ignore[attr-defined]
        assert code == grpc.StatusCode.UNKNOWN, exc
        errors = write_errors(exc)  # type: ignore[arg-type]
        assert len(errors) == len(batch)
        assert all(e.canonical_code in ALLOWED for e in errors)
        assert all(e.message or e.canonical_code == 0 for e in errors)
    for upd in batch:
        try:
            list(stub.Read(p4r.ReadRequest(device_id=0, entities=[upd.entity]), timeout=10))
        except grpc.RpcError as exc:
            assert "Unexpected" not in (exc.details() or "")  # type: ignore[attr-defined]
            assert exc.code() != grpc.StatusCode.INTERNAL  # type: ignore[attr-defined]
    device.receive(1, b"\x00" * 64)  # the data plane still runs
    assert stub.Capabilities(p4r.CapabilitiesRequest(), timeout=10).p4runtime_api_version
