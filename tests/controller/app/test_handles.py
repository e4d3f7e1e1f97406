"""Our Security Handles on the red loopback routes (controller/app/handles.py)."""

from __future__ import annotations

import pytest

from controller.app.handles import local_sets, with_handles
from controller.app.ids import IdPool
from controller.config import Config, parse
from controller.config.adapters import speaker_config
from controller.ipsec.handle import SecurityHandle

pytestmark = pytest.mark.unit

CPE = """
node: {name: cpe3, role: cpe, as: 65000, router_id: 192.0.2.13}
loopbacks:
  black: 198.51.100.13
  red: 10.255.0.13
  tenants: {blue: 10.255.1.13, green: 10.255.2.13}
switch:
  ports:
    - {port: 1, name: blue0, role: red, vrf: blue, address: 10.1.3.1/24}
    - {port: 2, name: green0, role: red, vrf: green, address: 10.1.3.1/24}
    - {port: 3, name: wan0, role: black, address: 10.254.3.2/30}
    - {port: 255, role: cpu}
    - {port: 254, role: crypto}
vrfs:
  - {name: blue, rd: "65000:1", import: ["65000:1"], export: ["65000:1"], table_id: 7}
  - {name: green, rd: "65000:2", import: ["65000:2"], export: ["65000:2"]}
bgp:
  neighbors:
    - {address: 10.255.0.1, black_address: 198.51.100.1, as: 65000, type: red}
ike:
  auth: {psk: "test key"}
  per_tenant_sas: true
  nat_traversal: {behind_nat: true}
"""


def config(extra: str = "") -> Config:
    return parse(CPE + extra, "cpe3.yml")


def handles(cfg: Config) -> dict[str, bytes | None]:
    ids = IdPool("VRF")
    ids.reserve("blue", 7)
    ids.get("green")
    speaker = with_handles(speaker_config(cfg), cfg, local_sets(cfg, ids))
    return {lo.tenant or "red": lo.security_handle for lo in speaker.red_loopbacks}


def test_each_red_loopback_gets_its_own_set_and_the_nat_flag() -> None:
    got = handles(config())
    assert got == {
        "red": SecurityHandle(0, initiates=True).encode(),
        "blue": SecurityHandle(7, initiates=True).encode(),
        "green": SecurityHandle(1, initiates=True).encode(),  # the first id not configured
    }
    assert len(set(got.values())) == 3  # distinct per red loopback (draft section 4)


def test_configured_octets_override_and_auto_off_sends_only_those() -> None:
    extra = "tunnel_encapsulation: {auto_security_handles: false}\n"
    cfg = config(extra)
    cfg.loopbacks.security_handles["blue"] = "0xbeef"
    assert handles(cfg) == {"red": None, "blue": b"\xbe\xef", "green": None}
    cfg = config()
    cfg.loopbacks.security_handles["green"] = "0x02000001"
    assert handles(cfg)["green"] == b"\x02\x00\x00\x01"


def test_ike_port_is_carried_when_not_500() -> None:
    cfg = config()
    assert cfg.ike is not None
    cfg.ike.port = 4501
    cfg.ike.nat_traversal.behind_nat = False
    assert handles(cfg)["red"] == SecurityHandle(0, ike_port=4501).encode()
