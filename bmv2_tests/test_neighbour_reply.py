"""ARP and neighbour solicitations for our addresses, answered by the pipeline
(p4src/include/neighbour_reply.p4): the reply leaves the port the request came in
on; a request the tables do not name is punted as before."""

from __future__ import annotations

import pytest
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether

from bmv2_tests.lib.cpe import (
    BLACK,
    BLACK_GW_MAC,
    FAMILIES,
    PUNT,
    RED_A1,
    RED_B,
    TRUNK,
    VLAN_B,
    VRF_A,
    VRF_B,
    Cpe,
    host_mac,
    router_mac,
)
from bmv2_tests.lib.packets import arp_request, neighbour_solicitation

pytestmark = pytest.mark.ptf
VERSIONS = pytest.mark.parametrize("version", [4, 6], ids=["ipv4", "ipv6"])
# The NS source of the IPv6 cases: the tenant host's (or black gateway's) own address.
ASKER = {4: "10.1.1.2", 6: "2001:db8:a:1::2"}
BLACK_ASKER = {4: "203.0.113.254", 6: "2001:db8:ff::fe"}


def request(version: int, mac: str, asker: str, target: str) -> bytes:
    if version == 4:
        return arp_request(mac, asker, target)
    return neighbour_solicitation(mac, asker, target)


def expected_reply(version: int, port: int, mac: str, asker: str, target: str, router: int = 1):
    """The reply a host stack would send, built by scapy (checksum included)."""
    me = router_mac(port)
    if version == 4:
        arp = ARP(op=2, hwsrc=me, psrc=target, hwdst=mac, pdst=asker)
        return Ether(src=me, dst=mac) / arp
    na = ICMPv6ND_NA(tgt=target, R=router, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=me)
    # hop limit 255 and the solicitation's flow label/traffic class (0) are kept
    return Ether(src=me, dst=mac) / IPv6(src=target, dst=asker, hlim=255) / na


def expect_answer(cpe: Cpe, port: int, frame: bytes, want) -> None:
    before = sum(cpe.punts(r) for r in ("ARP", "ND"))
    cpe.dp.send(port, frame)
    got = cpe.dp.recv(port, timeout=3.0)
    assert got is not None, "no reply on the port the request came in on"
    assert got == bytes(want), f"reply differs:\n{Ether(got).show(dump=True)}"
    cpe.dp.expect_none()
    assert cpe.sw.packet_in(timeout=0.2) is None, "an answered request was also punted"
    assert sum(cpe.punts(r) for r in ("ARP", "ND")) == before


def expect_punted(cpe: Cpe, port: int, frame: bytes, version: int) -> None:
    reason = "ARP" if version == 4 else "ND"
    before = cpe.punts(reason)
    cpe.dp.send(port, frame)
    pkt = cpe.sw.packet_in()
    assert pkt is not None, f"no packet-in ({reason})"
    assert (pkt.metadata["reason"], pkt.metadata["ingress_port"]) == (PUNT[reason], port)
    assert pkt.payload == frame, "the punted request was changed"
    cpe.dp.expect_none()
    assert cpe.punts(reason, want=before + 1) == before + 1


def set_up_known_host(cpe: Cpe, version: int) -> tuple[str, str]:
    """RED_A1 in VRF A, and the answer to its tenant host (what the controller writes
    once it has learned the host); returns the host's (MAC, address)."""
    cpe.set_up_red_port(RED_A1, VRF_A)
    mac, asker = host_mac(RED_A1), ASKER[version]
    cpe.set_up_neighbour_answer(RED_A1, VRF_A, FAMILIES[version].our_red_addr, asker, mac)
    return mac, asker


@VERSIONS
def test_request_for_our_red_address_is_answered_in_place(cpe: Cpe, version: int) -> None:
    fam = FAMILIES[version]
    mac, asker = set_up_known_host(cpe, version)
    frame = request(version, mac, asker, fam.our_red_addr)
    expect_answer(cpe, RED_A1, frame, expected_reply(version, RED_A1, mac, asker, fam.our_red_addr))


@VERSIONS
def test_black_gateway_request_for_our_black_address_is_answered(cpe: Cpe, version: int) -> None:
    """On the black side the NA says we are not a router there (R = 0)."""
    fam = FAMILIES[version]
    cpe.set_up_black(fam)
    asker = BLACK_ASKER[version]
    cpe.set_up_neighbour_answer(BLACK, 0, fam.our_black_if, asker, BLACK_GW_MAC, router=0)
    frame = request(version, BLACK_GW_MAC, asker, fam.our_black_if)
    want = expected_reply(version, BLACK, BLACK_GW_MAC, asker, fam.our_black_if, router=0)
    expect_answer(cpe, BLACK, frame, want)


