"""Red -> remote C-PE: VPN label, MPLS-in-IP to the peer's black loopback, ESP out black.

The ESP the pipeline (with the engine on its crypto port) puts on the black
port is opened with scapy's SecurityAssociation, an independent ESP
implementation, and must hold exactly the MPLS-in-IP packet of RFC 4023.
"""

from __future__ import annotations

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import Ether

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
    Tunnel,
    host_mac,
    router_mac,
)
from bmv2_tests.lib.packets import decremented, eth, mpls_in_ip, tenant_ip
from controller.p4rt import TableEntry

pytestmark = pytest.mark.ptf
INNER_OUTER = pytest.mark.parametrize(
    ("inner", "outer"), [(4, 4), (6, 4), (4, 6), (6, 6)], ids=["4in4", "6in4", "4in6", "6in6"]
)
LABEL_A, LABEL_B = 1000, 2000


def open_esp(tunnel: Tunnel, frame: bytes) -> bytes:
    """Check the black frame's Ethernet/IP/ESP and return the decrypted IP packet."""
    ether = Ether(frame)
    assert (ether.src, ether.dst) == (router_mac(BLACK), BLACK_GW_MAC)
    ip = ether.payload
    fam = tunnel.outer
    assert isinstance(ip, IP if fam.version == 4 else IPv6)
    assert (ip.src, ip.dst) == (fam.our_loopback, fam.peer_loopback)
    if tunnel.out_params.udp_encap is not None:
        assert isinstance(ip.payload, UDP) and ip.payload.dport == 4500
    else:
        assert isinstance(ip.payload, ESP)
    assert ip.getlayer(ESP).spi == tunnel.out_params.spi
    return bytes(tunnel.out_sa.decrypt(ip))


def set_up_remote(cpe: Cpe, inner: int, outer: int, **tunnel_kw: object) -> Tunnel:
    fam, ofam = FAMILIES[inner], FAMILIES[outer]
    cpe.set_up_vrf_a(fam)
    cpe.set_up_black(ofam)
    tunnel = cpe.set_up_tunnel(ofam, **tunnel_kw)
    cpe.set_up_remote_route(fam, VRF_A, fam.remote_net, LABEL_A, tunnel.tunnel_id)
    return tunnel


def send_remote(cpe: Cpe, inner: int, tunnel: Tunnel) -> bytes:
    """Send a tenant packet to the remote subnet; return the MPLS-in-IP packet expected."""
    fam, ofam = FAMILIES[inner], tunnel.outer
    ip = tenant_ip(inner, fam.tenant_host1, fam.remote_host)
    cpe.dp.send(RED_A1, eth(host_mac(RED_A1), router_mac(RED_A1), ip))
    expected = mpls_in_ip(
        ofam.version, ofam.our_loopback, ofam.peer_loopback, LABEL_A, decremented(ip)
    )
    return bytes(expected)


@INNER_OUTER
def test_remote_delivery_leaves_black_only_as_esp(cpe: Cpe, inner: int, outer: int) -> None:
    tunnel = set_up_remote(cpe, inner, outer)
    before = cpe.counter("sa_tx_counter", tunnel.out_params.sa_index)[0]
    expected = send_remote(cpe, inner, tunnel)
    frame = cpe.dp.recv(BLACK, timeout=3.0)
    assert frame is not None, "nothing left the black port"
    assert open_esp(tunnel, frame) == expected
    cpe.dp.expect_none()
    assert cpe.packets("sa_tx_counter", tunnel.out_params.sa_index, want=before + 1) == before + 1


def test_udp_encapsulated_sa_for_nat_traversal(cpe: Cpe) -> None:
    tunnel = set_up_remote(cpe, 4, 4, udp=True)
    expected = send_remote(cpe, 4, tunnel)
    frame = cpe.dp.recv(BLACK, timeout=3.0)
    assert frame is not None
    assert open_esp(tunnel, frame) == expected


def test_second_tenant_uses_its_own_label(cpe: Cpe) -> None:
    fam = FAMILIES[4]
    cpe.set_up_vrf_a(fam)
    cpe.set_up_vrf_b(fam)
    cpe.set_up_black(fam)
    tunnel = cpe.set_up_tunnel(fam)
    cpe.set_up_remote_route(fam, VRF_A, fam.remote_net, LABEL_A, tunnel.tunnel_id)
    cpe.set_up_remote_route(fam, VRF_B, fam.remote_net, LABEL_B, tunnel.tunnel_id)
    ip = tenant_ip(4, fam.tenant_host1, fam.remote_host)
    for port, label in ((RED_A1, LABEL_A), (RED_B, LABEL_B)):
        cpe.dp.send(port, eth(host_mac(port), router_mac(port), ip))
        frame = cpe.dp.recv(BLACK, timeout=3.0)
        assert frame is not None
        want = mpls_in_ip(4, fam.our_loopback, fam.peer_loopback, label, decremented(ip))
        assert open_esp(tunnel, frame) == bytes(want)
    cpe.dp.expect_none()


