"""Red ingress and local delivery: VRFs, subinterfaces, overlapping tenants, TTL, extranet."""

from __future__ import annotations

import pytest

from bmv2_tests.lib.cpe import (
    FAMILIES,
    PUNT,
    RED_A1,
    RED_A2,
    RED_B,
    TRUNK,
    VLAN_A,
    VLAN_B,
    VRF_A,
    VRF_B,
    Cpe,
    host_mac,
    router_mac,
)
from bmv2_tests.lib.packets import arp_request, decremented, eth, neighbour_solicitation, tenant_ip
from controller.p4rt import TableEntry

pytestmark = pytest.mark.ptf
VERSIONS = pytest.mark.parametrize("version", [4, 6], ids=["ipv4", "ipv6"])


def from_host(port: int, ip: object, vlan: int = 0) -> bytes:
    return eth(host_mac(port), router_mac(port), ip, vlan)


def delivered(port: int, ip: object, vlan: int = 0) -> bytes:
    return eth(router_mac(port), host_mac(port), decremented(ip), vlan)


@VERSIONS
def test_local_delivery_in_one_vrf(cpe: Cpe, version: int) -> None:
    fam = FAMILIES[version]
    cpe.set_up_vrf_a(fam)
    vrf_before = cpe.counter("vrf_counter", VRF_A)[0]
    ip = tenant_ip(version, fam.tenant_host1, fam.tenant_host2)
    cpe.dp.send(RED_A1, from_host(RED_A1, ip))
    cpe.dp.expect(RED_A2, delivered(RED_A2, ip))
    cpe.dp.expect_none()
    assert cpe.packets("vrf_counter", VRF_A, want=vrf_before + 1) == vrf_before + 1


@VERSIONS
def test_two_tenants_with_the_same_addresses_stay_apart(cpe: Cpe, version: int) -> None:
    fam = FAMILIES[version]
    cpe.set_up_vrf_a(fam)
    cpe.set_up_vrf_b(fam)
    ip = tenant_ip(version, fam.tenant_host1, fam.tenant_host2)
    # Tenant B's identical packet goes to tenant B's subnet, tagged on the trunk.
    cpe.dp.send(RED_B, from_host(RED_B, ip))
    cpe.dp.expect(TRUNK, delivered(TRUNK, ip, vlan=VLAN_B))
    cpe.dp.expect_none()
    cpe.dp.send(RED_A1, from_host(RED_A1, ip))
    cpe.dp.expect(RED_A2, delivered(RED_A2, ip))
    cpe.dp.expect_none()


@VERSIONS
def test_tagged_subinterface_selects_its_vrf(cpe: Cpe, version: int) -> None:
    fam = FAMILIES[version]
    cpe.set_up_vrf_b(fam)
    ip = tenant_ip(version, fam.tenant_host2, fam.tenant_host1)
    cpe.dp.send(TRUNK, from_host(TRUNK, ip, vlan=VLAN_B))
    cpe.dp.expect(RED_B, delivered(RED_B, ip))
    cpe.dp.expect_none()


def test_unbound_vlan_is_dropped_and_counted(cpe: Cpe) -> None:
    fam = FAMILIES[4]
    cpe.set_up_vrf_b(fam)
    before = cpe.drops("UNKNOWN_VLAN")
    ip = tenant_ip(4, fam.tenant_host2, fam.tenant_host1)
    cpe.dp.send(TRUNK, from_host(TRUNK, ip, vlan=VLAN_A))
    cpe.dp.expect_none()
    assert cpe.drops("UNKNOWN_VLAN", want=before + 1) == before + 1


@VERSIONS
def test_vrf_miss_is_dropped_and_counted(cpe: Cpe, version: int) -> None:
    fam = FAMILIES[version]
    cpe.set_up_vrf_a(fam)
    before = cpe.drops("VRF_MISS")
    ip = tenant_ip(version, fam.tenant_host1, fam.remote_host)
    cpe.dp.send(RED_A1, from_host(RED_A1, ip))
    cpe.dp.expect_none()
    assert cpe.drops("VRF_MISS", want=before + 1) == before + 1


