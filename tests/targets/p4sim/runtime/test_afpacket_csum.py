"""AF_PACKET ports complete CHECKSUM_PARTIAL TCP/UDP checksums (sender offload left on)."""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrHopByHop
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Packet, Padding

from controller.lab.netns import Netns
from targets.p4sim.runtime.ports import AfPacketPort, PortManager
from targets.p4sim.runtime.ports.afpacket import complete_partial_checksum

from .netns import can_use_netns, switch_ns
from .test_ports import forwarding_device

pytestmark = pytest.mark.unit

MAC_H1, MAC_H2 = "02:00:00:00:0c:01", "02:00:00:00:0c:02"


def fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def word_sum(data: bytes) -> int:
    """Plain big-endian 16-bit word sum, written independently of the product's."""
    if len(data) % 2:
        data += b"\x00"
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


def l4_layer(pkt: Packet) -> Packet:
    return pkt[TCP] if TCP in pkt else pkt[UDP]


def make_partial(pkt: Packet) -> tuple[bytes, bytes]:
    """(frame as the kernel leaves it for offload, frame with scapy's full checksum)."""
    full = bytes(pkt)
    l4 = l4_layer(pkt)
    seg_len = len(bytes(l4)) - (len(bytes(pkt[Padding])) if Padding in pkt else 0)
    if IP in pkt:
        src, dst = socket.inet_aton(pkt[IP].src), socket.inet_aton(pkt[IP].dst)
        pseudo = src + dst + struct.pack("!BBH", 0, pkt[IP].proto, seg_len)
    else:
        src = socket.inet_pton(socket.AF_INET6, pkt[IPv6].src)
        dst = socket.inet_pton(socket.AF_INET6, pkt[IPv6].dst)
        proto = 6 if TCP in pkt else 17
        pseudo = src + dst + struct.pack("!IxxxB", seg_len, proto)
    at = len(full) - len(bytes(l4)) + (16 if TCP in pkt else 6)
    partial = fold(word_sum(pseudo))  # what Linux writes: the folded sum, not complemented
    return full[:at] + partial.to_bytes(2, "big") + full[at + 2 :], full


def ipv4(l4: Packet, payload: bytes) -> Packet:
    return Ether(src=MAC_H1, dst=MAC_H2) / IP(src="10.9.0.1", dst="10.9.0.2") / l4 / payload


