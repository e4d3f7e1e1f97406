"""The remaining drop rules, one case each, and the per-port counters.

Some rules guard against configuration mistakes or a misbehaving crypto
port; those cases create the mistake (a next hop on the wrong side, a frame
injected into the crypto port) and check that the pipeline still refuses.
"""

from __future__ import annotations

import pytest
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import IP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from bmv2_tests.lib.cpe import (
    BLACK,
    BLACK_GW_MAC,
    FAMILIES,
    RED_A1,
    RED_A2,
    TRUNK,
    VRF_A,
    Cpe,
    fib,
    host_mac,
    router_mac,
)
from bmv2_tests.lib.packets import bgp_segment, eth, mpls_in_ip, tenant_ip
from bmv2_tests.lib.target import CRYPTO_PORT
from controller.ipsec import crypto_port as cp
from controller.ipsec.installer import Lifetime, SaUpdate
from controller.p4rt import TableEntry

pytestmark = pytest.mark.ptf
VERSIONS = pytest.mark.parametrize("version", [4, 6], ids=["ipv4", "ipv6"])


def red_frame(version: int, dst: str) -> bytes:
    fam = FAMILIES[version]
    return eth(host_mac(RED_A1), router_mac(RED_A1), tenant_ip(version, fam.tenant_host1, dst))


def expect_drop(cpe: Cpe, port: int, frame: bytes, reason: str) -> None:
    before = cpe.drops(reason)
    cpe.dp.send(port, frame)
    cpe.dp.expect_none()
    assert cpe.drops(reason, want=before + 1) == before + 1


@VERSIONS
def test_blackhole_route(cpe: Cpe, version: int) -> None:
    fam = FAMILIES[version]
    cpe.set_up_vrf_a(fam)
    key = "ipv4_dst" if version == 4 else "ipv6_dst"
    cpe.insert(TableEntry(fib(version), {"vrf_id": VRF_A, key: fam.remote_net}, "route_drop"))
    expect_drop(cpe, RED_A1, red_frame(version, fam.remote_host), "ROUTE_BLACKHOLE")


def test_non_ip_from_red(cpe: Cpe) -> None:
    cpe.set_up_vrf_a(FAMILIES[4])
    lldp = bytes(Ether(src=host_mac(RED_A1), dst="01:80:c2:00:00:0e", type=0x88CC) / Raw(b"x" * 46))
    expect_drop(cpe, RED_A1, lldp, "NOT_IP")


@VERSIONS
def test_route_to_unknown_tunnel_or_next_hop(cpe: Cpe, version: int) -> None:
    fam = FAMILIES[version]
    cpe.set_up_vrf_a(fam)
    cpe.set_up_remote_route(fam, VRF_A, fam.remote_net, 100, tunnel_id=99)
    expect_drop(cpe, RED_A1, red_frame(version, fam.remote_host), "NO_TUNNEL")
    key = "ipv4_dst" if version == 4 else "ipv6_dst"
    other = "10.7.0.0/16" if version == 4 else "2001:db8:a:7::/64"
    dst = "10.7.0.1" if version == 4 else "2001:db8:a:7::1"
    cpe.insert(
        TableEntry(fib(version), {"vrf_id": VRF_A, key: other}, "route_local", {"nexthop_id": 999})
    )
    expect_drop(cpe, RED_A1, red_frame(version, dst), "NO_NEXTHOP")


@VERSIONS
def test_encrypted_packet_without_black_route(cpe: Cpe, version: int) -> None:
    fam = FAMILIES[version]
    cpe.set_up_vrf_a(fam)
    tunnel = cpe.set_up_tunnel(fam)  # no black port, no black FIB
    cpe.set_up_remote_route(fam, VRF_A, fam.remote_net, 100, tunnel.tunnel_id)
    expect_drop(cpe, RED_A1, red_frame(version, fam.remote_host), "NO_BLACK_ROUTE")


def test_hard_expired_outbound_sa(cpe: Cpe) -> None:
    fam = FAMILIES[4]
    cpe.set_up_vrf_a(fam)
    cpe.set_up_black(fam)
    tunnel = cpe.set_up_tunnel(fam)
    cpe.set_up_remote_route(fam, VRF_A, fam.remote_net, 100, tunnel.tunnel_id)
    with cpe.crypto.lock:
        cpe.crypto.engine.update_sa(tunnel.out_params.sa_index, SaUpdate(hard=Lifetime(packets=1)))
    frame = red_frame(4, fam.remote_host)
    cpe.dp.send(RED_A1, frame)
    assert cpe.dp.recv(BLACK, timeout=3.0) is not None, "the SA's one packet did not leave"
    expect_drop(cpe, RED_A1, frame, "SA_EXPIRED")


