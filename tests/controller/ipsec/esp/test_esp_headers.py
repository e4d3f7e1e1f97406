"""Header placement: IPv6 extension headers, 802.1Q tags, IPv4 options, Ethernet padding."""

import dataclasses

import pytest
from esp_testlib import ADDR, eth, request, sa_params, scapy_sa, split
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, IPOption_RR
from scapy.layers.inet6 import IPv6, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.replay import ReplayWindow
from controller.ipsec.installer import Direction

pytestmark = pytest.mark.unit


def _round_trip(version: int, packet: IP | IPv6) -> tuple[bytes, bytes]:
    """Encrypt with an outbound SA, decrypt with the matching inbound SA; both frames."""
    engine = EspEngine()
    out = sa_params(Direction.OUTBOUND, version=version, sa_index=1)
    engine.add_sa(out)
    _, protected = split(engine.process(request(cp.Op.ENCRYPT, eth(version, packet), 1)))
    # what came out must be readable by scapy too
    plain = scapy_sa(out).decrypt(Ether(protected).payload)
    assert bytes(plain) == bytes(type(packet)(bytes(packet)))
    local, remote = out.local, out.remote
    back = sa_params(Direction.INBOUND, version=version, sa_index=2, keys=out.keys)
    receiver = EspEngine()
    receiver.add_sa(dataclasses.replace(back, local=remote, remote=local))
    hdr, restored = split(receiver.process(request(cp.Op.DECRYPT, protected)))
    assert hdr.result == cp.Result.OK, receiver.last_error
    return protected, restored


def test_ipv6_hop_by_hop_and_routing_stay_in_front_of_esp() -> None:
    local, remote = ADDR[6]
    pkt = (
        IPv6(src=str(local), dst=str(remote))
        / IPv6ExtHdrHopByHop()
        / IPv6ExtHdrRouting(addresses=[])
        / TCP(dport=179)
        / Raw(b"bgp")
    )
    protected, restored = _round_trip(6, pkt)
    outer = Ether(protected)[IPv6]
    assert isinstance(outer.payload, IPv6ExtHdrHopByHop)
    assert isinstance(outer.payload.payload, IPv6ExtHdrRouting)
    assert outer.payload.payload.nh == 50 and outer.haslayer(ESP)
    assert Ether(restored)[IPv6] == IPv6(bytes(pkt))


def test_ipv4_options_are_kept_and_checksum_fixed() -> None:
    local, remote = ADDR[4]
    pkt = IP(src=str(local), dst=str(remote), options=[IPOption_RR()], proto=137) / Raw(b"m" * 30)
    protected, restored = _round_trip(4, pkt)
    outer = Ether(protected)[IP]
    assert outer.ihl > 5 and outer.proto == 50
    assert IP(bytes(outer)).chksum == outer.chksum  # as sent == as scapy computes
    rebuilt = IP(bytes(outer))
    del rebuilt.chksum
    assert IP(bytes(rebuilt)).chksum == outer.chksum
    assert bytes(Ether(restored)[IP]) == bytes(IP(bytes(pkt)))


def test_vlan_tag_and_ethernet_padding() -> None:
    engine = EspEngine()
    out = sa_params(Direction.OUTBOUND, sa_index=1)
    engine.add_sa(out)
    local, remote = ADDR[4]
    inner = IP(src=str(local), dst=str(remote), proto=137) / Raw(b"\x00\x06\x41\x40")
    frame = bytes(Ether(dst="02:00:00:00:00:0b") / Dot1Q(vlan=42) / inner) + b"\x00" * 20
    hdr, protected = split(engine.process(request(cp.Op.ENCRYPT, frame, 1)))
    assert hdr.result == cp.Result.OK
    parsed = Ether(protected)
    assert parsed[Dot1Q].vlan == 42
    # the 20 octets of Ethernet padding were not protected as payload
    assert bytes(scapy_sa(out).decrypt(parsed[IP]).payload) == b"\x00\x06\x41\x40"


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 1024),
    st.integers(0, (1 << 64) - 1 - 5000),
    st.lists(st.integers(-3000, 3000), max_size=60),
)
def test_esn_window_matches_a_model(size: int, start: int, offsets: list[int]) -> None:
    """With ESN, the 32 low bits plus the window recover the full 64-bit number."""
    window = ReplayWindow(size, esn=True)
    window.top, window.bitmap = start + 3000, 1
    seen = {start + 3000}
    for offset in offsets:
        seq = start + 3000 + offset
        if seq <= 0:
            continue
        inferred = window.infer(seq & 0xFFFFFFFF)
        top = max(seen)
        if top - size < seq <= top + (1 << 31):
            assert inferred == seq  # inside or ahead of the window: recovered exactly
        expected = seq not in seen and top - seq < size
        if inferred == seq:
            assert window.check(seq) == expected
            if expected:
                window.update(seq)
                seen.add(seq)
