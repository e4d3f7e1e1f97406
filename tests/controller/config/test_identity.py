"""Per-peer IKE keys and the identity binding of red loopbacks: configuration checks,
and what the IKE and BGP sides get from them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from config_sample import LAB_PSK, NO_NEIGHBORS

from controller.app.ikeconf import NoPeerKey, make_ike_config
from controller.config import ConfigError, parse
from controller.config.adapters import speaker_config

pytestmark = pytest.mark.unit

CERTS = {"ca": [], "cert": "c.pem", "key": "k"}
RR1 = {"address": "10.255.0.1", "black_address": "198.51.100.1", "as": 65000, "type": "red"}


def config(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(NO_NEIGHBORS)
    data["bgp"] = {"neighbors": [dict(RR1)]}
    for key, value in changes.items():
        if key == "neighbor":
            data["bgp"]["neighbors"][0].update(value)
        elif key == "auth":
            data["ike"]["auth"] = value
    return data


def problems(data: dict[str, Any]) -> list[str]:
    try:
        parse(yaml.safe_dump(data, sort_keys=False), "t.yml", None)
    except ConfigError as exc:
        return exc.lines()
    return []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {"auth": {"peer_psks": {"rr1.example": "k" * 20}}},
            "ike.auth.peer_psks: 'rr1.example' is not an IP address",
        ),
        (
            {"auth": {"peer_psks": {"198.51.100.1": "k"}, "certificates": CERTS}},
            "ike.auth: give exactly one of psk or certificates",
        ),
        (
            {"auth": {"peer_psks": {"198.51.100.9": "k" * 20}}},
            "bgp.neighbors[0].black_address: no ike.auth.peer_psks entry for 198.51.100.1",
        ),
        (
            {"neighbor": {"originates": ["10.255.0.1"], "black_address": None}},
            "bgp.neighbors[0].originates: needs black_address",
        ),
        (
            {"neighbor": {"originates": ["10.255.0.9"]}},
            "bgp.neighbors[0].originates[0]: 10.255.0.9 is one of our own loopbacks",
        ),
        (
            {"neighbor": {"endpoints": ["198.51.100.7"]}},
            "bgp.neighbors[0].endpoints: only apply with originates",
        ),
        (
            {"neighbor": {"originates": ["10.255.0.1", "10.255.0.1"]}},
            "originates[1]: 10.255.0.1 is already bound to bgp.neighbors[0]",
        ),
        (
            {"neighbor": {"originates": ["10.255.0.300"]}},
            "bgp.neighbors[0].originates[0]: is not a valid IPv4 or IPv6 address",
        ),
    ],
)
def test_identity_config_errors_are_one_line(changes: dict[str, Any], expected: str) -> None:
    lines = problems(config(**changes))
    assert any(expected in line for line in lines), lines
    assert all("\n" not in line and line.startswith("t.yml:") for line in lines), lines


def test_per_peer_key_is_used_for_that_peer_only() -> None:
    data = config(auth={"psk": LAB_PSK, "peer_psks": {"198.51.100.1": "rr1-own-key-0123456789"}})
    cfg = parse(yaml.safe_dump(data, sort_keys=False), "t.yml", None)
    assert problems(data) == []
    rr1 = make_ike_config(cfg, "198.51.100.1", {})
    other = make_ike_config(cfg, "198.51.100.12", {})
    assert (rr1.remote_id, rr1.psk) == ("198.51.100.1", b"rr1-own-key-0123456789")
    assert other.psk == LAB_PSK.encode()
    # Without a group key, a peer with no key of its own gets no config at all.
    data = config(auth={"peer_psks": {"198.51.100.1": "rr1-own-key-0123456789"}})
    cfg = parse(yaml.safe_dump(data, sort_keys=False), "t.yml", None)
    with pytest.raises(NoPeerKey, match=r"no IKE key for peer 198\.51\.100\.12"):
        make_ike_config(cfg, "198.51.100.12", {})
    assert "rr1-own-key" not in repr(cfg)


def test_binding_reaches_the_bgp_neighbour() -> None:
    data = config(neighbor={"originates": ["10.255.0.1", "10.255.1.1"], "endpoints": ["192.0.2.7"]})
    cfg = parse(yaml.safe_dump(data, sort_keys=False), "t.yml", None)
    (n,) = speaker_config(cfg).neighbors
    assert [str(a) for a in n.originates or ()] == ["10.255.0.1", "10.255.1.1"]
    assert [str(a) for a in n.endpoints] == ["198.51.100.1", "192.0.2.7"]
    (unbound,) = speaker_config(parse(yaml.safe_dump(config()), "t.yml", None)).neighbors
    assert unbound.originates is None
