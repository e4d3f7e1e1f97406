"""UPDATE decoding with RFC 7606 handling, and round trips of VPN and tunnel routes."""

import ipaddress

import pytest

from controller.bgp.wire import (
    VPNV4,
    VPNV6,
    BgpError,
    CodecContext,
    ErrorAction,
    NextHop,
    RouteDistinguisher,
    Update,
    VpnPrefix,
    decode_message,
    label_stack,
    validate_update,
)
from controller.bgp.wire.attributes import (
    AsPath,
    AtomicAggregate,
    ExtCommunity,
    ExtendedCommunities,
    LocalPref,
    Med,
    MpReachNlri,
    MpUnreachNlri,
    NextHopAttr,
    Origin,
    TunnelEncapsulation,
    UnknownAttribute,
)
from controller.bgp.wire.constants import family_of

pytestmark = pytest.mark.unit
CTX = CodecContext()
V4 = ipaddress.IPv4Network


def _update_bytes(attrs: bytes, nlri: bytes = b"", withdrawn: bytes = b"") -> bytes:
    body = len(withdrawn).to_bytes(2, "big") + withdrawn + len(attrs).to_bytes(2, "big") + attrs
    body += nlri
    return b"\xff" * 16 + (19 + len(body)).to_bytes(2, "big") + b"\x02" + body


BASE = b"\x40\x01\x01\x00" + b"\x40\x02\x00" + b"\x40\x03\x04\x0a\x00\x00\x01"


def test_ipv4_update_round_trip() -> None:
    msg = Update(
        withdrawn=(V4("10.9.0.0/16"),),
        attributes=(
            Origin(0),
            AsPath.sequence(65001, 4200000000),
            NextHopAttr(ipaddress.IPv4Address("10.0.0.1")),
            Med(5),
            LocalPref(200),
        ),
        nlri=(V4("10.1.0.0/16"), V4("192.0.2.1/32"), V4("0.0.0.0/0")),
    )
    data = msg.encode(CTX)
    back = decode_message(data, CTX)
    assert back == msg and isinstance(back, Update) and back.errors == ()
    assert validate_update(back, ibgp=True) == []


def test_vpnv4_route_with_tunnel_encapsulation_round_trip() -> None:
    rd = RouteDistinguisher.parse("65000:1")
    route = VpnPrefix(rd, V4("10.1.1.0/24"), label_stack(100))
    msg = Update(
        attributes=(
            MpReachNlri(1, 128, NextHop.of("192.0.2.10"), (route,)),
            Origin(0),
            AsPath(),
            LocalPref(100),
            ExtendedCommunities((ExtCommunity.route_target("65000:1"),)),
        )
    )
    back = decode_message(msg.encode(CTX), CTX)
    assert back == msg
    assert isinstance(back, Update)
    assert back.announced() == [(VPNV4, route)]
    loop = Update(
        attributes=(
            Origin(0),
            AsPath(),
            NextHopAttr(ipaddress.IPv4Address("198.51.100.7")),
            LocalPref(100),
            TunnelEncapsulation.mpls_in_ipsec(
                ipaddress.IPv4Address("198.51.100.7"), b"\x00\x00\x10\x01"
            ),
        ),
        nlri=(V4("192.0.2.10/32"),),
    )
    data = loop.encode(CTX)
    # attribute 23: flags 0xC0, tunnel type 0xFFFE, sub-TLV 6 (12 octets), sub-TLV 126 (4 octets)
    expected_23 = "c01716fffe0012060a000000000001c63364077e0400001001"
    assert bytes.fromhex(expected_23) in data
    back = decode_message(data, CTX)
    assert back == loop
    assert isinstance(back, Update)
    tea = back.get(TunnelEncapsulation)
    assert tea is not None and tea.tunnels[0].security_handle is not None
    assert tea.tunnels[0].security_handle.handle == b"\x00\x00\x10\x01"


