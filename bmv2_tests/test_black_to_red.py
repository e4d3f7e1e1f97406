"""Black -> red: ESP from the peer C-PE is decrypted and delivered only through its SA.

The ESP sent in is built by scapy's SecurityAssociation with the peer's keys;
replayed, tampered, unknown-SPI, wrongly-sourced and cleartext MPLS-in-IP
packets are dropped, each under its own drop counter.
"""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from bmv2_tests.lib.cpe import (
    BLACK,
    BLACK_GW_MAC,
    FAMILIES,
    RED_A1,
    RED_B,
    VRF_A,
    VRF_B,
    Cpe,
    Family,
    Tunnel,
    host_mac,
    router_mac,
)
from bmv2_tests.lib.packets import decremented, eth, mpls_in_ip, tenant_ip

pytestmark = pytest.mark.ptf
INNER_OUTER = pytest.mark.parametrize(
    ("inner", "outer"), [(4, 4), (6, 4), (4, 6), (6, 6)], ids=["4in4", "6in4", "4in6", "6in6"]
)
VERSIONS = pytest.mark.parametrize("version", [4, 6], ids=["ipv4", "ipv6"])
LABEL_A, LABEL_B = 3000, 4000


def from_peer(ofam: Family, label: int, inner: Packet, src: str | None = None) -> Packet:
    """The peer's MPLS-in-IP packet to our black loopback, before encryption."""
    return mpls_in_ip(ofam.version, src or ofam.peer_loopback, ofam.our_loopback, label, inner)


def on_black(ip: Packet) -> bytes:
    return bytes(Ether(src=BLACK_GW_MAC, dst=router_mac(BLACK)) / ip)


def set_up(cpe: Cpe, inner: int, outer: int) -> Tunnel:
    fam, ofam = FAMILIES[inner], FAMILIES[outer]
    cpe.set_up_vrf_a(fam)
    cpe.set_up_black(ofam)
    cpe.set_up_vpn_label(LABEL_A, VRF_A)
    return cpe.set_up_tunnel(ofam)


def tenant_to_host1(version: int) -> Packet:
    fam = FAMILIES[version]
    return tenant_ip(version, fam.remote_host, fam.tenant_host1, ttl=30)


@INNER_OUTER
def test_esp_from_peer_reaches_the_red_port(cpe: Cpe, inner: int, outer: int) -> None:
    tunnel = set_up(cpe, inner, outer)
    rx_before = cpe.counter("sa_rx_counter", tunnel.in_params.sa_index)[0]
    ip = tenant_to_host1(inner)
    esp = tunnel.in_sa.encrypt(from_peer(tunnel.outer, LABEL_A, ip))
    cpe.dp.send(BLACK, on_black(esp))
    cpe.dp.expect(RED_A1, eth(router_mac(RED_A1), host_mac(RED_A1), decremented(ip)))
    cpe.dp.expect_none()
    sa_index = tunnel.in_params.sa_index
    assert cpe.packets("sa_rx_counter", sa_index, want=rx_before + 1) == rx_before + 1


def test_label_selects_the_tenant(cpe: Cpe) -> None:
    tunnel = set_up(cpe, 4, 4)
    cpe.set_up_vrf_b(FAMILIES[4])
    cpe.set_up_vpn_label(LABEL_B, VRF_B)
    ip = tenant_to_host1(4)
    for label, port in ((LABEL_B, RED_B), (LABEL_A, RED_A1)):
        cpe.dp.send(BLACK, on_black(tunnel.in_sa.encrypt(from_peer(tunnel.outer, label, ip))))
        cpe.dp.expect(port, eth(router_mac(port), host_mac(port), decremented(ip)))
    cpe.dp.expect_none()


@VERSIONS
def test_replayed_esp_is_dropped(cpe: Cpe, version: int) -> None:
    tunnel = set_up(cpe, version, version)
    ip = tenant_to_host1(version)
    frame = on_black(tunnel.in_sa.encrypt(from_peer(tunnel.outer, LABEL_A, ip)))
    before = cpe.drops("REPLAY")
    cpe.dp.send(BLACK, frame)
    cpe.dp.expect(RED_A1, eth(router_mac(RED_A1), host_mac(RED_A1), decremented(ip)))
    cpe.dp.send(BLACK, frame)
    cpe.dp.expect_none()
    assert cpe.drops("REPLAY", want=before + 1) == before + 1


