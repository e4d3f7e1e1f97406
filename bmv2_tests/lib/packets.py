"""Frames the packet tests send and the exact frames they expect (scapy).

Everything here is test tooling; the product never imports scapy.
"""

from __future__ import annotations

from scapy.contrib.mpls import MPLS
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Dot1Q, Ether
from scapy.packet import Packet, Raw

# Label TTL model of p4src (RFC 3443 short pipe) and the outer header it builds.
MPLS_PUSH_TTL = 255
OUTER_TTL = 64
PROTO_MPLS_IN_IP = 137


def ip_layer(version: int, src: str, dst: str, ttl: int = 64, **kw: object) -> Packet:
    if version == 4:
        return IP(src=src, dst=dst, ttl=ttl, id=kw.pop("id", 1), **kw)
    return IPv6(src=src, dst=dst, hlim=ttl, **kw)


def tenant_ip(
    version: int, src: str, dst: str, ttl: int = 64, payload: bytes = b"tenant payload"
) -> Packet:
    """A tenant UDP datagram."""
    return ip_layer(version, src, dst, ttl) / UDP(sport=1234, dport=5678) / Raw(payload)


def eth(src_mac: str, dst_mac: str, ip: Packet, vlan: int = 0) -> bytes:
    if vlan:
        return bytes(Ether(src=src_mac, dst=dst_mac) / Dot1Q(vlan=vlan) / ip)
    return bytes(Ether(src=src_mac, dst=dst_mac) / ip)


def decremented(ip: Packet) -> Packet:
    """The same IP packet one hop later (TTL/hop limit - 1, checksum recomputed)."""
    out = ip.copy()
    if isinstance(out, IP):
        out.ttl -= 1
        del out.chksum
    else:
        out.hlim -= 1
    return out.__class__(bytes(out))


def mpls_in_ip(
    outer_version: int, src: str, dst: str, label: int, inner: Packet, ttl: int = OUTER_TTL
) -> Packet:
    """RFC 4023 MPLS-in-IP as the pipeline builds it: DF set, id 0, one label, S=1."""
    mpls = MPLS(label=label, cos=0, s=1, ttl=MPLS_PUSH_TTL) / Raw(bytes(inner))
    if outer_version == 4:
        return IP(src=src, dst=dst, ttl=ttl, id=0, flags="DF", proto=PROTO_MPLS_IN_IP) / mpls
    return IPv6(src=src, dst=dst, hlim=ttl, nh=PROTO_MPLS_IN_IP) / mpls


def arp_request(src_mac: str, src_ip: str, dst_ip: str) -> bytes:
    return bytes(
        Ether(src=src_mac, dst="ff:ff:ff:ff:ff:ff")
        / ARP(op=1, hwsrc=src_mac, psrc=src_ip, pdst=dst_ip)
    )


def icmp_echo(version: int, src: str, dst: str) -> Packet:
    if version == 4:
        return IP(src=src, dst=dst, id=1) / ICMP(type=8, id=1, seq=1) / Raw(b"ping")
    from scapy.layers.inet6 import ICMPv6EchoRequest

    return IPv6(src=src, dst=dst) / ICMPv6EchoRequest(id=1, seq=1, data=b"ping")


def neighbour_solicitation(src_mac: str, src: str, target: str) -> bytes:
    from scapy.layers.inet6 import ICMPv6ND_NS, ICMPv6NDOptSrcLLAddr

    return bytes(
        Ether(src=src_mac, dst="33:33:ff:00:00:01")
        / IPv6(src=src, dst="ff02::1:ff00:1", hlim=255)
        / ICMPv6ND_NS(tgt=target)
        / ICMPv6NDOptSrcLLAddr(lladdr=src_mac)
    )


def udp_datagram(version: int, src: str, dst: str, sport: int, dport: int, data: bytes) -> Packet:
    return ip_layer(version, src, dst) / UDP(sport=sport, dport=dport) / Raw(data)


def bgp_segment(version: int, src: str, dst: str, sport: int = 40000) -> Packet:
    """A TCP segment to the BGP port (the payload of a BGP KEEPALIVE)."""
    keepalive = b"\xff" * 16 + b"\x00\x13\x04"
    return ip_layer(version, src, dst) / TCP(sport=sport, dport=179, flags="PA") / Raw(keepalive)


def ipv4_with_options(
    src: str, dst: str, options: list[Packet], ttl: int = 64, zero_after_hop: bool = False
) -> Packet:
    """A tenant UDP datagram whose IPv4 header carries ``options`` (IHL > 5).

    ``zero_after_hop`` picks the identification so that the header checksum is
    0x0000 after one TTL decrement: the boundary case of an incremental update
    (RFC 1624), where a wrong end-around carry would show.
    """

    def build(ident: int) -> Packet:
        ip = IP(src=src, dst=dst, ttl=ttl, id=ident, options=options)
        return IP(bytes(ip / UDP(sport=1234, dport=5678) / Raw(b"with options")))

    if not zero_after_hop:
        return build(1)
    hopped = bytearray(bytes(decremented(build(0)))[: build(0).ihl * 4])
    hopped[10:12] = b"\x00\x00"
    total = sum(int.from_bytes(hopped[i : i + 2], "big") for i in range(0, len(hopped), 2))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return build(0xFFFF - total)  # the words then sum to 0xFFFF: checksum 0
