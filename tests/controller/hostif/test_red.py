"""The red-port responder against scapy-built frames (scapy only in tests)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP
from scapy.layers.inet6 import (
    ICMPv6EchoReply,
    ICMPv6EchoRequest,
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import ARP, Ether

from controller.hostif.red import RedPort, RedResponder

pytestmark = pytest.mark.unit
ME = "02:00:00:00:01:01"
HOST = "02:bb:00:00:00:10"


@pytest.fixture
def red() -> RedResponder:
    r = RedResponder()
    r.add(RedPort(1, ME, [ipaddress.ip_address("10.1.1.1"), ipaddress.ip_address("2001:db8:1::1")]))
    return r


def test_arp_request_for_us_is_answered_and_sender_learned(red: RedResponder) -> None:
    req = Ether(src=HOST, dst="ff:ff:ff:ff:ff:ff") / ARP(
        op=1, hwsrc=HOST, psrc="10.1.1.10", pdst="10.1.1.1"
    )
    out = red.handle(1, bytes(req))
    assert out.learned == [(ipaddress.ip_address("10.1.1.10"), HOST)]
    rep = Ether(out.replies[0])
    assert rep.dst == HOST and rep[ARP].op == 2 and rep[ARP].hwsrc == ME
    assert rep[ARP].psrc == "10.1.1.1" and rep[ARP].pdst == "10.1.1.10"
    other = Ether(src=HOST) / ARP(op=1, hwsrc=HOST, psrc="10.1.1.10", pdst="10.1.1.2")
    assert red.handle(1, bytes(other)).replies == []


def test_ping_to_gateway(red: RedResponder) -> None:
    req = Ether(src=HOST, dst=ME) / IP(src="10.1.1.10", dst="10.1.1.1") / ICMP(id=7, seq=3) / b"xyz"
    rep = Ether(red.handle(1, bytes(req)).replies[0])
    assert rep[IP].src == "10.1.1.1" and rep[ICMP].type == 0 and rep[ICMP].seq == 3
    assert bytes(rep[ICMP].payload) == b"xyz"
    # scapy recomputes the checksums: they must match what we sent.
    rebuilt = Ether(bytes(rep))
    del rebuilt[IP].chksum, rebuilt[ICMP].chksum
    assert bytes(Ether(bytes(rebuilt))) == bytes(rep)


def test_neighbour_solicitation_and_ping6(red: RedResponder) -> None:
    ns = (
        Ether(src=HOST, dst="33:33:ff:00:00:01")
        / IPv6(src="2001:db8:1::10", dst="ff02::1:ff00:1", hlim=255)
        / ICMPv6ND_NS(tgt="2001:db8:1::1")
        / ICMPv6NDOptSrcLLAddr(lladdr=HOST)
    )
    out = red.handle(1, bytes(ns))
    assert out.learned == [(ipaddress.ip_address("2001:db8:1::10"), HOST)]
    na = Ether(out.replies[0])
    assert na[ICMPv6ND_NA].tgt == "2001:db8:1::1" and na[ICMPv6ND_NA].R == 1
    assert na[ICMPv6NDOptDstLLAddr].lladdr == ME
    check = IPv6(bytes(na[IPv6]))
    want = check[ICMPv6ND_NA].cksum
    del check[ICMPv6ND_NA].cksum
    assert IPv6(bytes(check))[ICMPv6ND_NA].cksum == want
    echo = (
        Ether(src=HOST, dst=ME)
        / IPv6(src="2001:db8:1::10", dst="2001:db8:1::1")
        / ICMPv6EchoRequest(id=1, seq=2, data=b"ab")
    )
    rep = Ether(red.handle(1, bytes(echo)).replies[0])
    assert rep[ICMPv6EchoReply].seq == 2 and rep[IPv6].dst == "2001:db8:1::10"


def test_solicitations_we_send_parse(red: RedResponder) -> None:
    arp = Ether(red.arp_request(1, ipaddress.IPv4Address("10.1.1.20")) or b"")
    assert arp[ARP].op == 1 and arp[ARP].pdst == "10.1.1.20" and arp.dst == "ff:ff:ff:ff:ff:ff"
    ns = Ether(red.neighbour_solicit(1, ipaddress.IPv6Address("2001:db8:1::20")) or b"")
    assert ns[IPv6].dst == "ff02::1:ff00:20" and ns[ICMPv6ND_NS].tgt == "2001:db8:1::20"
    assert red.arp_request(9, ipaddress.IPv4Address("10.1.1.20")) is None


def make() -> RedResponder:
    r = RedResponder()
    r.add(RedPort(1, ME, [ipaddress.ip_address("10.1.1.1"), ipaddress.ip_address("2001:db8:1::1")]))
    return r


@given(st.binary(max_size=120), st.sampled_from([b"\x08\x06", b"\x08\x00", b"\x86\xdd"]))
def test_random_frames_never_raise(body: bytes, ethertype: bytes) -> None:
    """Malformed input is reported (``dropped``) or answered, never an exception."""
    out = make().handle(1, bytes(12) + ethertype + body)
    assert all(len(r) >= 42 for r in out.replies)
    assert out.replies or out.learned or out.dropped
