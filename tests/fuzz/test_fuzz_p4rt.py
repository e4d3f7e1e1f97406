"""p4sim's P4Runtime server over loopback gRPC against 2,000 hostile requests (cpe.p4).

The server runs in this process (a background event loop), the attack is
tests/fuzz/p4rt_run.py: after every 250 inputs the good client must still be
primary, read back its entries unchanged and write; the server must log no
traceback nor internal error. ``benchmarks/p4rt_fuzz.py`` is the long run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from finsy.proto import p4r

from targets.p4sim.runtime.bundle import bundle_from_path
from targets.p4sim.runtime.device import Device
from targets.p4sim.runtime.loader import load_engine
from targets.p4sim.runtime.server import start_server
from tests.fuzz.p4rt_inputs import MAX_ID, eid
from tests.fuzz.p4rt_run import Attack, rss_mb

pytestmark = pytest.mark.unit

CPE = Path(__file__).resolve().parents[2] / "p4src" / "cpe.p4"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, Device]]:
    device = Device(load_engine, cpu_port=255)
    device.load_at_start(bundle_from_path(CPE))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server, port = asyncio.run_coroutine_threadsafe(
        start_server(device, "127.0.0.1:0"), loop
    ).result(30)
    yield f"127.0.0.1:{port}", device
    asyncio.run_coroutine_threadsafe(server.stop(None), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_hostile_requests_leave_the_good_client_served(
    served: tuple[str, Device], caplog: pytest.LogCaptureFixture
) -> None:
    address, device = served
    assert device.pipeline is not None
    pipe = device.pipeline.config
    caplog.set_level(logging.WARNING)
    attack = Attack(address, pipe.p4info, pipe.p4_device_config, 0, seed=1)
    before = rss_mb(os.getpid())
    try:
        attack.run(2000, batch=250)
        streams = device.arbitration._streams
        deadline = time.monotonic() + 5  # the server forgets an ended stream a moment later
        while len(streams) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(streams) == 1, f"{len(streams)} streams left, the good one only expected"
    finally:
        attack.close()
    print(f"RSS {before:.1f} -> {rss_mb(os.getpid()):.1f} MB", dict(attack.outcomes))
    assert attack.failures == []
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    bad += [r for r in caplog.records if r.name.startswith("p4sim")]
    assert bad == [], [r.getMessage() for r in bad]
    rpcs = {rpc for rpc, _ in attack.outcomes}
    assert len(rpcs) == 6, rpcs
    codes = {code for _, code in attack.outcomes}
    assert {"OK", "INVALID_ARGUMENT", "PERMISSION_DENIED"} <= codes, codes


@pytest.mark.parametrize("rpc", ["Write", "Read", "SetForwardingPipelineConfig", "Capabilities"])
def test_an_invalid_encoding_is_invalid_argument(served: tuple[str, Device], rpc: str) -> None:
    """Not a traceback in the log and UNKNOWN, as grpc's own decoding failure gives."""
    with grpc.insecure_channel(served[0]) as channel:
        call = channel.unary_unary(f"/p4.v1.P4Runtime/{rpc}", None, None)
        with pytest.raises(grpc.RpcError) as err:
            for _ in [call(b"\x0a\xff\xff", timeout=10)] if rpc != "Read" else []:
                pass
            if rpc == "Read":
                list(channel.unary_stream("/p4.v1.P4Runtime/Read", None, None)(b"\xff", timeout=10))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value  # type: ignore[attr-defined]
    assert "not a valid p4.v1." in err.value.details()  # type: ignore[attr-defined]


def test_an_invalid_stream_message_ends_the_stream_with_invalid_argument(
    served: tuple[str, Device],
) -> None:
    with grpc.insecure_channel(served[0]) as channel:
        call = channel.stream_stream("/p4.v1.P4Runtime/StreamChannel", None, None)
        with pytest.raises(grpc.RpcError) as err:
            list(call(iter([b"\x0a\xff"]), timeout=10))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value  # type: ignore[attr-defined]


def test_many_would_be_primaries_leave_the_primary_alone(served: tuple[str, Device]) -> None:
    """50 streams claim the primary's election id, 50 more a lower one, at the same time."""
    address, device = served
    assert device.pipeline is not None
    pipe = device.pipeline.config
    attack = Attack(address, pipe.p4info, pipe.p4_device_config, 0, seed=3)
    try:
        calls, codes = [], []
        for i in range(100):
            arb = p4r.StreamMessageRequest()
            arb.arbitration.device_id = 0
            eid(arb.arbitration, MAX_ID if i % 2 == 0 else MAX_ID - 1 - i)  # type: ignore[arg-type]
            calls.append(attack.stream(iter([arb.SerializeToString()]), timeout=10))
        for call in calls:
            try:
                list(call)
                codes.append("OK")
            except grpc.RpcError as exc:
                codes.append(exc.code().name)  # type: ignore[attr-defined]
        assert codes[0::2] == ["INVALID_ARGUMENT"] * 50  # the primary's id is taken
        assert codes[1::2] == ["OK"] * 50  # backups, gone when their stream ends
        attack.check("after 100 would-be primaries")
        assert attack.failures == []
    finally:
        attack.close()