CASES = {
    "udp4-even": ipv4(UDP(sport=1234, dport=5678), b"abcd"),
    "udp4-odd": ipv4(UDP(sport=1234, dport=5678), b"abcde"),
    "tcp4": ipv4(TCP(sport=40000, dport=80, flags="S", seq=7), b""),
    "tcp4-padded": ipv4(TCP(sport=40000, dport=80, flags="PA"), b"x") / Padding(b"\xaa" * 5),
    "udp4-vlan": Ether(src=MAC_H1, dst=MAC_H2)
    / Dot1Q(vlan=7)
    / IP(src="10.9.0.1", dst="10.9.0.2", options=b"\x01\x01\x01\x00")
    / UDP(sport=1, dport=2)
    / b"vlan",
    "udp6": Ether(src=MAC_H1, dst=MAC_H2)
    / IPv6(src="fd00::1", dst="fd00::2")
    / UDP(sport=9, dport=10)
    / b"six!!",
    "tcp6-hbh": Ether(src=MAC_H1, dst=MAC_H2)
    / IPv6(src="fd00::1", dst="fd00::2")
    / IPv6ExtHdrHopByHop()
    / TCP(sport=5, dport=6, flags="S"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_completion_matches_checksum_from_scratch(name: str) -> None:
    partial, full = make_partial(CASES[name])
    assert partial != full  # the case really starts from a partial sum
    assert complete_partial_checksum(partial) == full


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.booleans(), st.booleans(), st.integers(0, 0xFFFF))
def test_completion_random_segments(payload: bytes, tcp: bool, v6: bool, port: int) -> None:
    l4 = TCP(sport=port, dport=80) if tcp else UDP(sport=port, dport=53)
    if v6:
        pkt = Ether(src=MAC_H1, dst=MAC_H2) / IPv6(src="fd00::1", dst="fd00::2") / l4 / payload
    else:
        pkt = ipv4(l4, payload)
    partial, full = make_partial(pkt)
    assert complete_partial_checksum(partial) == full


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_completion_never_raises_on_garbage(frame: bytes) -> None:
    out = complete_partial_checksum(frame)
    assert len(out) == len(frame)


def test_non_ip_and_fragments_unchanged() -> None:
    arp_like = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + b"\x00" * 28
    assert complete_partial_checksum(arp_like) == arp_like
    frag = bytes(ipv4(UDP(sport=1, dport=2), b"abcdefgh").copy())
    frag_pkt = Ether(frag)
    frag_pkt[IP].flags = "MF"
    del frag_pkt[IP].chksum
    raw = bytes(frag_pkt)
    assert complete_partial_checksum(raw) == raw


# --- through real veths, offload left on at the sender ---------------------------


@pytest.fixture
def csum_ns() -> Iterator[Netns]:
    reason = can_use_netns()
    if reason:
        pytest.skip(reason)
    with switch_ns(f"p4simcs{os.getpid()}") as ns:
        ns.ip("link", "set", "h1", "address", MAC_H1)
        ns.ip("addr", "add", "10.9.0.1/24", "dev", "h1")
        ns.ip("-6", "addr", "add", "fd00:9::1/64", "dev", "h1", "nodad")
        ns.ip("neigh", "add", "10.9.0.2", "lladdr", MAC_H2, "dev", "h1")
        ns.ip("-6", "neigh", "add", "fd00:9::2", "lladdr", MAC_H2, "dev", "h1")
        yield ns


def checksum_ok(frame: bytes) -> bool:
    pkt = Ether(frame)
    l4 = l4_layer(pkt)
    sent = l4.chksum
    del l4.chksum  # scapy recomputes it from scratch on rebuild
    return bool(l4_layer(Ether(bytes(pkt))).chksum == sent)


def wait_for(sock: socket.socket, marker: bytes, send: object) -> bytes:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        send()  # type: ignore[operator]
        end = time.monotonic() + 0.5
        while time.monotonic() < end:
            try:
                got = sock.recv(65535)
            except TimeoutError:
                break
            if marker in got:
                return got
    raise AssertionError(f"no frame carrying {marker!r} arrived")


def test_offloaded_udp_and_tcp_forwarded_with_correct_checksums(csum_ns: Netns) -> None:
    device = forwarding_device((1, 2))
    ports = PortManager(device)
    device.emit = ports.emit

    def open_all() -> tuple[AfPacketPort, AfPacketPort, list[socket.socket]]:
        p1, p2 = AfPacketPort(1, "sw1"), AfPacketPort(2, "sw2")
        socks = []
        for dev in ("sw1", "h2"):  # sw1: the raw partial frames; h2: what p4sim forwarded
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
            s.bind((dev, 0))
            s.settimeout(0.2)
            socks.append(s)
        udp4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        tcp4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp4.setblocking(False)
        tcp4.bind(("10.9.0.1", 0))
        return p1, p2, [*socks, udp4, udp6, tcp4]

    p1, p2, (tap_sw1, h2, udp4, udp6, tcp4) = csum_ns.call(open_all)
    ports.add(1, p1)
    ports.add(2, p2)
    ports.start()
    try:
        cases = []
        m4 = os.urandom(8)
        cases.append((m4, lambda: udp4.sendto(m4 + b"-udp4", ("10.9.0.2", 5555))))
        m6 = os.urandom(8)
        cases.append((m6, lambda: udp6.sendto(m6 + b"-udp6", ("fd00:9::2", 5555))))
        tcp_port = tcp4.getsockname()[1]
        m_tcp = struct.pack("!H", tcp_port)  # the SYN carries no payload: match on sport

        def syn() -> None:
            # EINPROGRESS is expected (nobody answers); the kernel retransmits the SYN.
            tcp4.connect_ex(("10.9.0.2", 80))

        for marker, send in cases:
            raw = wait_for(tap_sw1, marker, send)
            assert not checksum_ok(raw), "sender checksum is not partial: offload is off?"
            got = wait_for(h2, marker, send)
            assert checksum_ok(got)
            assert len(got) == len(raw)
        # TCP SYN: locate by the source port at the start of the TCP header.
        deadline = time.monotonic() + 5
        forwarded = None
        syn()
        while forwarded is None and time.monotonic() < deadline:
            try:
                frame = h2.recv(65535)
            except TimeoutError:
                continue
            pkt = Ether(frame)
            if TCP in pkt and pkt[TCP].sport == tcp_port:
                forwarded = frame
        assert forwarded is not None, "no SYN forwarded"
        assert m_tcp in forwarded
        assert checksum_ok(forwarded)
    finally:
        for s in (tap_sw1, h2, udp4, udp6, tcp4):
            s.close()
        ports.close()


def test_vlan_tag_taken_out_by_the_kernel_is_put_back(csum_ns: Netns) -> None:
    """The receive path moves a tag into skb metadata (packet sockets see it only in
    auxdata); p4sim must forward the frame with its tag."""
    device = forwarding_device((1, 2))
    ports = PortManager(device)
    device.emit = ports.emit

    def open_all() -> tuple[AfPacketPort, AfPacketPort, socket.socket, socket.socket]:
        p1, p2 = AfPacketPort(1, "sw1"), AfPacketPort(2, "sw2")
        socks = []
        for dev in ("h1", "h2"):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
            s.bind((dev, 0))
            s.setsockopt(263, 8, 1)  # SOL_PACKET, PACKET_AUXDATA: see where the tag went
            s.settimeout(0.2)
            socks.append(s)
        return p1, p2, socks[0], socks[1]

    p1, p2, h1, h2 = csum_ns.call(open_all)
    ports.add(1, p1)
    ports.add(2, p2)
    ports.start()
    try:
        marker = os.urandom(8)
        sent = bytes(
            Ether(src=MAC_H1, dst=MAC_H2)
            / Dot1Q(vlan=10, prio=5)
            / IP(src="10.10.0.1", dst="10.10.0.2")
            / UDP(sport=4000, dport=5555)
            / marker
        )
        deadline = time.monotonic() + 5
        tci = None
        while tci is None and time.monotonic() < deadline:
            h1.send(sent)
            try:
                frame, anc, _f, _a = h2.recvmsg(65535, socket.CMSG_SPACE(20))
            except TimeoutError:
                continue
            if marker not in frame:
                continue
            aux = [struct.unpack_from("=IIIHHHH", d) for lvl, k, d in anc if (lvl, k) == (263, 8)]
            if frame[12:14] == b"\x81\x00":
                tci = struct.unpack_from("!H", frame, 14)[0]
            elif aux and aux[0][0] & (1 << 4):
                tci = aux[0][5]
            else:
                tci = -1  # forwarded without its tag
        assert tci is not None, "the tagged frame was not forwarded"
        assert tci == (5 << 13) | 10
    finally:
        h1.close()
        h2.close()
        ports.close()
