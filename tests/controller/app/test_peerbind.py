"""C-PEs met by name (certificates + peer_identities): the C-PE at tunnel endpoint X must
hold, in its certificate, the red loopbacks our routes resolve through to X
(controller/app/peerbind.py), in either IKE role."""

from __future__ import annotations

import ipaddress

import pytest

from controller.app.peerbind import endpoint_binding
from controller.bgp.vpnview import RouteEvent
from controller.ipsec.ike.config import Credentials, IkeConfig, Lifetimes
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.ike.pki import Issued, issue, make_ca
from controller.ipsec.ike.sa import IkeState
from tests.controller.ipsec.ike.harness import A_ADDR, B_ADDR, Net, transport_child

pytestmark = pytest.mark.unit
RED_A, RED_B = "10.255.0.11", "10.255.0.12"


@pytest.fixture(scope="module")
def ca() -> Issued:
    return make_ca()


def node(ca: Issued, me: str, name: str, reds: tuple[str, ...], peer: str) -> IkeDaemon:
    mine = issue(ca, name, red_loopbacks=reds)
    cfg = IkeConfig(
        "peer", name, None, creds=Credentials(mine.cert_der, mine.key_pem, [ca.cert_der]),
        children=[transport_child(me, peer)], lifetimes=Lifetimes(None, None),
        remote_patterns=("*.cpe.example",), remote_addr=peer,
    )  # fmt: skip
    return IkeDaemon([cfg])


def route_via(endpoint: str, next_hop: str) -> list[RouteEvent]:
    """A VPN-IPv4 route and a VPN-IPv6 one (its IPv4 next hop IPv4-mapped, as BGP gives it)."""
    hops = (ipaddress.ip_address(next_hop), ipaddress.ip_address(f"::ffff:{next_hop}"))
    nets = (ipaddress.ip_network("10.1.2.0/24"), ipaddress.ip_network("2001:db8:1:2::/64"))
    end = ipaddress.ip_address(endpoint)
    return [
        RouteEvent("blue", net, label=100, next_hop=hop, tunnel_endpoint=end)
        for net, hop in zip(nets, hops, strict=True)
    ]


@pytest.mark.parametrize(
    ("b_binds", "a_checks", "b_checks", "up"),
    [
        ((RED_B,), True, False, True),  # B holds the loopback A's route goes to
        (("10.255.0.99",), True, False, False),  # someone else's certificate at B: A refuses
        (("10.255.0.99",), False, False, True),  # nobody checks: it would have come up
    ],
    ids=["bound", "initiator-refuses", "unchecked"],
)
def test_initiator_checks_the_responder(
    ca: Issued, b_binds: tuple[str, ...], a_checks: bool, b_checks: bool, up: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    a = node(ca, A_ADDR, "cpe1.cpe.example", (RED_A,), B_ADDR)
    b = node(ca, B_ADDR, "cpe2.cpe.example", b_binds, A_ADDR)
    if a_checks:
        a.on_authenticated = endpoint_binding(lambda: route_via(B_ADDR, RED_B))
    net = Net({A_ADDR: a, B_ADDR: b})
    sa = a.initiate("peer", (A_ADDR, 500), (B_ADDR, 500), net.now)
    net.pump()
    assert (sa.state == IkeState.ESTABLISHED) is up
    if not up:
        assert f"does not bind red loopback {RED_B} whose routes name {B_ADDR}" in caplog.text


def test_responder_checks_the_initiator(ca: Issued, caplog: pytest.LogCaptureFixture) -> None:
    a = node(ca, A_ADDR, "cpe1.cpe.example", ("10.255.0.99",), B_ADDR)  # not A's loopback
    b = node(ca, B_ADDR, "cpe2.cpe.example", (RED_B,), A_ADDR)
    b.on_authenticated = endpoint_binding(lambda: route_via(A_ADDR, RED_A))
    net = Net({A_ADDR: a, B_ADDR: b})
    sa = a.initiate("peer", (A_ADDR, 500), (B_ADDR, 500), net.now)
    net.pump()
    assert sa.state != IkeState.ESTABLISHED and not b.established()
    assert "AUTHENTICATION_FAILED" in net.events[A_ADDR][-1][1].reason  # type: ignore[union-attr]
    assert f"does not bind red loopback {RED_A}" in caplog.text