@VERSIONS
def test_tampered_esp_is_dropped(cpe: Cpe, version: int) -> None:
    tunnel = set_up(cpe, version, version)
    frame = bytearray(
        on_black(tunnel.in_sa.encrypt(from_peer(tunnel.outer, LABEL_A, tenant_to_host1(version))))
    )
    frame[-20] ^= 0x01  # inside the ciphertext
    before = cpe.drops("DECRYPT_FAILED")
    cpe.dp.send(BLACK, bytes(frame))
    cpe.dp.expect_none()
    assert cpe.drops("DECRYPT_FAILED", want=before + 1) == before + 1


@VERSIONS
def test_unknown_spi_is_dropped(cpe: Cpe, version: int) -> None:
    tunnel = set_up(cpe, version, version)
    tunnel.in_sa.spi = 0xDEAD
    esp = tunnel.in_sa.encrypt(from_peer(tunnel.outer, LABEL_A, tenant_to_host1(version)))
    before = cpe.drops("UNKNOWN_SA")
    cpe.dp.send(BLACK, on_black(esp))
    cpe.dp.expect_none()
    assert cpe.drops("UNKNOWN_SA", want=before + 1) == before + 1


def test_sa_used_by_another_source_is_dropped(cpe: Cpe) -> None:
    """Valid ESP of the tunnel's SA, but the outer source is not that tunnel's loopback."""
    tunnel = set_up(cpe, 4, 4)
    inner = tenant_to_host1(4)
    esp = tunnel.in_sa.encrypt(from_peer(tunnel.outer, LABEL_A, inner, src="198.51.100.66"))
    before = cpe.drops("SA_TUNNEL_MISMATCH")
    cpe.dp.send(BLACK, on_black(esp))
    cpe.dp.expect_none()
    assert cpe.drops("SA_TUNNEL_MISMATCH", want=before + 1) == before + 1


def test_unknown_label_is_dropped(cpe: Cpe) -> None:
    tunnel = set_up(cpe, 4, 4)
    esp = tunnel.in_sa.encrypt(from_peer(tunnel.outer, 999, tenant_to_host1(4)))
    before = cpe.drops("UNKNOWN_LABEL")
    cpe.dp.send(BLACK, on_black(esp))
    cpe.dp.expect_none()
    assert cpe.drops("UNKNOWN_LABEL", want=before + 1) == before + 1


@VERSIONS
def test_cleartext_mpls_in_ip_is_dropped(cpe: Cpe, version: int) -> None:
    """Draft section 5: MPLS-in-IP not received over an SA MUST be discarded."""
    tunnel = set_up(cpe, version, version)
    before = cpe.drops("CLEAR_MPLS_IN_IP")
    cpe.dp.send(BLACK, on_black(from_peer(tunnel.outer, LABEL_A, tenant_to_host1(version))))
    cpe.dp.expect_none()
    assert cpe.drops("CLEAR_MPLS_IN_IP", want=before + 1) == before + 1


@VERSIONS
def test_cleartext_traffic_to_a_tenant_address_is_dropped(cpe: Cpe, version: int) -> None:
    """Draft section 7: nothing from a black port reaches a red port without an SA."""
    set_up(cpe, version, version)
    before = cpe.drops("BLACK_POLICY")
    cpe.dp.send(BLACK, on_black(tenant_to_host1(version)))
    cpe.dp.expect_none()
    assert cpe.drops("BLACK_POLICY", want=before + 1) == before + 1


def test_esp_to_an_interface_address_is_not_decrypted(cpe: Cpe) -> None:
    """Only ESP to the black loopback goes to the engine; the rest is black policy."""
    tunnel = set_up(cpe, 4, 4)
    pkt = from_peer(tunnel.outer, LABEL_A, tenant_to_host1(4))
    pkt[IP].dst = tunnel.outer.our_black_if
    before = cpe.drops("BLACK_POLICY")
    cpe.dp.send(BLACK, on_black(tunnel.in_sa.encrypt(pkt)))
    cpe.dp.expect_none()
    assert cpe.drops("BLACK_POLICY", want=before + 1) == before + 1
    assert cpe.crypto.requests == []