def test_vpnv6_withdraw_uses_withdrawal_label() -> None:
    rd = RouteDistinguisher.parse("1.2.3.4:5")
    route = VpnPrefix(rd, ipaddress.IPv6Network("2001:db8:1::/48"))
    msg = Update(attributes=(MpUnreachNlri(2, 128, (route,)),))
    data = msg.encode(CTX)
    assert b"\x80\x00\x00" + rd.encode() in data
    back = decode_message(data, CTX)
    assert isinstance(back, Update)
    assert back.withdrawals() == [(VPNV6, route)]
    # decoded routes share the module's family object (one per route otherwise)
    assert back.withdrawals()[0][0] is VPNV6


def test_decoded_families_are_shared_for_known_pairs_only() -> None:
    assert family_of(1, 128) is VPNV4 and family_of(2, 128) is VPNV6
    odd = family_of(3, 77)
    assert odd == (3, 77) and str(odd) == "afi3/safi77"
    assert MpReachNlri(1, 128).family is VPNV4


def test_end_of_rib_markers() -> None:
    assert Update().end_of_rib == (1, 1)
    assert Update(attributes=(MpUnreachNlri(1, 128),)).end_of_rib == VPNV4
    assert Update(nlri=(V4("10.0.0.0/8"),)).end_of_rib is None


@pytest.mark.parametrize(
    ("attr", "action", "subcode"),
    [
        (b"\x80\x04\x03\x00\x00\x01", ErrorAction.TREAT_AS_WITHDRAW, 5),  # MED of 3 octets
        (b"\x40\x06\x01\x00", ErrorAction.ATTRIBUTE_DISCARD, 5),  # ATOMIC_AGGREGATE with a value
        (b"\xc0\x07\x05\x00\x01\x02\x03\x04", ErrorAction.ATTRIBUTE_DISCARD, 5),  # AGGREGATOR
        (b"\xc0\x08\x03\x00\x00\x01", ErrorAction.TREAT_AS_WITHDRAW, 5),  # COMMUNITIES
        (b"\x80\x05\x04\x00\x00\x00\x64", ErrorAction.TREAT_AS_WITHDRAW, 4),  # LOCAL_PREF flags
        (b"\xc0\x17\x03\x00\x01\x00", ErrorAction.TREAT_AS_WITHDRAW, 5),  # TUNNEL_ENCAP short
    ],
)
def test_rfc7606_soft_errors_are_collected(attr: bytes, action: ErrorAction, subcode: int) -> None:
    msg = decode_message(_update_bytes(BASE + attr, b"\x08\x0a"), CTX)
    assert isinstance(msg, Update)
    assert msg.action is action
    assert [(e.code, e.subcode) for e in msg.errors] == [(3, subcode)]
    assert msg.errors[0].data == attr
    assert msg.nlri == (V4("10.0.0.0/8"),)
    if action is ErrorAction.ATTRIBUTE_DISCARD:
        assert all(a.type_code != attr[1] for a in msg.attributes)


def test_undefined_origin_is_treat_as_withdraw() -> None:
    attrs = b"\x40\x01\x01\x07" + BASE[4:]
    msg = decode_message(_update_bytes(attrs, b"\x08\x0a"), CTX)
    assert isinstance(msg, Update)
    assert msg.action is ErrorAction.TREAT_AS_WITHDRAW
    assert [(e.subcode, e.data) for e in msg.errors] == [(6, b"\x40\x01\x01\x07")]


def test_duplicate_attribute_is_discarded_but_first_kept() -> None:
    msg = decode_message(_update_bytes(BASE + b"\x40\x01\x01\x02", b"\x08\x0a"), CTX)
    assert isinstance(msg, Update)
    assert msg.action is ErrorAction.ATTRIBUTE_DISCARD
    assert msg.get(Origin) == Origin(0)


def test_duplicate_mp_reach_resets_session() -> None:
    mp = MpUnreachNlri(1, 128).encode(CTX)
    with pytest.raises(BgpError) as exc:
        decode_message(_update_bytes(mp + mp), CTX)
    assert exc.value.action is ErrorAction.SESSION_RESET


def test_unrecognized_well_known_resets_session() -> None:
    with pytest.raises(BgpError) as exc:
        decode_message(_update_bytes(BASE + b"\x40\x63\x00"), CTX)
    assert (exc.value.subcode, exc.value.data) == (2, b"\x40\x63\x00")


