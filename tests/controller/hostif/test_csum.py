"""Partial TCP/UDP checksums from a veth peer are completed; real errors are not hidden."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from controller.hostif.csum import complete_partial

pytestmark = pytest.mark.unit
ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def _pseudo_sum(pkt) -> int:
    """What Linux leaves in the field under CHECKSUM_PARTIAL: the folded pseudo-header sum."""
    ip = pkt[IP] if IP in pkt else pkt[IPv6]
    l4 = ip.payload
    raw = bytes(l4)
    if IP in pkt:
        words = bytes(ip)[12:20]
        proto = ip.proto
    else:
        words = bytes(ip)[8:40]
        proto = ip.nh
    total = sum(int.from_bytes(words[i : i + 2], "big") for i in range(0, len(words), 2))
    total += proto + len(raw)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _with_check(frame: bytes, offset: int, value: int) -> bytes:
    return frame[:offset] + value.to_bytes(2, "big") + frame[offset + 2 :]


def _cases():
    v4 = ETH / IP(src="203.0.113.1", dst="203.0.113.2")
    v6 = ETH / IPv6(src="2001:db8:ff::1", dst="2001:db8:ff::2")
    for ip, ip_len in ((v4, 20), (v6, 40)):
        yield ip / TCP(sport=179, dport=41126, flags="SA") / b"", 14 + ip_len + 16
        yield (
            ip / TCP(sport=179, dport=41126, flags="PA") / (b"\xff" * 16 + b"\x00\x13\x04"),
            (14 + ip_len + 16),
        )
        yield ip / UDP(sport=500, dport=500) / (b"\x00" * 29), 14 + ip_len + 6


@pytest.mark.parametrize("pkt,offset", list(_cases()))
def test_partial_checksum_is_completed_and_right_ones_are_kept(pkt, offset) -> None:
    good = bytes(pkt)
    partial = _with_check(good, offset, _pseudo_sum(pkt))
    assert partial != good
    assert complete_partial(partial) == good
    assert complete_partial(good) == good


@pytest.mark.parametrize("pkt,offset", list(_cases()))
def test_a_checksum_wrong_in_any_other_way_is_left_for_the_kernel(pkt, offset) -> None:
    good = bytes(pkt)
    wrong = _with_check(good, offset, (_pseudo_sum(pkt) + 1) & 0xFFFF)
    assert complete_partial(wrong) == wrong
    # A payload octet flipped after a full checksum: still wrong, still untouched.
    flipped = good[:-1] + bytes([good[-1] ^ 0x01])
    assert complete_partial(flipped) == flipped


def test_other_frames_pass_unchanged() -> None:
    icmp = bytes(ETH / IP(src="203.0.113.1", dst="203.0.113.2") / ICMP())
    frag = bytes(ETH / IP(src="203.0.113.1", dst="203.0.113.2", flags="MF") / UDP() / b"x")
    nochk = _with_check(bytes(ETH / IP() / UDP(sport=1, dport=2) / b"abc"), 14 + 20 + 6, 0)
    for frame in (icmp, frag, nochk, b"", b"\x00" * 13):
        assert complete_partial(frame) == frame


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_bytes_of_the_same_length(data: bytes) -> None:
    for head in (b"", bytes(ETH)[:12] + b"\x08\x00", bytes(ETH)[:12] + b"\x86\xdd"):
        frame = head + data
        out = complete_partial(frame)
        assert len(out) == len(frame)
        assert out[: len(head)] == frame[: len(head)]
