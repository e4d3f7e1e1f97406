"""Show output (text and JSON) for sessions, routes, VRFs and resolution with spoofs."""

import json

import pytest
from bgp_pump import RR, A, B, E, ip, net_, spoof_setup

from controller.bgp import show
from controller.bgp.path import Color

pytestmark = pytest.mark.unit


def test_show_everything_after_a_spoof() -> None:
    net = spoof_setup()
    a, b, e = net.node(A), net.node(B), net.node(E)
    e.announce(net_("10.255.0.0/16"), ip(E), Color.BLACK, net.now)
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    b.add_vrf_route("blue", net_("172.16.2.0/24"), net.now)
    net.settle()

    sess = {d["neighbor"]: d for d in show.sessions_data(b, net.now)}
    assert sess[RR]["state"] == "Established" and sess[RR]["color"] == "red"
    assert "vpnv4" in sess[RR]["families"] and "vpnv4" not in sess[E]["families"]
    assert sess[E]["color"] == "black" and sess[E]["received"] == 1
    text = show.sessions_text(b)
    assert RR in text and E in text and "Established" in text

    res = show.resolution_data(b)
    assert res["spoof_count"] == 1
    assert res["spoofs"][0]["via"] == f"10.255.0.0/16 from {E}"
    assert [r["verdict"] for r in res["routes"]] == ["spoof"]
    assert "SPOOF 10.255.0.1:1:172.16.1.0/24" in show.resolution_text(b)

    vrf = show.vrf_data(b, "blue")
    assert [(r["prefix"], r["verdict"]) for r in vrf["routes"]] == [
        ("172.16.1.0/24", "spoof"),
        ("172.16.2.0/24", "local"),
    ]
    assert vrf["import"] == ["65000:100"]
    assert "172.16.2.0/24" in show.vrf_text(b, "blue")

    routes = show.routes_data(b, "vpnv4")
    assert {r["nlri"] for r in routes} == {
        "10.255.0.1:1:172.16.1.0/24",
        "10.255.0.2:1:172.16.2.0/24",
    }
    assert "10.255.0.2:1:172.16.2.0/24" in show.routes_text(b, "vpnv4")
    # JSON round-trips, and Security Handles never appear in clear.
    blob = show.to_json({"r": show.routes_data(net.node(RR), "ipv4-unicast")})
    assert json.loads(blob)["r"][0]["tunnels"][0]["security_handle_len"] == 2


def test_show_adj_rib_in_and_out_of_a_neighbor() -> None:
    from bgp_pump import vpn_trio

    net = vpn_trio()
    a, rr = net.node(A), net.node(RR)
    a.add_vrf_route("blue", net_("172.16.1.0/24"), net.now)
    net.settle()
    sent = show.neighbor_routes_data(a, ip(RR), "advertised")
    assert {(d["family"], d["nlri"]) for d in sent} == {
        ("ipv4-unicast", "10.255.0.1/32"),
        ("vpnv4", "10.255.0.1:1:172.16.1.0/24"),
        ("rtc", "rt-membership 65000 rt 65000:100"),  # its VRF's import RT (RFC 4684)
    }
    got = show.neighbor_routes_data(rr, ip(A), "received")
    assert [d["nlri"] for d in got] == [d["nlri"] for d in sorted(sent, key=lambda d: d["nlri"])]
    assert all(d["best"] for d in got)
    with pytest.raises(ValueError, match="expected 'received' or 'advertised'"):
        show.neighbor_routes_data(rr, ip(A), "sideways")
