"""RT membership NLRI (RFC 4684 4): golden bytes both ways, malformed lengths."""

import ipaddress

import pytest

from controller.bgp.wire import BgpError, CodecContext, ErrorAction, NextHop, Update, decode_message
from controller.bgp.wire.attributes import ExtCommunity, MpReachNlri, MpUnreachNlri
from controller.bgp.wire.constants import RTC
from controller.bgp.wire.nlri.rtc import RtMembership

pytestmark = pytest.mark.unit
CTX = CodecContext()

RT = ExtCommunity.route_target("65000:100").encode()
FULL = RtMembership.create(65000, RT)
# Length 96, origin AS 65000, route target 65000:100 (type 0x00, subtype 0x02: 2-octet AS).
FULL_BYTES = bytes.fromhex("600000fde80002fde800000064")
# Cut after the route target's two type octets: "any route target of type 0x0002".
PART = RtMembership(48, 65000 << 64 | 0x0002 << 48)
PART_BYTES = bytes.fromhex("300000fde80002")
# MP_REACH_NLRI: flags 0x80, type 14, length, AFI 1, SAFI 132, next hop 4 octets, reserved.
REACH = bytes.fromhex("800e1e000184040aff000700") + b"\x00" + FULL_BYTES + PART_BYTES


def test_membership_golden_bytes_both_ways() -> None:
    assert FULL.encode() == FULL_BYTES
    assert (FULL.origin_as, FULL.route_target) == (65000, RT)
    assert RtMembership().encode() == b"\x00" and PART.encode() == PART_BYTES
    assert str(FULL) == "65000:0002fde800000064/96" and str(RtMembership()) == "default"
    attr = MpReachNlri(
        1, 132, NextHop(ipaddress.IPv4Address("10.255.0.7")), (RtMembership(), FULL, PART)
    )
    assert attr.encode(CTX) == REACH
    msg = decode_message(Update(attributes=(attr,)).encode(CTX), CTX)
    assert isinstance(msg, Update)
    assert msg.announced() == [(RTC, RtMembership()), (RTC, FULL), (RTC, PART)]


def test_bits_past_the_length_are_ignored() -> None:
    cut = RtMembership(44, 65000 << 64)  # 12 bits of route target: 0x000 of 0x0002
    data = Update(attributes=(MpUnreachNlri(1, 132, (cut,)),)).encode(CTX)
    assert data[-2:] == b"\x00\x00"
    msg = decode_message(data[:-1] + b"\x0f", CTX)  # the 4 bits past 44 set
    assert isinstance(msg, Update)
    assert msg.withdrawals() == [(RTC, cut)]


@pytest.mark.parametrize(
    ("nlri", "why"),
    [
        (b"\x14\x00\x00\xfd", "RT membership length 20 (0 or 32-96 bits, RFC 4684 4)"),
        (b"\x61" + bytes(13), "RT membership length 97 (0 or 32-96 bits, RFC 4684 4)"),
        (b"\x60\x00\x00\xfd\xe8\x00\x02", "RT membership of 96 bits needs 12 octets, 6 left"),
        (b"\x00\x20", "RT membership of 32 bits needs 4 octets, 0 left"),  # default, then cut
    ],
)
def test_malformed_lengths_reset_the_session_with_a_clear_error(nlri: bytes, why: str) -> None:
    attr = bytes.fromhex("800f") + bytes([3 + len(nlri)]) + bytes.fromhex("000184") + nlri
    body = b"\x00\x00" + len(attr).to_bytes(2, "big") + attr
    data = b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body
    with pytest.raises(BgpError) as exc:
        decode_message(data, CTX)
    assert exc.value.action is ErrorAction.SESSION_RESET
    assert why in str(exc.value)