@pytest.mark.parametrize("version", [4, 6], ids=["ipv4", "ipv6"])
def test_too_big_after_encapsulation_is_punted(cpe: Cpe, version: int) -> None:
    fam = FAMILIES[version]
    cpe.set_up_vrf_a(fam)
    cpe.set_up_black(fam)
    tunnel = cpe.set_up_tunnel(fam, mtu=200)
    cpe.set_up_remote_route(fam, VRF_A, fam.remote_net, LABEL_A, tunnel.tunnel_id)
    before = cpe.punts("MTU_EXCEEDED")
    ip = tenant_ip(version, fam.tenant_host1, fam.remote_host, payload=b"x" * 300)
    frame = eth(host_mac(RED_A1), router_mac(RED_A1), ip)
    cpe.dp.send(RED_A1, frame)
    pkt = cpe.sw.packet_in()
    assert pkt is not None, "no packet-in for a too-big packet"
    assert (pkt.metadata["reason"], pkt.metadata["ingress_port"]) == (
        PUNT["MTU_EXCEEDED"],
        RED_A1,
    )
    assert pkt.payload == frame  # the tenant packet, for ICMP too-big
    cpe.dp.expect_none()
    assert cpe.punts("MTU_EXCEEDED", want=before + 1) == before + 1


def test_tunnel_without_outbound_sa_drops(cpe: Cpe) -> None:
    fam = FAMILIES[4]
    cpe.set_up_vrf_a(fam)
    cpe.set_up_black(fam)
    cpe.insert(
        TableEntry(
            "tunnel",
            {"tunnel_id": 7},
            "set_tunnel_v4",
            {"src_addr": fam.our_loopback, "dst_addr": fam.peer_loopback, "mtu": 1500},
        )
    )
    cpe.set_up_remote_route(fam, VRF_A, fam.remote_net, LABEL_A, 7)
    before = cpe.drops("UNKNOWN_SA")
    ip = tenant_ip(4, fam.tenant_host1, fam.remote_host)
    cpe.dp.send(RED_A1, eth(host_mac(RED_A1), router_mac(RED_A1), ip))
    cpe.dp.expect_none()
    assert cpe.drops("UNKNOWN_SA", want=before + 1) == before + 1


def test_engine_without_the_sa_drops(cpe: Cpe) -> None:
    """The pipeline names an SA the engine does not hold: NO_SA comes back, counted."""
    fam = FAMILIES[4]
    cpe.set_up_vrf_a(fam)
    cpe.set_up_black(fam)
    tunnel = cpe.set_up_tunnel(fam)
    with cpe.crypto.lock:
        cpe.crypto.engine.delete_sa(tunnel.out_params.sa_index)
    cpe.set_up_remote_route(fam, VRF_A, fam.remote_net, LABEL_A, tunnel.tunnel_id)
    before = cpe.drops("UNKNOWN_SA")
    ip = tenant_ip(4, fam.tenant_host1, fam.remote_host)
    cpe.dp.send(RED_A1, eth(host_mac(RED_A1), router_mac(RED_A1), ip))
    cpe.dp.expect_none()
    assert cpe.drops("UNKNOWN_SA", want=before + 1) == before + 1


def test_tagged_subinterface_traffic_leaves_untagged_inside_the_tunnel(cpe: Cpe) -> None:
    fam = FAMILIES[4]
    cpe.set_up_vrf_b(fam)
    cpe.set_up_black(fam)
    tunnel = cpe.set_up_tunnel(fam)
    cpe.set_up_remote_route(fam, VRF_B, fam.remote_net, LABEL_B, tunnel.tunnel_id)
    ip = tenant_ip(4, fam.tenant_host2, fam.remote_host)
    cpe.dp.send(TRUNK, eth(host_mac(TRUNK), router_mac(TRUNK), ip, vlan=VLAN_B))
    frame = cpe.dp.recv(BLACK, timeout=3.0)
    assert frame is not None
    want = mpls_in_ip(4, fam.our_loopback, fam.peer_loopback, LABEL_B, decremented(ip))
    assert open_esp(tunnel, frame) == bytes(want)


def test_tunnel_state_reads_back_by_name(cpe: Cpe) -> None:
    fam = FAMILIES[4]
    tunnel = cpe.set_up_tunnel(fam, tunnel_id=3, mtu=1400)
    got = sorted(cpe.sw.entry_string(e) for e in cpe.sw.read_table("tunnel"))
    assert got == [
        "tunnel tunnel_id=3 -> set_tunnel_v4("
        f"src_addr={fam.our_loopback}, dst_addr={fam.peer_loopback}, mtu=1400)"
    ]
    got = [cpe.sw.entry_string(e) for e in cpe.sw.read_table("tunnel_sa")]
    assert got == [
        f"tunnel_sa tunnel_id=3 -> set_outbound_sa(sa_index={tunnel.out_params.sa_index})"
    ]


def test_rekey_switches_the_tunnel_to_the_new_sa(cpe: Cpe) -> None:
    """A rekey is one MODIFY of tunnel_sa: the next packet leaves on the new SA."""
    tunnel = set_up_remote(cpe, 4, 4)
    expected = send_remote(cpe, 4, tunnel)
    frame = cpe.dp.recv(BLACK, timeout=3.0)
    assert frame is not None
    assert open_esp(tunnel, frame) == expected
    rekeyed = cpe.set_up_tunnel(tunnel.outer, tunnel_id=2)  # a second SA pair to borrow
    cpe.sw.modify(
        [
            TableEntry(
                "tunnel_sa",
                {"tunnel_id": tunnel.tunnel_id},
                "set_outbound_sa",
                {"sa_index": rekeyed.out_params.sa_index},
            )
        ]
    )
    expected = send_remote(cpe, 4, tunnel)
    frame = cpe.dp.recv(BLACK, timeout=3.0)
    assert frame is not None
    assert open_esp(rekeyed, frame) == expected
