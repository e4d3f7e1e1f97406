"""The daemon's status records, rendered by the control API's own renderers."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from controller.api.render import render
from controller.app.daemon import Daemon
from controller.bgp.core import RouteEvent
from controller.bgp.resolve import Verdict
from controller.config import Config
from controller.ipsec.sad import TunnelChange

pytestmark = pytest.mark.unit
ip, net = ipaddress.ip_address, ipaddress.ip_network


def test_records_render_and_serialise(cpe_config: Config) -> None:
    d = Daemon(cpe_config, Path("."), {ip("10.255.0.1"): ip("198.51.100.1")})
    peer = ip("198.51.100.12")
    for ev in (
        RouteEvent("blue", net("10.1.1.0/24"), local=True, label=100, rd="65000:1"),
        RouteEvent(
            "blue", net("10.2.2.0/24"), label=200, next_hop=ip("10.255.0.12"),
            verdict=Verdict.RESOLVED, tunnel_endpoint=peer, security_handle=b"\x01\x80\x00\x00",
            rd="65000:2",
        ),
        RouteEvent("green", net("10.9.0.0/24"), label=300, next_hop=ip("10.255.0.99"),
                   verdict=Verdict.SPOOF),
    ):  # fmt: skip
        d.plane.composer.route_event(ev)
    # the peer is behind a NAT: its SAs are at the NAT's public address
    change = TunnelChange((peer, None, "mpls"), 2, 1, (1,), ip("203.0.113.9"))
    d.plane.composer.tunnel_change(change)
    routes = d.status.routes()
    by_prefix = {r["prefix"]: r for r in routes}
    assert by_prefix["10.2.2.0/24"]["installed"] and by_prefix["10.2.2.0/24"]["rd"] == "65000:2"
    assert by_prefix["10.9.0.0/24"]["verdict"] == "spoof"
    assert not by_prefix["10.9.0.0/24"]["installed"]
    assert d.status.routes(vrf="green", family="ipv6") == []
    tunnels = d.status.tunnels()
    assert tunnels == [
        {
            "remote": "10.255.0.12",
            "endpoint": "198.51.100.12",
            "tenant": None,
            "security_handle_len": 4,
            "security_handle": "v1 set=0 initiates",
            "outer": "203.0.113.9",
            "tunnel_id": None,  # ids are given when entries are rendered
            "sa_out": 2,
            "sa_in": 1,
            "child_sa": "mpls",
            "verdict": "resolved",
            "via": None,
        }
    ]
    for what, data in (
        ("vrf", d.status.vrfs()),
        ("routes", routes),
        ("bgp", d.status.bgp()),
        ("sa", d.status.sas()),
        ("tunnels", tunnels),
    ):
        text = render(what, data)
        assert isinstance(text, str) and text
        json.dumps(data)
    assert "spoof" in render("routes", routes)
    shown = render("tunnels", tunnels)
    assert "198.51.100.12 via 203.0.113.9" in shown and "v1 set=0 initiates (4B)" in shown


def test_tenant_hosts_are_relearned_aged_and_probed() -> None:
    from controller.app.desired import Neighbour
    from controller.app.redhosts import RedHosts

    table: set[Neighbour] = set()
    hosts = RedHosts(table, ttl=600, probe_window=60, probe_every=10)
    a = ip("10.1.1.10")
    assert hosts.learn(1, a, "02:bb:00:00:00:10", now=0)
    assert not hosts.learn(1, a, "02:bb:00:00:00:10", now=5)  # heard again: no change
    assert hosts.learn(1, a, "02:bb:00:00:00:11", now=6)  # the host's NIC was replaced
    assert table == {Neighbour(a, "02:bb:00:00:00:11", 1)}
    assert hosts.learn(2, a, "02:cc:00:00:00:10", now=300)  # same address, other tenant
    assert hosts.age(now=500) == (False, [])
    assert hosts.age(now=550) == (False, [a])  # port 1's host: last minute, asked
    assert hosts.age(now=555) == (False, [])  # ... not again within probe_every
    assert hosts.age(now=607) == (True, [])  # never answered: forgotten
    assert table == {Neighbour(a, "02:cc:00:00:00:10", 2)}


def test_lazy_first_packet_asks_ipsec_for_the_remote_route(cpe_config: Config) -> None:
    d = Daemon(cpe_config, Path("."), {ip("10.255.0.1"): ip("198.51.100.1")})
    d.plane.composer.route_event(
        RouteEvent(
            "blue", net("10.2.2.0/24"), label=200, next_hop=ip("10.255.0.12"),
            verdict=Verdict.RESOLVED, tunnel_endpoint=ip("198.51.100.12"),
        )
    )  # fmt: skip
    asked: list[tuple[str, str | None]] = []

    class Ipsec:  # records what the daemon asks the IPsec runtime
        def packet_needs_tunnel(self, peer: str, tenant: str | None = None) -> None:
            asked.append((peer, tenant))

    d.plane.ipsec = Ipsec()  # type: ignore[assignment]
    d.plane.needs_route(1, ip("10.2.2.7"))  # port 1 is VRF blue
    d.plane.needs_route(2, ip("10.2.2.7"))  # port 2 is VRF green: no such route there
    d.plane.needs_route(1, ip("10.9.9.9"))  # no route at all
    assert asked == [("198.51.100.12", None)]
    assert d.plane.composer.counters["lazy_triggers"] == 1


def test_per_tenant_tunnels_show_their_own_tenants_handle(cpe_config: Config) -> None:
    d = Daemon(cpe_config, Path("."), {ip("10.255.0.1"): ip("198.51.100.1")})
    d.plane.composer.per_tenant = True
    peer = ip("198.51.100.12")
    for vrf, prefix, handle in (("green", "10.2.2.0/24", "01000002"),
                                ("blue", "10.2.3.0/24", "01000001")):  # fmt: skip
        d.plane.composer.route_event(
            RouteEvent(
                vrf, net(prefix), label=200, next_hop=ip("10.255.0.12"),
                verdict=Verdict.RESOLVED, tunnel_endpoint=peer,
                security_handle=bytes.fromhex(handle),
            )
        )  # fmt: skip
    shown = {t["tenant"]: t["security_handle"] for t in d.status.tunnels()}
    assert shown == {"blue": "v1 set=1", "green": "v1 set=2"}
