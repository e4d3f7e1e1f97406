"""Control traffic: punts with metadata, packet-out, and the SPD path for red BGP.

Red BGP coming back through its control SA is in test_inbound_sa_policy.py.
"""

from __future__ import annotations

import pytest
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import Ether

from bmv2_tests.lib.cpe import (
    BLACK,
    BLACK_GW_MAC,
    FAMILIES,
    PUNT,
    RED_A2,
    Cpe,
    host_mac,
    router_mac,
)
from bmv2_tests.lib.packets import (
    arp_request,
    bgp_segment,
    icmp_echo,
    neighbour_solicitation,
    tenant_ip,
    udp_datagram,
)
from controller.p4rt import TableEntry

pytestmark = pytest.mark.ptf
VERSIONS = pytest.mark.parametrize("version", [4, 6], ids=["ipv4", "ipv6"])


def on_black(ip: object) -> bytes:
    return bytes(Ether(src=BLACK_GW_MAC, dst=router_mac(BLACK)) / ip)


def expect_punt(cpe: Cpe, frame: bytes, reason: str, port: int = BLACK) -> None:
    before = cpe.punts(reason)
    cpe.dp.send(port, frame)
    pkt = cpe.sw.packet_in()
    assert pkt is not None, f"no packet-in ({reason})"
    assert (pkt.metadata["reason"], pkt.metadata["ingress_port"]) == (PUNT[reason], port)
    assert pkt.payload == frame
    cpe.dp.expect_none()
    assert cpe.punts(reason, want=before + 1) == before + 1


@VERSIONS
def test_ike_to_our_addresses_is_punted(cpe: Cpe, version: int) -> None:
    fam = FAMILIES[version]
    cpe.set_up_black(fam)
    ike = udp_datagram(version, fam.peer_loopback, fam.our_loopback, 500, 500, b"\x00" * 28)
    expect_punt(cpe, on_black(ike), "IKE")
    # IKE on 4500 starts with the four-octet zero non-ESP marker (RFC 3948).
    natt = udp_datagram(version, fam.peer_loopback, fam.our_black_if, 4500, 4500, b"\x00" * 32)
    expect_punt(cpe, on_black(natt), "IKE")


@VERSIONS
def test_icmp_to_our_addresses_is_punted(cpe: Cpe, version: int) -> None:
    fam = FAMILIES[version]
    cpe.set_up_black(fam)
    expect_punt(cpe, on_black(icmp_echo(version, fam.peer_loopback, fam.our_black_if)), "ICMP")


def test_black_arp_and_nd_are_punted(cpe: Cpe) -> None:
    cpe.set_up_black(FAMILIES[4])
    expect_punt(cpe, arp_request(BLACK_GW_MAC, "203.0.113.254", "203.0.113.1"), "ARP")
    expect_punt(cpe, neighbour_solicitation(BLACK_GW_MAC, "fe80::1", "2001:db8:ff::1"), "ND")


def test_black_policy_can_punt_a_black_bgp_session(cpe: Cpe) -> None:
    fam = FAMILIES[4]
    cpe.set_up_black(fam)
    seg = bgp_segment(4, "203.0.113.254", fam.our_black_if)
    before = cpe.drops("BLACK_POLICY")
    cpe.dp.send(BLACK, on_black(seg))
    cpe.dp.expect_none()
    assert cpe.drops("BLACK_POLICY", want=before + 1) == before + 1
    cpe.insert(
        TableEntry(
            "black_acl",
            {"to_us": (1, 1), "ip_proto": (6, 0xFF), "l4_dport": (179, 0xFFFF)},
            "acl_punt",
            priority=10,
        )
    )
    expect_punt(cpe, on_black(seg), "BLACK_POLICY")


def test_packet_out_straight_to_a_port(cpe: Cpe) -> None:
    frame = arp_request(router_mac(RED_A2), "10.1.2.1", "10.1.2.2")
    cpe.sw.packet_out(frame, egress_port=RED_A2, do_forward=False)
    cpe.dp.expect(RED_A2, frame)
    cpe.dp.expect_none()