@VERSIONS
def test_what_the_table_does_not_name_is_punted_unchanged(cpe: Cpe, version: int) -> None:
    """Another target, an unknown asker, a known asker with a new MAC: the controller's."""
    fam = FAMILIES[version]
    mac, asker = set_up_known_host(cpe, version)
    other_target = fam.tenant_host2
    expect_punted(cpe, RED_A1, request(version, mac, asker, other_target), version)
    stranger = "10.1.1.3" if version == 4 else "2001:db8:a:1::3"
    expect_punted(cpe, RED_A1, request(version, mac, stranger, fam.our_red_addr), version)
    moved = host_mac(RED_A1, 9)
    expect_punted(cpe, RED_A1, request(version, moved, asker, fam.our_red_addr), version)


@VERSIONS
def test_red_gateway_address_is_not_answered_on_the_black_port(cpe: Cpe, version: int) -> None:
    """Red/black isolation: the red gateway's entry is for its red port only; the same
    request on the black port, from the same MAC and address, goes to the CPU."""
    fam = FAMILIES[version]
    mac, asker = set_up_known_host(cpe, version)
    cpe.set_up_black(fam)
    expect_punted(cpe, BLACK, request(version, mac, asker, fam.our_red_addr), version)


@VERSIONS
def test_each_tenant_is_answered_in_its_own_vrf(cpe: Cpe, version: int) -> None:
    """Overlapping tenants: an entry of VRF A on RED_A1 answers nothing on RED_B (VRF B)
    nor on TRUNK's VLAN B; VLAN B's own entry answers there, with the tag kept."""
    fam = FAMILIES[version]
    cpe.set_up_red_port(RED_A1, VRF_A)
    cpe.set_up_red_port(RED_B, VRF_B)
    cpe.set_up_red_port(TRUNK, 0)
    cpe.set_up_subif(TRUNK, VLAN_B, VRF_B)
    asker = ASKER[version]
    # the RED_A1 entry names RED_B's host: the port must match too
    cpe.set_up_neighbour_answer(RED_A1, VRF_A, fam.our_red_addr, asker, host_mac(RED_B))
    cpe.set_up_neighbour_answer(TRUNK, VRF_B, fam.our_red_addr, asker, host_mac(TRUNK))
    expect_punted(cpe, RED_B, request(version, host_mac(RED_B), asker, fam.our_red_addr), version)
    plain = Ether(request(version, host_mac(TRUNK), asker, fam.our_red_addr))
    tagged = Ether(src=plain.src, dst=plain.dst) / Dot1Q(vlan=VLAN_B) / plain.payload
    reply = expected_reply(version, TRUNK, host_mac(TRUNK), asker, fam.our_red_addr)
    want = Ether(src=reply.src, dst=reply.dst) / Dot1Q(vlan=VLAN_B) / reply.payload
    expect_answer(cpe, TRUNK, bytes(tagged), want)


def test_solicitation_without_source_link_layer_option_is_punted(cpe: Cpe) -> None:
    """Duplicate address detection (from ::, no option) is the controller's business."""
    from scapy.layers.inet6 import ICMPv6ND_NS

    fam = FAMILIES[6]
    cpe.set_up_red_port(RED_A1, VRF_A)
    mac = host_mac(RED_A1)
    cpe.set_up_neighbour_answer(RED_A1, VRF_A, fam.our_red_addr, "::", mac)
    dad = bytes(
        Ether(src=mac, dst="33:33:ff:00:00:01")
        / IPv6(src="::", dst="ff02::1:ff00:1", hlim=255)
        / ICMPv6ND_NS(tgt=fam.our_red_addr)
    )
    expect_punted(cpe, RED_A1, dad, 6)


def test_solicitation_cut_short_in_its_option_is_punted(cpe: Cpe) -> None:
    """The option's fields are undefined when its extract ran out of frame. Before the
    program checked the option header itself, BMv2 once answered such a frame in the
    differential test (after other traffic); this sequence alone did not reproduce it."""
    fam = FAMILIES[6]
    mac, asker = set_up_known_host(cpe, 6)
    whole = request(6, mac, asker, fam.our_red_addr)
    expect_answer(cpe, RED_A1, whole, expected_reply(6, RED_A1, mac, asker, fam.our_red_addr))
    expect_punted(cpe, RED_A1, whole[:-1], 6)