def test_attribute_overrun_is_treat_as_withdraw() -> None:
    msg = decode_message(_update_bytes(BASE + b"\x80\x04\x09\x00", b"\x08\x0a"), CTX)
    assert isinstance(msg, Update) and msg.action is ErrorAction.TREAT_AS_WITHDRAW


def test_malformed_nlri_resets_session() -> None:
    with pytest.raises(BgpError) as exc:
        decode_message(_update_bytes(BASE, b"\x21\x0a\x00\x00\x00\x00"), CTX)
    assert (exc.value.subcode, exc.value.action) == (10, ErrorAction.SESSION_RESET)


def test_unknown_optional_transitive_kept_with_flags_and_partial_on_pass() -> None:
    raw = b"\xd0\x63\x00\x03abc"  # extended length on a short value, as some speakers send
    msg = decode_message(_update_bytes(BASE + raw, b"\x08\x0a"), CTX)
    assert isinstance(msg, Update)
    unk = msg.attribute(0x63)
    assert isinstance(unk, UnknownAttribute) and unk.value == b"abc"
    assert unk.encode(CTX) == raw
    assert unk.with_partial().encode(CTX) == b"\xf0\x63\x00\x03abc"
    assert msg.encode(CTX) == _update_bytes(BASE + raw, b"\x08\x0a")


def test_missing_well_known_is_treat_as_withdraw() -> None:
    msg = Update(attributes=(Origin(0),), nlri=(V4("10.0.0.0/8"),))
    errs = validate_update(msg, ibgp=False)
    assert {e.data for e in errs} == {b"\x02", b"\x03"}
    assert all(e.action is ErrorAction.TREAT_AS_WITHDRAW and e.subcode == 3 for e in errs)


def test_invalid_next_hop() -> None:
    msg = Update(
        attributes=(Origin(0), AsPath(), NextHopAttr(ipaddress.IPv4Address("224.0.0.1"))),
        nlri=(V4("10.0.0.0/8"),),
    )
    (err,) = validate_update(msg, ibgp=False)
    assert err.subcode == 8


def test_atomic_aggregate_round_trip() -> None:
    msg = Update(attributes=(Origin(2), AsPath(), AtomicAggregate()), nlri=(V4("10.0.0.0/8"),))
    assert decode_message(msg.encode(CTX), CTX) == msg


def test_repeated_attributes_decode_once_per_codec_context() -> None:
    """UPDATEs repeating their attributes share the decoded objects (update.py's memo),
    but only per codec context, and an attribute with an error is decoded, and reported,
    every time."""
    two = CodecContext(four_octet_as=False)
    path4 = b"\x40\x02\x06\x02\x01\x00\x00\xfd\xe8"  # AS_SEQUENCE [65000] in 4 octets
    path2 = b"\x40\x02\x04\x02\x01\xfd\xe8"  # the same in 2 octets
    first = decode_message(_update_bytes(BASE[:4] + path4 + BASE[7:], b"\x08\x0a"), CTX)
    again = decode_message(_update_bytes(BASE[:4] + path4 + BASE[7:], b"\x08\x0b"), CTX)
    assert isinstance(first, Update) and isinstance(again, Update)
    assert first.get(AsPath) is again.get(AsPath)
    old = decode_message(_update_bytes(BASE[:4] + path2 + BASE[7:], b"\x08\x0a"), two)
    assert isinstance(old, Update)
    assert old.get(AsPath) == first.get(AsPath)
    as4 = b"\xc0\x11\x06\x02\x01\x00\x00\xfd\xe8"  # AS4_PATH: dropped between 4-octet peers
    for ctx, dropped in ((CTX, True), (two, False), (CTX, True)):
        msg = decode_message(_update_bytes(BASE + as4, b"\x08\x0a"), ctx)
        assert isinstance(msg, Update)
        assert bool(msg.errors) is dropped
    bad = b"\xc0\x08\x03\x00\x00\x01"  # COMMUNITIES of 3 octets: treat-as-withdraw
    for _ in range(2):
        msg = decode_message(_update_bytes(BASE + bad, b"\x08\x0a"), CTX)
        assert isinstance(msg, Update)
        assert msg.action is ErrorAction.TREAT_AS_WITHDRAW
