"""Parsing the kernel's neighbour and route tables (iproute2 JSON)."""

from __future__ import annotations

import ipaddress
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.hostif.bridge import is_link_local_control
from controller.hostif.kernel import parse_neighbours, parse_routes

pytestmark = pytest.mark.unit

NEIGH = json.dumps(
    [
        {
            "dst": "203.0.113.1",
            "dev": "wan0",
            "lladdr": "02:AA:00:00:00:01",
            "state": ["REACHABLE"],
        },
        {"dst": "fe80::1", "dev": "wan0", "lladdr": "02:aa:00:00:00:01", "state": ["STALE"]},
        {"dst": "203.0.113.3", "dev": "wan0", "state": ["FAILED"]},
        {"dst": "10.1.1.9", "dev": "blue0", "lladdr": "02:bb:00:00:00:09", "state": ["INCOMPLETE"]},
    ]
)
ROUTES = json.dumps(
    [
        {"dst": "default", "gateway": "203.0.113.1", "dev": "wan0", "flags": []},
        {"dst": "203.0.113.0/30", "dev": "wan0", "protocol": "kernel", "prefsrc": "203.0.113.2"},
        {"type": "blackhole", "dst": "10.0.0.0/8", "flags": []},
    ]
)


def test_usable_neighbours_only() -> None:
    problems: list[str] = []
    got = parse_neighbours(NEIGH, problems)
    assert [(str(n.ip), n.mac, n.dev) for n in got] == [
        ("203.0.113.1", "02:aa:00:00:00:01", "wan0"),
        ("fe80::1", "02:aa:00:00:00:01", "wan0"),
    ]
    assert problems == []


def test_routes_default_connected_and_skipped_types() -> None:
    problems: list[str] = []
    got = parse_routes(ROUTES, 4, problems)
    assert [(str(r.prefix), r.dev, str(r.gateway)) for r in got] == [
        ("0.0.0.0/0", "wan0", "203.0.113.1"),
        ("203.0.113.0/30", "wan0", "None"),
    ]
    assert parse_routes(json.dumps([{"dst": "default", "dev": "wan0"}]), 6, [])[0].prefix == (
        ipaddress.ip_network("::/0")
    )


def test_bad_items_are_one_line_problems() -> None:
    problems: list[str] = []
    bad = [{"dst": "nope", "dev": "x", "lladdr": "02:00:00:00:00:01", "state": ["REACHABLE"]}]
    assert parse_neighbours(json.dumps(bad), problems) == []
    assert parse_routes("{", 4, problems) == []
    assert parse_routes(json.dumps([{"dst": "10.0.0.0/8"}]), 4, problems) == []
    assert problems == [
        "ip neigh[0]: 'nope' is not an IP address",
        "ip route: not JSON (Expecting property name enclosed in double quotes at offset 1)",
        "ip route[0]: dst/dev missing or not text",
    ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
keys = st.sampled_from(["dst", "dev", "lladdr", "state", "gateway", "type"])
items = st.lists(st.dictionaries(keys, json_values, max_size=6), max_size=5)


@given(st.one_of(json_values, items))
def test_any_json_never_raises(doc: object) -> None:
    problems: list[str] = []
    parse_neighbours(json.dumps(doc), problems)
    parse_routes(json.dumps(doc), 4, problems)
    assert all("\n" not in p for p in problems)


def test_link_local_control_frames() -> None:
    arp = bytes(12) + b"\x08\x06" + bytes(28)
    ns = bytes(12) + b"\x86\xdd" + bytes(6) + bytes([58]) + bytes(33) + bytes([135]) + bytes(10)
    echo = bytes(12) + b"\x86\xdd" + bytes(6) + bytes([58]) + bytes(33) + bytes([128]) + bytes(10)
    ipv4 = bytes(12) + b"\x08\x00" + bytes(40)
    assert is_link_local_control(arp) and is_link_local_control(ns)
    assert not is_link_local_control(echo) and not is_link_local_control(ipv4)
    assert not is_link_local_control(b"\x00" * 5)
