"""A batch of 1,000 updates with 500 failures over real gRPC to p4sim's server.

The per-update errors (P4Runtime spec 12.3) travel in a trailer far larger
than gRPC's default metadata limit. Our client accepts them and says so to
the server, so every failure comes back; a client with gRPC's default options
gets a top-level message that counts and names failures instead of "Stream
removed"; a server that ignores the announcement (BMv2) still reaches us whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from finsy.proto import p4r, p4r_grpc

from controller.p4rt import P4RuntimeClient, P4ValueError, RpcError, TableEntry, WriteError
from targets.p4sim.runtime.bundle import bundle_from_path
from targets.p4sim.runtime.device import Device
from targets.p4sim.runtime.loader import load_engine
from targets.p4sim.runtime.server import start_server

from .test_p4sim_integration import CPU_PORT, PROGRAM
from .test_write_details_unit import unpack

pytestmark = pytest.mark.unit
N, FAILED = 1000, 500


def route(i: int) -> TableEntry:
    dst = f"10.{i >> 8}.{i & 255}.0/24"
    return TableEntry("vrf_fib", {"vrf": 1, "dst": dst}, "push_label", {"label": i, "tunnel": 1})


@pytest.fixture
async def primed() -> AsyncIterator[tuple[P4RuntimeClient, str]]:
    """Our client, with the even routes of the batch already on the switch."""
    device = Device(load_engine, device_id=1, cpu_port=CPU_PORT)
    server, port = await start_server(device, "127.0.0.1:0")
    bundle = bundle_from_path(PROGRAM)
    p4info = load_engine(bundle).p4info
    cli = P4RuntimeClient(f"127.0.0.1:{port}", device_id=1, election_id=3, batch_size=N)
    await cli.connect(timeout=5)
    await cli.set_pipeline(p4info, bundle.encode())
    await cli.insert([route(i) for i in range(0, N, 2)])
    try:
        yield cli, f"127.0.0.1:{port}"
    finally:
        await cli.close()
        await server.stop(None)


async def test_our_client_hears_every_failure_of_a_1000_batch(
    primed: tuple[P4RuntimeClient, str],
) -> None:
    client, _ = primed
    with pytest.raises(WriteError) as info:
        await client.insert([route(i) for i in range(N)])
    err = info.value
    assert err.total == N and len(err.failures) == FAILED
    assert [f.index for f in err.failures] == list(range(0, N, 2))
    assert {f.code for f in err.failures} == {"ALREADY_EXISTS"}
    assert all("already exists" in f.message for f in err.failures)
    assert err.failures[1].entity == client.entry_string(route(2))
    assert f"{FAILED} of {N} updates failed" in str(err) and "480 more" in str(err)
    # CONTINUE_ON_ERROR: the 500 good updates went in.
    assert len(await client.read([TableEntry("vrf_fib")])) == N


async def test_a_default_grpc_client_gets_a_useful_error(
    primed: tuple[P4RuntimeClient, str],
) -> None:
    client, address = primed
    req = p4r.WriteRequest(device_id=1, election_id=p4r.Uint128(low=3))
    assert client.codec is not None
    for i in range(N):
        req.updates.add(type=p4r.Update.INSERT, entity=client.codec.encode(route(i)))
    async with grpc.aio.insecure_channel(address) as channel:  # gRPC's default options
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await p4r_grpc.P4RuntimeStub(channel).Write(req)
    exc = info.value
    assert exc.code() == grpc.StatusCode.UNKNOWN  # not RESOURCE_EXHAUSTED "Stream removed"
    text = exc.details() or ""
    assert text.startswith(f"{FAILED} of {N} updates failed; per-update details (")
    assert "exceed the 6000 bytes this client accepts" in text
    assert "first: #0 ALREADY_EXISTS: table" in text and "; 495 more" in text
    assert "grpc-status-details-bin" not in dict(exc.trailing_metadata() or ())


async def test_small_batches_keep_their_details_for_default_clients(
    primed: tuple[P4RuntimeClient, str],
) -> None:
    client, address = primed
    assert client.codec is not None
    req = p4r.WriteRequest(device_id=1, election_id=p4r.Uint128(low=3))
    for i in range(20):
        req.updates.add(type=p4r.Update.INSERT, entity=client.codec.encode(route(i)))
    async with grpc.aio.insecure_channel(address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await p4r_grpc.P4RuntimeStub(channel).Write(req)
    errors = unpack(dict(info.value.trailing_metadata() or ())["grpc-status-details-bin"])
    assert len(errors) == 20
    assert [e.canonical_code != 0 for e in errors] == [i % 2 == 0 for i in range(20)]


async def test_lost_details_are_named_not_silent() -> None:
    """A trailer beyond what we accept (a server ignoring our limit) is named as such."""
    from controller.p4rt.write import decode_write_error

    class Exc(grpc.aio.AioRpcError):
        def __init__(self) -> None:
            super().__init__(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                grpc.aio.Metadata(),
                grpc.aio.Metadata(),
                "Stream removed (received metadata size exceeds hard limit)",
            )

    err = decode_write_error(Exc(), [], None)
    assert isinstance(err, RpcError)
    assert "error details were larger than this client accepts" in str(err)


async def test_a_bad_entity_stops_the_write_at_its_batch(
    primed: tuple[P4RuntimeClient, str],
) -> None:
    """Batches are encoded while the one before is in flight: the batches before a
    bad entity are written, its own batch is not sent."""
    client, _ = primed
    client.batch_size = 2
    fresh = [route(i) for i in range(1001, 1004)]
    bad = TableEntry("vrf_fib", {"vrf": 1, "dst": "10.9.9.1/24"}, "push_label", {"label": 1})
    with pytest.raises(P4ValueError, match="host bits"):
        await client.insert([*fresh, bad])
    got = {client.entry_string(x) for x in await client.read([TableEntry("vrf_fib")])}
    assert {client.entry_string(x) for x in fresh[:2]} <= got
    assert client.entry_string(fresh[2]) not in got
