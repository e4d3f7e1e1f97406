from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from finsy.proto import p4i

from controller.p4rt import Codec, P4Schema, load_p4info

from .fake_switch import FakeSwitch, start_fake

P4INFO_PATH = Path(__file__).with_name("program.p4info.txtpb")


@pytest.fixture(scope="session")
def p4info() -> p4i.P4Info:
    return load_p4info(str(P4INFO_PATH))


@pytest.fixture(scope="session")
def codec(p4info: p4i.P4Info) -> Codec:
    return Codec(P4Schema(p4info))


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeSwitch, str]]:
    switch = FakeSwitch(device_id=1)
    server, address = await start_fake(switch)
    try:
        yield switch, address
    finally:
        await server.stop(None)