@VERSIONS
def test_controller_bgp_to_red_rr_is_protected_by_the_spd(cpe: Cpe, version: int) -> None:
    fam = FAMILIES[version]
    cpe.set_up_black(fam)
    tunnel = cpe.set_up_tunnel(fam)
    spd, src, dst = (
        ("spd_v4", "ipv4_src", "ipv4_dst") if version == 4 else ("spd_v6", "ipv6_src", "ipv6_dst")
    )
    full = (1 << (32 if version == 4 else 128)) - 1
    cpe.insert(
        TableEntry(
            spd,
            {
                src: (fam.our_loopback, full),
                dst: (fam.peer_loopback, full),
                "ip_proto": (6, 0xFF),
                "l4_dport": (179, 0xFFFF),
            },
            "spd_protect",
            {"sa_index": tunnel.out_params.sa_index},
            priority=10,
        )
    )
    seg = bgp_segment(version, fam.our_loopback, fam.peer_loopback)
    cpe.sw.packet_out(bytes(Ether(src=router_mac(BLACK), dst=BLACK_GW_MAC) / seg), do_forward=True)
    frame = cpe.dp.recv(BLACK, timeout=3.0)
    assert frame is not None, "controller BGP did not leave the black port"
    ip = Ether(frame).payload
    assert isinstance(ip.payload, ESP), "controller BGP left the black port unencrypted"
    assert bytes(tunnel.out_sa.decrypt(ip)) == bytes(seg.__class__(bytes(seg)))
    # Controller traffic the SPD does not protect (IKE) leaves in the clear.
    ike = udp_datagram(version, fam.our_loopback, fam.peer_loopback, 500, 500, b"\x00" * 28)
    cpe.sw.packet_out(
        bytes(Ether(src="02:00:00:00:00:99", dst=BLACK_GW_MAC) / ike), do_forward=True
    )
    cpe.dp.expect(BLACK, bytes(Ether(src=router_mac(BLACK), dst=BLACK_GW_MAC) / ike))
    cpe.dp.expect_none()


@VERSIONS
def test_nat_keepalive_leaves_unchanged(cpe: Cpe, version: int) -> None:
    """RFC 3948 2.3: one 0xFF octet on UDP 4500, shorter than the four octets the
    parser looks at to tell IKE from ESP. The parser stops there (PacketTooShort) and
    the frame must still leave as it came: p4sim once appended the whole frame again
    after its headers when that happened inside a sub-parser, and the NAT in front of a
    C-PE then passed the mangled keepalives on untranslated."""
    fam = FAMILIES[version]
    cpe.set_up_black(fam)
    for payload in (b"\xff", b"\xff" * 3):
        ka = udp_datagram(version, fam.our_loopback, fam.peer_loopback, 4500, 4500, payload)
        frame = bytes(Ether(src=router_mac(BLACK), dst=BLACK_GW_MAC) / ka)
        cpe.sw.packet_out(frame, do_forward=True)
        cpe.dp.expect(BLACK, frame)
    cpe.dp.expect_none()


@VERSIONS
def test_red_bgp_before_its_control_sa_is_discarded_not_sent_in_clear(
    cpe: Cpe, version: int
) -> None:
    """The daemon guards red addresses with SPD DISCARD below PROTECT (draft 2, 3.1)."""
    fam = FAMILIES[version]
    cpe.set_up_black(fam)
    spd, src = ("spd_v4", "ipv4_src") if version == 4 else ("spd_v6", "ipv6_src")
    full = (1 << (32 if version == 4 else 128)) - 1
    cpe.insert(TableEntry(spd, {src: (fam.our_loopback, full)}, "spd_discard", priority=1))
    before = cpe.drops("SPD_DISCARD")
    seg = bgp_segment(version, fam.our_loopback, fam.peer_loopback)
    cpe.sw.packet_out(bytes(Ether(src=router_mac(BLACK), dst=BLACK_GW_MAC) / seg), do_forward=True)
    cpe.dp.expect_none()
    assert cpe.drops("SPD_DISCARD", want=before + 1) == before + 1


def test_cleartext_bgp_from_the_rr_is_dropped(cpe: Cpe) -> None:
    """Red BGP must come through the control SA; in the clear it is black policy."""
    fam = FAMILIES[4]
    cpe.set_up_black(fam)
    before = cpe.drops("BLACK_POLICY")
    cpe.dp.send(BLACK, on_black(bgp_segment(4, fam.peer_loopback, fam.our_loopback)))
    cpe.dp.expect_none()
    assert cpe.drops("BLACK_POLICY", want=before + 1) == before + 1


def test_tenant_frame_never_leaves_black_in_the_clear(cpe: Cpe) -> None:
    """A red next hop configured on the black port is caught by the isolation guard."""
    fam = FAMILIES[4]
    cpe.set_up_black(fam)
    cpe.set_up_red_port(RED_A2, 10)
    cpe.set_up_local_host(fam, 10, fam.tenant_net1, BLACK)  # the mistake
    before = cpe.drops("RED_TO_BLACK_CLEAR")
    ip = tenant_ip(4, fam.tenant_host2, fam.tenant_host1)
    cpe.dp.send(RED_A2, bytes(Ether(src=host_mac(RED_A2), dst=router_mac(RED_A2)) / ip))
    cpe.dp.expect_none()
    assert cpe.drops("RED_TO_BLACK_CLEAR", want=before + 1) == before + 1