def test_esp_with_dummy_next_header_is_malformed(cpe: Cpe) -> None:
    fam = FAMILIES[4]
    cpe.set_up_vrf_a(fam)
    cpe.set_up_black(fam)
    tunnel = cpe.set_up_tunnel(fam)
    # RFC 4303 section 2.6: next header 59 marks a dummy packet, never delivered.
    dummy = IP(src=fam.peer_loopback, dst=fam.our_loopback, proto=59) / Raw(b"\x00" * 16)
    frame = bytes(Ether(src=BLACK_GW_MAC, dst=router_mac(BLACK)) / tunnel.in_sa.encrypt(dummy))
    expect_drop(cpe, BLACK, frame, "ESP_MALFORMED")


def test_more_than_one_label_after_decryption(cpe: Cpe) -> None:
    fam = FAMILIES[4]
    cpe.set_up_vrf_a(fam)
    cpe.set_up_black(fam)
    cpe.set_up_vpn_label(100, VRF_A)
    tunnel = cpe.set_up_tunnel(fam)
    inner = tenant_ip(4, fam.remote_host, fam.tenant_host1)
    stack = MPLS(label=100, s=0, ttl=255) / MPLS(label=200, s=1, ttl=255) / Raw(bytes(inner))
    pkt = IP(src=fam.peer_loopback, dst=fam.our_loopback, proto=137) / stack
    frame = bytes(Ether(src=BLACK_GW_MAC, dst=router_mac(BLACK)) / tunnel.in_sa.encrypt(pkt))
    expect_drop(cpe, BLACK, frame, "LABEL_STACK")


def test_tenant_mpls_in_ip_is_not_re_encapsulated(cpe: Cpe) -> None:
    fam = FAMILIES[4]
    cpe.set_up_vrf_a(fam)
    cpe.set_up_black(fam)
    tunnel = cpe.set_up_tunnel(fam)
    cpe.set_up_remote_route(fam, VRF_A, fam.remote_net, 100, tunnel.tunnel_id)
    tenant = mpls_in_ip(4, fam.tenant_host1, fam.remote_host, 5, tenant_ip(4, "1.1.1.1", "2.2.2.2"))
    frame = eth(host_mac(RED_A1), router_mac(RED_A1), tenant)
    expect_drop(cpe, RED_A1, frame, "LABEL_STACK")


def test_spd_discard_for_controller_traffic(cpe: Cpe) -> None:
    fam = FAMILIES[4]
    cpe.set_up_black(fam)
    cpe.insert(
        TableEntry("spd_v4", {"l4_dport": (179, 0xFFFF)}, "spd_discard", priority=1),
    )
    before = cpe.drops("SPD_DISCARD")
    seg = bgp_segment(4, fam.our_loopback, fam.peer_loopback)
    cpe.sw.packet_out(bytes(Ether(src=router_mac(BLACK), dst=BLACK_GW_MAC) / seg), do_forward=True)
    cpe.dp.expect_none()
    assert cpe.drops("SPD_DISCARD", want=before + 1) == before + 1


def test_crypto_port_frame_with_bad_header(cpe: Cpe) -> None:
    fam = FAMILIES[4]
    cpe.set_up_black(fam)
    body = bytes(
        Ether() / IP(src=fam.our_loopback, dst=fam.peer_loopback, proto=50) / Raw(b"x" * 40)
    )
    bad = cp.CryptoHeader(op=cp.Op.ENCRYPT, sa_index=1, ingress_port=BLACK, version=2)
    expect_drop(cpe, CRYPTO_PORT, cp.frame(bad, body), "CRYPTO_BAD_HEADER")


def encrypted_back_via(cpe: Cpe, port: int, from_port: int) -> bytes:
    """A black default route out ``port`` (the mistake under test), and an ESP packet
    as the engine returns it for traffic that first entered on ``from_port``."""
    fam = FAMILIES[4]
    cpe.insert(
        TableEntry(
            "black_nexthop",
            {"nexthop_id": 500},
            "set_black_nexthop",
            {"port": port, "src_mac": router_mac(port), "dst_mac": host_mac(port)},
        ),
        TableEntry(
            "black_fib_v4", {"ipv4_dst": "0.0.0.0/0"}, "set_black_nexthop_id", {"nexthop_id": 500}
        ),
    )
    body = bytes(
        Ether() / IP(src=fam.our_loopback, dst=fam.peer_loopback, proto=50) / Raw(b"x" * 40)
    )
    return cp.frame(cp.CryptoHeader(op=cp.Op.ENCRYPT, sa_index=1, ingress_port=from_port), body)


def test_guard_stops_black_traffic_towards_a_red_port(cpe: Cpe) -> None:
    """A black next hop mistakenly on a red port: the guard drops what came from black."""
    cpe.set_up_black_port(BLACK)
    cpe.set_up_red_port(RED_A1, VRF_A)
    frame = encrypted_back_via(cpe, RED_A1, from_port=BLACK)
    expect_drop(cpe, CRYPTO_PORT, frame, "BLACK_TO_RED_NO_SA")


