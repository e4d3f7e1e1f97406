"""IPv4 options (IHL > 5): forwarded on every tenant path with a correct header checksum.

The pipeline parses the fixed 20 octets only and decrements the TTL once per
C-PE; the checksum it leaves must be the one scapy computes over the whole
header, options included (p4src/README.md, "IPv4 options"). Options are a
tenant's IPv4 concern, so the cases are IPv4 inside, IPv4 or IPv6 outside.
"""

from __future__ import annotations

import pytest
from scapy.layers.inet import IPOption_Router_Alert, IPOption_RR
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from bmv2_tests.lib.cpe import (
    BLACK,
    BLACK_GW_MAC,
    FAMILIES,
    RED_A1,
    RED_A2,
    VRF_A,
    Cpe,
    host_mac,
    router_mac,
)
from bmv2_tests.lib.packets import decremented, eth, ipv4_with_options, mpls_in_ip

pytestmark = pytest.mark.ptf
OUTER = pytest.mark.parametrize("outer", [4, 6], ids=["4in4", "4in6"])
LABEL = 1000
V4 = FAMILIES[4]


def with_options(src: str, dst: str, kind: str) -> Packet:
    if kind == "router alert":  # RFC 2113: IHL 6
        return ipv4_with_options(src, dst, [IPOption_Router_Alert()])
    if kind == "record route":  # nine empty slots: IHL 15, the largest header
        return ipv4_with_options(src, dst, [IPOption_RR(routers=["0.0.0.0"] * 9)])
    return ipv4_with_options(src, dst, [IPOption_Router_Alert()], zero_after_hop=True)


KINDS = pytest.mark.parametrize("kind", ["router alert", "record route", "checksum 0 after"])


@KINDS
def test_red_to_red_keeps_the_options_and_a_correct_checksum(cpe: Cpe, kind: str) -> None:
    cpe.set_up_vrf_a(V4)
    ip = with_options(V4.tenant_host1, V4.tenant_host2, kind)
    assert ip.ihl > 5
    cpe.dp.send(RED_A1, eth(host_mac(RED_A1), router_mac(RED_A1), ip))
    cpe.dp.expect(RED_A2, eth(router_mac(RED_A2), host_mac(RED_A2), decremented(ip)))
    cpe.dp.expect_none()


@OUTER
@KINDS
def test_red_to_remote_carries_the_options_with_a_correct_checksum(
    cpe: Cpe, outer: int, kind: str
) -> None:
    ofam = FAMILIES[outer]
    cpe.set_up_vrf_a(V4)
    cpe.set_up_black(ofam)
    tunnel = cpe.set_up_tunnel(ofam)
    cpe.set_up_remote_route(V4, VRF_A, V4.remote_net, LABEL, tunnel.tunnel_id)
    ip = with_options(V4.tenant_host1, V4.remote_host, kind)
    cpe.dp.send(RED_A1, eth(host_mac(RED_A1), router_mac(RED_A1), ip))
    frame = cpe.dp.recv(BLACK, timeout=3.0)
    assert frame is not None, "nothing left the black port"
    opened = bytes(tunnel.out_sa.decrypt(Ether(frame).payload))
    want = mpls_in_ip(outer, ofam.our_loopback, ofam.peer_loopback, LABEL, decremented(ip))
    assert opened == bytes(want)
    cpe.dp.expect_none()


@OUTER
@KINDS
def test_black_to_red_delivers_the_options_with_a_correct_checksum(
    cpe: Cpe, outer: int, kind: str
) -> None:
    ofam = FAMILIES[outer]
    cpe.set_up_vrf_a(V4)
    cpe.set_up_black(ofam)
    cpe.set_up_vpn_label(LABEL, VRF_A)
    tunnel = cpe.set_up_tunnel(ofam)
    ip = with_options(V4.remote_host, V4.tenant_host1, kind)
    pkt = mpls_in_ip(outer, ofam.peer_loopback, ofam.our_loopback, LABEL, ip)
    esp = tunnel.in_sa.encrypt(pkt)
    cpe.dp.send(BLACK, bytes(Ether(src=BLACK_GW_MAC, dst=router_mac(BLACK)) / esp))
    cpe.dp.expect(RED_A1, eth(router_mac(RED_A1), host_mac(RED_A1), decremented(ip)))
    cpe.dp.expect_none()
