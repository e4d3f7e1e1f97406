"""``bgp.auto_discovery`` (draft 3.2): a route reflector's C-PEs admitted by certificate."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from controller.config import ConfigError, parse

pytestmark = pytest.mark.unit

RR: dict[str, Any] = {
    "node": {"name": "rr1", "role": "rr", "as": 65000, "router_id": "192.0.2.1"},
    "loopbacks": {"black": "198.51.100.1", "red": "10.255.0.1"},
    "switch": {
        "ports": [
            {"port": 1, "name": "wan0", "role": "black", "address": "203.0.113.6/30"},
            {"port": 255, "role": "cpu"},
            {"port": 254, "role": "crypto"},
        ]
    },
    "bgp": {"auto_discovery": {"identities": ["*.cpe.example"]}},
    "ike": {"auth": {"certificates": {"ca": ["ca.pem"], "cert": "rr1.pem", "key": "k"}}},
}


def problems(data: dict[str, Any], base: Path | None = None) -> list[str]:
    try:
        parse(yaml.safe_dump(data, sort_keys=False), "rr.yml", base)
    except ConfigError as exc:
        return exc.lines()
    return []


def with_(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(RR)
    *parents, last = path.split(".")
    node = data
    for p in parents:
        node = node[p]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return data


def test_valid_discovery_config(tmp_path: Path) -> None:
    for name in ("ca.pem", "rr1.pem"):
        (tmp_path / name).write_text("x")
    assert problems(RR, tmp_path) == []
    cfg = parse(yaml.safe_dump(RR), "rr.yml", tmp_path)
    auto = cfg.bgp.auto_discovery
    assert auto is not None and auto.identities == ["*.cpe.example"]
    assert auto.route_reflector_client and auto.families == ["vpnv4", "vpnv6", "ipv4-unicast"]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            "bgp.auto_discovery.identities",
            ["cpe*.example"],
            "bgp.auto_discovery.identities: [0]: identity pattern 'cpe*.example': '*' only as",
        ),
        ("bgp.auto_discovery.identities", [], "bgp.auto_discovery.identities"),
        (
            "bgp.auto_discovery.families",
            ["vpnv4", "l2vpn"],
            "bgp.auto_discovery.families: unknown families l2vpn",
        ),
        (
            "bgp.auto_discovery.hold_time",
            2,
            "bgp.auto_discovery.hold_time: must be 0 or at least 3",
        ),
        (
            "ike.auth",
            {"psk": "k" * 20},
            "bgp.auto_discovery: needs ike.auth.certificates",
        ),
        ("node.role", "cpe", "bgp.auto_discovery: only a route reflector discovers"),
        ("loopbacks.red", None, "bgp.auto_discovery: needs loopbacks.red"),
        ("bgp.auto_discovery.colour", "red", "bgp.auto_discovery.colour"),
    ],
)
def test_mistakes_are_named(path: str, value: Any, expected: str) -> None:
    found = problems(with_(path, value))
    assert any(expected in line for line in found), found


def test_missing_ca_file_is_named(tmp_path: Path) -> None:
    for name in ("ca.pem", "rr1.pem"):
        (tmp_path / name).write_text("x")
    data = with_("bgp.auto_discovery.ca", ["cpe-ca.pem"])
    data["ike"]["auth"]["certificates"]["key"] = "inline-key-for-the-test"
    found = problems(data, tmp_path)
    assert any(
        f"bgp.auto_discovery.ca[0]: file {tmp_path / 'cpe-ca.pem'} does not exist" in line
        for line in found
    ), found
