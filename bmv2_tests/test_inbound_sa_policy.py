"""Inbound SA policy (RFC 4301 section 5.2): decrypted traffic must fit its SA.

An MPLS SA carries MPLS-in-IP from its peer's black loopback and nothing
else; a control SA (tunnel mode, the RR's red address inside) carries BGP to
our red loopback and nothing else. Whatever does not fit is dropped and
counted as SA_POLICY: never punted to the controller, never routed in a VRF.
The ESP sent in is built by scapy's SecurityAssociation with the peer's keys.
"""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from bmv2_tests.lib.cpe import (
    BLACK,
    BLACK_GW_MAC,
    FAMILIES,
    PUNT,
    VRF_A,
    Cpe,
    Family,
    Tunnel,
    router_mac,
)
from bmv2_tests.lib.packets import (
    bgp_segment,
    icmp_echo,
    ip_layer,
    mpls_in_ip,
    tenant_ip,
    udp_datagram,
)

pytestmark = pytest.mark.ptf
VERSIONS = pytest.mark.parametrize("version", [4, 6], ids=["ipv4", "ipv6"])
LABEL_A = 3000


def on_black(ip: Packet) -> bytes:
    return bytes(Ether(src=BLACK_GW_MAC, dst=router_mac(BLACK)) / ip)


def set_up(cpe: Cpe, fam: Family) -> tuple[Tunnel, Tunnel]:
    """VRF A reachable by label, an MPLS SA pair with the peer, a control SA pair with the RR."""
    cpe.set_up_vrf_a(fam)
    cpe.set_up_black(fam)
    cpe.set_up_vpn_label(LABEL_A, VRF_A)
    return cpe.set_up_tunnel(fam), cpe.set_up_control_sa(fam)


def expect_sa_policy_drop(cpe: Cpe, sa: Tunnel, inner: Packet) -> None:
    """``inner`` sent through ``sa`` is dropped as SA_POLICY: no frame out, no packet-in."""
    before = cpe.drops("SA_POLICY")
    cpe.dp.send(BLACK, on_black(sa.in_sa.encrypt(inner)))
    cpe.dp.expect_none()
    assert cpe.drops("SA_POLICY", want=before + 1) == before + 1
    assert cpe.sw.packet_in(timeout=0.2) is None, "SA_POLICY traffic reached the controller"


def bgp_from_rr(fam: Family, dst: str | None = None, sport: int = 40000) -> Packet:
    return bgp_segment(fam.version, fam.rr_red, dst or fam.red_loopback, sport=sport)


@VERSIONS
@pytest.mark.parametrize("rr_port", ["sport", "dport"])
def test_bgp_from_the_rr_on_its_control_sa_is_punted(cpe: Cpe, version: int, rr_port: str) -> None:
    """Either end may have opened the session: port 179 on either side is BGP."""
    fam = FAMILIES[version]
    _, control = set_up(cpe, fam)
    seg = bgp_from_rr(fam)
    if rr_port == "sport":
        seg[TCP].sport, seg[TCP].dport = 179, 40000
    before = cpe.punts("CONTROL_SA")
    cpe.dp.send(BLACK, on_black(control.in_sa.encrypt(seg)))
    pkt = cpe.sw.packet_in()
    assert pkt is not None, "decrypted BGP was not punted"
    assert (pkt.metadata["reason"], pkt.metadata["ingress_port"]) == (PUNT["CONTROL_SA"], BLACK)
    assert bytes(Ether(pkt.payload).payload) == bytes((IP if version == 4 else IPv6)(bytes(seg)))
    cpe.dp.expect_none()
    assert cpe.punts("CONTROL_SA", want=before + 1) == before + 1


@VERSIONS
def test_mpls_in_ip_on_a_control_sa_does_not_enter_a_vrf(cpe: Cpe, version: int) -> None:
    """The RR's SA is not a tunnel: a labelled packet through it reaches no tenant."""
    fam = FAMILIES[version]
    _, control = set_up(cpe, fam)
    tenant = tenant_ip(version, fam.remote_host, fam.tenant_host1, ttl=30)
    expect_sa_policy_drop(
        cpe, control, mpls_in_ip(version, fam.rr_red, fam.red_loopback, LABEL_A, tenant)
    )


def _not_bgp(fam: Family, what: str) -> Packet:
    v, src, dst = fam.version, fam.rr_red, fam.red_loopback
    if what == "icmp":
        return icmp_echo(v, src, dst)
    if what == "udp":
        return udp_datagram(v, src, dst, 179, 179, b"not bgp")
    if what == "tcp other port":
        return ip_layer(v, src, dst) / TCP(sport=40000, dport=22, flags="S")
    return bgp_from_rr(fam, dst=fam.tenant_host1)  # BGP, but not to our red loopback


@VERSIONS
@pytest.mark.parametrize("what", ["icmp", "udp", "tcp other port", "bgp to another address"])
def test_anything_but_bgp_to_us_on_a_control_sa_is_dropped(
    cpe: Cpe, version: int, what: str
) -> None:
    fam = FAMILIES[version]
    _, control = set_up(cpe, fam)
    expect_sa_policy_drop(cpe, control, _not_bgp(fam, what))


@VERSIONS
def test_control_sa_from_another_red_source_is_a_mismatch(cpe: Cpe, version: int) -> None:
    """The control SA is bound to the RR's red address, as an MPLS SA to its peer."""
    fam = FAMILIES[version]
    _, control = set_up(cpe, fam)
    other = "10.255.0.66" if version == 4 else "2001:db8:ff00::66"
    before = cpe.drops("SA_TUNNEL_MISMATCH")
    seg = bgp_segment(version, other, fam.red_loopback)
    cpe.dp.send(BLACK, on_black(control.in_sa.encrypt(seg)))
    cpe.dp.expect_none()
    assert cpe.drops("SA_TUNNEL_MISMATCH", want=before + 1) == before + 1


@VERSIONS
@pytest.mark.parametrize("what", ["bgp", "icmp", "tenant packet"])
def test_anything_but_mpls_in_ip_on_an_mpls_sa_is_dropped(
    cpe: Cpe, version: int, what: str
) -> None:
    """A peer C-PE's SA carries MPLS-in-IP only; it is no way to reach our controller."""
    fam = FAMILIES[version]
    tunnel, _ = set_up(cpe, fam)
    src, dst = fam.peer_loopback, fam.our_loopback
    inner = {
        "bgp": bgp_segment(version, src, dst),
        "icmp": icmp_echo(version, src, dst),
        "tenant packet": tenant_ip(version, src, dst),
    }[what]
    expect_sa_policy_drop(cpe, tunnel, inner)