@VERSIONS
def test_ttl_expiry_is_punted_with_ingress_port(cpe: Cpe, version: int) -> None:
    fam = FAMILIES[version]
    cpe.set_up_vrf_a(fam)
    before = cpe.punts("TTL_EXPIRED")
    frame = from_host(RED_A1, tenant_ip(version, fam.tenant_host1, fam.tenant_host2, ttl=1))
    cpe.dp.send(RED_A1, frame)
    pkt = cpe.sw.packet_in()
    assert pkt is not None, "no packet-in for an expired TTL"
    assert pkt.metadata["ingress_port"] == RED_A1
    assert pkt.metadata["reason"] == PUNT["TTL_EXPIRED"]
    assert pkt.payload == frame
    cpe.dp.expect_none()
    assert cpe.punts("TTL_EXPIRED", want=before + 1) == before + 1


@VERSIONS
def test_route_to_our_red_address_is_punted(cpe: Cpe, version: int) -> None:
    fam = FAMILIES[version]
    cpe.set_up_vrf_a(fam)
    host = "/32" if version == 4 else "/128"
    cpe.insert(
        TableEntry(
            "vrf_fib_v4" if version == 4 else "vrf_fib_v6",
            {"vrf_id": VRF_A, "ipv4_dst" if version == 4 else "ipv6_dst": fam.our_red_addr + host},
            "route_to_cpu",
        )
    )
    frame = from_host(RED_A1, tenant_ip(version, fam.tenant_host1, fam.our_red_addr))
    cpe.dp.send(RED_A1, frame)
    pkt = cpe.sw.packet_in()
    assert pkt is not None
    assert (pkt.metadata["reason"], pkt.metadata["ingress_port"], pkt.payload) == (
        PUNT["ROUTE_TO_CPU"],
        RED_A1,
        frame,
    )


def test_red_arp_and_nd_are_punted(cpe: Cpe) -> None:
    cpe.set_up_vrf_a(FAMILIES[4])
    arp = arp_request(host_mac(RED_A1), "10.1.1.2", "10.1.1.1")
    ns = neighbour_solicitation(host_mac(RED_A2), "fe80::2", "2001:db8:a:2::1")
    for port, frame, reason in ((RED_A1, arp, "ARP"), (RED_A2, ns, "ND")):
        cpe.dp.send(port, frame)
        pkt = cpe.sw.packet_in()
        assert pkt is not None, f"no packet-in for {reason}"
        assert (pkt.metadata["reason"], pkt.metadata["ingress_port"]) == (PUNT[reason], port)
        assert pkt.payload == frame
    cpe.dp.expect_none()


@VERSIONS
def test_extranet_needs_policy(cpe: Cpe, version: int) -> None:
    fam = FAMILIES[version]
    cpe.set_up_vrf_a(fam)
    cpe.set_up_red_port(RED_B, VRF_B)
    # A leaked route in VRF B pointing at tenant A's subnet behind RED_A2.
    cpe.set_up_local_host(fam, VRF_B, fam.tenant_net2, RED_A2, port_vrf=VRF_A)
    ip = tenant_ip(version, fam.tenant_host1, fam.tenant_host2)
    before = cpe.drops("EXTRANET_DENIED")
    cpe.dp.send(RED_B, from_host(RED_B, ip))
    cpe.dp.expect_none()
    assert cpe.drops("EXTRANET_DENIED", want=before + 1) == before + 1
    cpe.insert(TableEntry("extranet", {"src_vrf_id": VRF_B, "dst_vrf_id": VRF_A}, "extranet_allow"))
    cpe.dp.send(RED_B, from_host(RED_B, ip))
    cpe.dp.expect(RED_A2, delivered(RED_A2, ip))
    cpe.dp.expect_none()


def test_port_without_role_drops(cpe: Cpe) -> None:
    fam = FAMILIES[4]
    before = cpe.drops("PORT_UNKNOWN")
    cpe.dp.send(RED_A1, from_host(RED_A1, tenant_ip(4, fam.tenant_host1, fam.tenant_host2)))
    cpe.dp.expect_none()
    assert cpe.drops("PORT_UNKNOWN", want=before + 1) == before + 1