@VERSIONS
def test_guard_fails_closed_on_a_port_without_an_egress_role(cpe: Cpe, version: int) -> None:
    """A red next hop on a port the guard has no role for: nothing leaves through it."""
    fam = FAMILIES[version]
    cpe.set_up_red_port(RED_A1, VRF_A)
    cpe.insert(TableEntry("port_role", {"port": RED_A2}, "set_red_port", {"vrf_id": VRF_A}))
    cpe.set_up_local_host(fam, VRF_A, fam.tenant_net2, RED_A2)  # RED_A2: no egress_port_role
    expect_drop(cpe, RED_A1, red_frame(version, fam.tenant_host2), "EGRESS_PORT_UNKNOWN")


def test_guard_fails_closed_for_encrypted_traffic_too(cpe: Cpe) -> None:
    """ESP back from the engine routed to a port with no role at all is dropped."""
    cpe.set_up_red_port(RED_A1, VRF_A)
    frame = encrypted_back_via(cpe, TRUNK, from_port=RED_A1)
    expect_drop(cpe, CRYPTO_PORT, frame, "EGRESS_PORT_UNKNOWN")


def test_port_counters(cpe: Cpe) -> None:
    fam = FAMILIES[4]
    cpe.set_up_vrf_a(fam)
    rx = cpe.counter("port_rx_counter", RED_A1)
    tx = cpe.counter("port_tx_counter", RED_A2)
    frame = red_frame(4, fam.tenant_host2)
    cpe.dp.send(RED_A1, frame)
    out = cpe.dp.recv(RED_A2, timeout=3.0)
    assert out is not None
    assert cpe.packets("port_rx_counter", RED_A1, want=rx[0] + 1) == rx[0] + 1
    assert cpe.packets("port_tx_counter", RED_A2, want=tx[0] + 1) == tx[0] + 1
    assert cpe.counter("port_rx_counter", RED_A1)[1] == rx[1] + len(frame)
    assert cpe.counter("port_tx_counter", RED_A2)[1] == tx[1] + len(out)


@pytest.mark.parametrize(
    ("result", "reason"),
    [
        (cp.Result.NO_SA, "UNKNOWN_SA"),
        (cp.Result.AUTH_FAILED, "DECRYPT_FAILED"),
        (cp.Result.REPLAY, "REPLAY"),
        (cp.Result.MALFORMED, "ESP_MALFORMED"),
        (cp.Result.SA_EXPIRED, "SA_EXPIRED"),
        (cp.Result.SEQ_EXHAUSTED, "SEQ_EXHAUSTED"),
    ],
)
@pytest.mark.parametrize("op", [cp.Op.ENCRYPT, cp.Op.DECRYPT], ids=["encrypt", "decrypt"])
def test_every_engine_refusal_has_its_drop_reason(
    cpe: Cpe, op: cp.Op, result: cp.Result, reason: str
) -> None:
    """The contract's result codes, as the engine would answer them on the crypto port."""
    fam = FAMILIES[4]
    cpe.set_up_black(fam)
    body = bytes(
        Ether() / IP(src=fam.peer_loopback, dst=fam.our_loopback, proto=50) / Raw(b"x" * 40)
    )
    answer = cp.CryptoHeader(op=op, sa_index=1, result=result, ingress_port=BLACK)
    expect_drop(cpe, CRYPTO_PORT, cp.frame(answer, body), reason)


@pytest.mark.parametrize("port", [RED_A1, BLACK], ids=["red", "black"])
def test_runt_frame_after_arp_is_not_taken_for_arp(cpe: Cpe, port: int) -> None:
    """A frame too short for Ethernet leaves hdr.ethernet invalid; its ether_type must not be
    read (BMv2 keeps the previous packet's, so right after an ARP frame it would look like ARP).
    The differential test found this with a one-octet frame."""
    cpe.set_up_vrf_a(FAMILIES[4])
    cpe.set_up_black(FAMILIES[4])
    arp = bytes(Ether(src=host_mac(port), dst="ff:ff:ff:ff:ff:ff", type=0x0806) / Raw(b"\0" * 28))
    before = cpe.punts("ARP")
    cpe.dp.send(port, arp)
    assert cpe.sw.packet_in() is not None, "the ARP frame was not punted"
    assert cpe.punts("ARP", want=before + 1) == before + 1
    cpe.dp.send(port, b"\x00")
    assert cpe.sw.packet_in(timeout=1.0) is None, "a one-octet frame was punted"
    cpe.dp.expect_none()
    assert cpe.punts("ARP") == before + 1
