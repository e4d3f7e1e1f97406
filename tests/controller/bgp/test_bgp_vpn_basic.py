"""Two C-PEs and a route reflector exchange VPN routes; the app sees resolved routes."""

import pytest
from bgp_pump import Net, ip, net_, states, vpn_trio

from controller.bgp.resolve import Verdict

pytestmark = pytest.mark.unit


@pytest.fixture
def trio() -> Net:
    return vpn_trio()


def test_sessions_establish(trio: Net) -> None:
    rr, a = trio.node("192.0.2.100"), trio.node("192.0.2.1")
    assert states(rr) == {"192.0.2.1": "Established", "192.0.2.2": "Established"}
    assert states(a) == {"192.0.2.100": "Established"}


@pytest.mark.parametrize("prefix", ["172.16.1.0/24", "2001:db8:1::/48"])
def test_vpn_route_resolves_through_red_loopback_route(trio: Net, prefix: str) -> None:
    net, a, b = trio, trio.node("192.0.2.1"), trio.node("192.0.2.2")
    label = a.add_vrf_route("blue", net_(prefix), net.now)
    net.settle()
    events = [e for e in b.route_events() if e.prefix == net_(prefix)]
    assert len(events) == 1
    ev = events[0]
    assert (ev.vrf, ev.label, ev.verdict) == ("blue", label, Verdict.RESOLVED)
    # Draft 4: the tunnel endpoint is the black loopback from the Tunnel Encapsulation
    # attribute, and the next hop is the red loopback.
    assert ev.tunnel_endpoint == ip("198.51.100.1")
    assert ev.security_handle == b"\x01\x02"
    assert ev.next_hop in (ip("10.255.0.1"), ip("::ffff:10.255.0.1"))
    a.remove_vrf_route("blue", net_(prefix), net.now)
    net.settle()
    gone = b.route_events()
    assert [(e.prefix, e.withdrawn) for e in gone] == [(net_(prefix), True)]
    assert b.vrf_routes("blue") == []
