"""Inbound SA policy (RFC 4301 section 5.2): decrypted traffic must fit its SA.

An MPLS SA carries MPLS-in-IP from its peer's black loopback and nothing
else; a control SA carries BGP to our session address and nothing else: in
transport mode (the default, draft 3.2) from the RR's black loopback to ours,
in tunnel mode from the RR's red address inside to our red loopback. Whatever
does not fit is dropped and counted as SA_POLICY: never punted to the
controller, never routed in a VRF. The ESP sent in is built by scapy's
SecurityAssociation with the peer's keys.
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
    control_ends,
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
from controller.ipsec.installer import Mode

pytestmark = pytest.mark.ptf
VERSIONS = pytest.mark.parametrize("version", [4, 6], ids=["ipv4", "ipv6"])
MODES = pytest.mark.parametrize("mode", [Mode.TRANSPORT, Mode.TUNNEL], ids=lambda m: m.value)
LABEL_A = 3000


def on_black(ip: Packet) -> bytes:
    return bytes(Ether(src=BLACK_GW_MAC, dst=router_mac(BLACK)) / ip)


def set_up(cpe: Cpe, fam: Family, mode: Mode = Mode.TRANSPORT) -> tuple[Tunnel, Tunnel]:
    """VRF A reachable by label, an MPLS SA pair with the peer, a control SA pair with the RR."""
    cpe.set_up_vrf_a(fam)
    cpe.set_up_black(fam)
    cpe.set_up_vpn_label(LABEL_A, VRF_A)
    return cpe.set_up_tunnel(fam), cpe.set_up_control_sa(fam, mode)


def expect_sa_policy_drop(cpe: Cpe, sa: Tunnel, inner: Packet, reason: str = "SA_POLICY") -> None:
    """``inner`` sent through ``sa`` is dropped as ``reason``: no frame out, no packet-in."""
    before = cpe.drops(reason)
    cpe.dp.send(BLACK, on_black(sa.in_sa.encrypt(inner)))
    cpe.dp.expect_none()
    assert cpe.drops(reason, want=before + 1) == before + 1
    assert cpe.sw.packet_in(timeout=0.2) is None, f"{reason} traffic reached the controller"


def bgp_from_rr(fam: Family, mode: Mode, dst: str | None = None, sport: int = 40000) -> Packet:
    rr, us = control_ends(fam, mode)
    return bgp_segment(fam.version, rr, dst or us, sport=sport)


@VERSIONS
@MODES
@pytest.mark.parametrize("rr_port", ["sport", "dport"])
def test_bgp_from_the_rr_on_its_control_sa_is_punted(
    cpe: Cpe, version: int, mode: Mode, rr_port: str
) -> None:
    """Either end may have opened the session: port 179 on either side is BGP."""
    fam = FAMILIES[version]
    _, control = set_up(cpe, fam, mode)
    seg = bgp_from_rr(fam, mode)
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
@MODES
def test_mpls_in_ip_on_a_control_sa_does_not_enter_a_vrf(
    cpe: Cpe, version: int, mode: Mode
) -> None:
    """The RR's SA is not a tunnel: a labelled packet through it reaches no tenant."""
    fam = FAMILIES[version]
    _, control = set_up(cpe, fam, mode)
    tenant = tenant_ip(version, fam.remote_host, fam.tenant_host1, ttl=30)
    rr, us = control_ends(fam, mode)
    expect_sa_policy_drop(cpe, control, mpls_in_ip(version, rr, us, LABEL_A, tenant))


def _not_bgp(fam: Family, mode: Mode, what: str) -> Packet:
    (src, dst), v = control_ends(fam, mode), fam.version
    if what == "icmp":
        return icmp_echo(v, src, dst)
    if what == "udp":
        return udp_datagram(v, src, dst, 179, 179, b"not bgp")
    if what == "tcp other port":
        return ip_layer(v, src, dst) / TCP(sport=40000, dport=22, flags="S")
    # BGP, but not to our session address (in transport mode: to our red loopback)
    return bgp_from_rr(fam, mode, dst=fam.tenant_host1 if mode is Mode.TUNNEL else fam.red_loopback)


@VERSIONS
@MODES
@pytest.mark.parametrize("what", ["icmp", "udp", "tcp other port", "bgp to another address"])
def test_anything_but_bgp_to_us_on_a_control_sa_is_dropped(
    cpe: Cpe, version: int, mode: Mode, what: str
) -> None:
    fam = FAMILIES[version]
    _, control = set_up(cpe, fam, mode)
    # Transport mode has one IP header: ESP to an address other than our black loopback
    # is not even decrypted, but dropped by black policy.
    other_dst = mode is Mode.TRANSPORT and what == "bgp to another address"
    reason = "BLACK_POLICY" if other_dst else "SA_POLICY"
    expect_sa_policy_drop(cpe, control, _not_bgp(fam, mode, what), reason)


@VERSIONS
@MODES
def test_control_sa_from_another_source_is_a_mismatch(cpe: Cpe, version: int, mode: Mode) -> None:
    """The control SA is bound to the RR's session address, as an MPLS SA to its peer."""
    fam = FAMILIES[version]
    _, control = set_up(cpe, fam, mode)
    other = {4: "10.255.0.66", 6: "2001:db8:ff00::66"}[version]
    if mode is Mode.TRANSPORT:  # e.g. the peer C-PE's black loopback
        other = fam.peer_loopback
    before = cpe.drops("SA_TUNNEL_MISMATCH")
    seg = bgp_segment(version, other, control_ends(fam, mode)[1])
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
