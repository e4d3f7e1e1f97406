"""Frames to fuzz the C-PE with: well-formed seeds of every kind it handles, and mutations.

Used by the isolation fuzz and by the p4sim/BMv2 differential test. Seeds are
built from the feature helpers' address plan (``lib/cpe.py``); hypothesis
either draws random bytes or takes a seed and flips bytes, truncates it, or
both, so most inputs get deep into the parser and pipeline before they stop
being well-formed.
"""

from __future__ import annotations

from hypothesis import strategies as st
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet

from bmv2_tests.lib.cpe import (
    BLACK,
    BLACK_GW_MAC,
    RED_A1,
    RED_A2,
    RED_B,
    TRUNK,
    V4,
    V6,
    VLAN_B,
    host_mac,
    router_mac,
)
from bmv2_tests.lib.packets import (
    arp_request,
    bgp_segment,
    eth,
    icmp_echo,
    mpls_in_ip,
    neighbour_solicitation,
    tenant_ip,
    udp_datagram,
)

RED_PORTS = (RED_A1, RED_A2, RED_B, TRUNK)
FAMS = (V4, V6)


def on_black(ip: Packet) -> bytes:
    return bytes(Ether(src=BLACK_GW_MAC, dst=router_mac(BLACK)) / ip)


def red_seeds() -> list[bytes]:
    """Tenant traffic: to a local subnet, to the remote site, to the C-PE, ARP/ND, tagged."""

    def from_a1(ip: Packet) -> bytes:
        return eth(host_mac(RED_A1), router_mac(RED_A1), ip)

    out = []
    for f in FAMS:
        for dst in (f.tenant_host2, f.remote_host, f.our_red_addr):
            out.append(from_a1(tenant_ip(f.version, f.tenant_host1, dst)))
        tagged = tenant_ip(f.version, f.tenant_host2, f.tenant_host1)
        out.append(eth(host_mac(TRUNK), router_mac(TRUNK), tagged, vlan=VLAN_B))
        out.append(from_a1(icmp_echo(f.version, f.tenant_host1, f.our_red_addr)))
    out.append(arp_request(host_mac(RED_A1), V4.tenant_host1, V4.our_red_addr))
    out.append(neighbour_solicitation(host_mac(RED_A1), "fe80::2", V6.our_red_addr))
    return out


def black_seeds() -> list[bytes]:
    """Network traffic: clear MPLS-in-IP, unkeyed ESP (plain and in UDP), IKE, BGP, ARP/ND."""
    out = []
    for f in FAMS:
        v = f.version
        inner = tenant_ip(v, f.remote_host, f.tenant_host1)
        out.append(on_black(mpls_in_ip(v, f.peer_loopback, f.our_loopback, 100 + v, inner)))
        esp_body = b"\x00\x00\x10\x01" + b"\x00" * 40
        esp: Packet = (
            IP(src=f.peer_loopback, dst=f.our_loopback, proto=50)
            if v == 4
            else IPv6(src=f.peer_loopback, dst=f.our_loopback, nh=50)
        )
        out.append(on_black(esp / esp_body))
        natt = udp_datagram(v, f.peer_loopback, f.our_loopback, 4500, 4500, esp_body)
        out.append(on_black(natt))
        ike = udp_datagram(v, f.peer_loopback, f.our_black_if, 500, 500, b"\x00" * 28)
        out.append(on_black(ike))
        out.append(on_black(bgp_segment(v, f.peer_loopback, f.our_black_if)))
        out.append(on_black(icmp_echo(v, f.peer_loopback, f.our_black_if)))
        out.append(on_black(tenant_ip(v, f.peer_loopback, f.tenant_host1)))
    out.append(arp_request(BLACK_GW_MAC, "203.0.113.254", V4.our_black_if))
    out.append(neighbour_solicitation(BLACK_GW_MAC, "fe80::1", V6.our_black_if))
    return out


def mutated(seeds: list[bytes], max_size: int = 200) -> st.SearchStrategy[bytes]:
    """Random bytes, or a seed with up to six bytes replaced and maybe cut short."""

    @st.composite
    def strategy(draw: st.DrawFn) -> bytes:
        if draw(st.integers(0, 3)) == 0:
            return draw(st.binary(min_size=1, max_size=max_size))
        frame = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(0, 6))):
            pos = draw(st.integers(0, len(frame) - 1))
            frame[pos] = draw(st.integers(0, 255))
        if draw(st.booleans()):
            frame = frame[: draw(st.integers(1, len(frame)))]
        return bytes(frame)

    return strategy()


def is_esp(frame: bytes) -> bool:
    """ESP, or ESP in UDP to port 4500 (RFC 3948), in an Ethernet frame."""
    pkt = Ether(frame)
    ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
    if ip is None:
        return False
    nxt = ip.proto if isinstance(ip, IP) else ip.nh
    if nxt == 50:
        return True
    return nxt == 17 and isinstance(ip.payload, UDP) and ip.payload.dport == 4500


def crypto_seeds(sa_indexes: list[int]) -> list[bytes]:
    """Frames as the engine might send them back: every op and result, known and unknown SAs."""
    from controller.ipsec import crypto_port as cp

    inner = black_seeds()[:2] + red_seeds()[:2]
    out = []
    for i, sa in enumerate([0, *sa_indexes, 999]):
        for op in (cp.Op.ENCRYPT, cp.Op.DECRYPT):
            result = cp.Result.OK if i % 2 == 0 else list(cp.Result)[i % len(cp.Result)]
            hdr = cp.CryptoHeader(op=op, sa_index=sa, result=result, ingress_port=BLACK)
            out.append(cp.frame(hdr, inner[i % len(inner)]))
    return out


def cpu_seeds() -> list[bytes]:
    """Frames the controller sends: BGP between loopbacks (the SPD path), IKE, replies."""
    out = []
    for f in FAMS:
        v = f.version
        out.append(on_black(bgp_segment(v, f.our_loopback, f.peer_loopback)))
        ike = udp_datagram(v, f.our_black_if, f.peer_loopback, 500, 500, b"i" * 28)
        out.append(on_black(ike))
        echo = icmp_echo(v, f.our_red_addr, f.tenant_host1)
        out.append(eth(router_mac(RED_A1), host_mac(RED_A1), echo))
    return out
