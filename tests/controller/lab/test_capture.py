import shutil
import struct
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import wrpcap

from controller.lab.capture import BlackCapture, CaptureError, classify, read_pcap

pytestmark = pytest.mark.unit
SECRET = b"0123456789abcdef"


def test_read_pcap_both_byte_orders(tmp_path: Path) -> None:
    frames = [b"\x01" * 60, b"\x02" * 70]
    for endian in "<>":
        head = struct.pack(endian + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
        body = b"".join(struct.pack(endian + "IIII", 0, 0, len(f), len(f)) + f for f in frames)
        path = tmp_path / f"x{endian == '<'}.pcap"
        path.write_bytes(head + body + b"\x00\x00")  # a cut-off last record is ignored
        assert read_pcap(path) == frames


def test_read_pcap_refuses_non_pcap(tmp_path: Path) -> None:
    (tmp_path / "bad").write_bytes(b"\x00" * 40)
    with pytest.raises(CaptureError, match="not a pcap file"):
        read_pcap(tmp_path / "bad")
    (tmp_path / "short").write_bytes(b"\x00")
    with pytest.raises(CaptureError, match="shorter than a pcap header"):
        read_pcap(tmp_path / "short")


@pytest.mark.parametrize(
    ("protocols", "icmp6", "kind"),
    [
        ("eth:ethertype:ip:udp:udpencap", "", None),  # UDP 4500, not a keepalive
        ("eth:ethertype:ip:esp", "", "ESP"),
        ("eth:ethertype:ip:udp:udpencap:esp", "", "ESP-in-UDP"),
        ("eth:ethertype:ip:udp:isakmp", "", "IKE"),
        ("eth:ethertype:arp", "", "ARP"),
        ("eth:ethertype:ipv6:icmpv6", "135", "ND"),
        ("eth:ethertype:ipv6:icmpv6", "128", None),  # echo request: not allowed
        ("eth:ethertype:ip:icmp:data", "", None),
        ("eth:ethertype:ip:tcp:bgp", "", None),
    ],
)
def test_classify(protocols: str, icmp6: str, kind: str | None) -> None:
    assert classify(protocols, icmp6) == kind


def test_classify_nat_keepalive_needs_its_length() -> None:
    assert classify("eth:ethertype:ip:udp:udpencap", "", "9") == "NAT-keepalive"
    assert classify("eth:ethertype:ip:udp:udpencap", "", "40") is None


@pytest.mark.skipif(shutil.which("tshark") is None, reason="needs tshark")
def test_verdict_flags_cleartext_and_forbidden_frames(tmp_path: Path) -> None:
    path = tmp_path / "black.pcap"
    wrpcap(
        str(path),
        [
            Ether() / IP(dst="198.51.100.12", proto=50) / ESP(spi=0x1000, seq=1) / (b"\xaa" * 40),
            Ether() / ARP(pdst="203.0.113.1"),
            Ether() / IP(dst="198.51.100.12") / UDP(dport=9) / (b"x" + SECRET),
        ],
    )
    cap = BlackCapture("unused", "unused", path)
    v = cap.verdict([SECRET])
    assert v.frames == 3
    assert v.kinds == {"ESP": 1, "ARP": 1}
    assert v.cleartext == [3]
    assert len(v.forbidden) == 1 and v.forbidden[0].startswith("frame 3:")
    assert not v.ok
