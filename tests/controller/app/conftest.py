"""Fixtures: the product's P4 program in p4sim's real P4Runtime server, in process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controller.config import Config, parse
from controller.p4rt import P4RuntimeClient
from targets.p4sim.runtime.bundle import bundle_from_path
from targets.p4sim.runtime.device import Device
from targets.p4sim.runtime.loader import load_engine
from targets.p4sim.runtime.server import start_server

ROOT = Path(__file__).resolve().parents[3]
PROGRAM = ROOT / "p4src" / "cpe.p4"

CPE = """
node: {name: cpe1, role: cpe, as: 65000, router_id: 192.0.2.11}
loopbacks: {black: 198.51.100.11, red: 10.255.0.11}
switch:
  ports:
    - {port: 1, name: blue0, role: red, vrf: blue, address: [10.1.1.1/24, "2001:db8:1:1::1/64"]}
    - {port: 2, name: green0, role: red, vrf: green, address: 10.1.1.1/24}
    - {port: 3, name: wan0, role: black, address: 203.0.113.2/30}
    - {port: 255, role: cpu}
    - {port: 254, role: crypto}
vrfs:
  - {name: blue, rd: "65000:1", import: ["65000:1"], export: ["65000:1"], table_id: 1,
     routes: [{prefix: 10.1.1.0/24, interface: blue0}]}
  - {name: green, rd: "65000:2", import: ["65000:2"], export: ["65000:2"], table_id: 2}
bgp:
  neighbors:
    - {address: 10.255.0.1, as: 65000, type: red}
    - {address: 203.0.113.1, as: 64500, type: black}
ike: {auth: {psk: "test key"}}
"""


@pytest.fixture
def cpe_text() -> str:
    """The configuration text behind ``cpe_config``, for tests that vary it."""
    return CPE


@pytest.fixture
def cpe_config() -> Config:
    return parse(CPE, "cpe1.yml")


@pytest.fixture
async def switch() -> AsyncIterator[P4RuntimeClient]:
    device = Device(load_engine, device_id=1, cpu_port=255)
    device.load_at_start(bundle_from_path(PROGRAM))
    server, port = await start_server(device, "127.0.0.1:0")
    client = P4RuntimeClient(f"127.0.0.1:{port}", device_id=1, election_id=1)
    try:
        await client.connect(timeout=10)
        await client.get_pipeline()
        yield client
    finally:
        await client.close()
        await server.stop(None)
