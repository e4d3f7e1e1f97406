"""Attribute and NLRI codecs built from meaning, checked against hand-assembled octets."""

import ipaddress

import pytest

from controller.bgp.wire import (
    AS_TRANS,
    BgpError,
    CodecContext,
    ErrorAction,
    Label,
    NextHop,
    RouteDistinguisher,
    VpnPrefix,
    decode_attributes,
    label_stack,
)
from controller.bgp.wire.attributes import (
    Aggregator,
    As4Path,
    AsPath,
    AsSegment,
    ExtCommunity,
    ExtendedCommunities,
    LargeCommunities,
    LargeCommunityValue,
    MpReachNlri,
    SecurityHandle,
    SegmentType,
    TunnelEgressEndpoint,
    TunnelEncapsulation,
    TunnelTlv,
    UnknownSubTlv,
    reconstruct_as_path,
    tunnel_problems,
)
from controller.bgp.wire.nlri.vpn import decode_vpn_prefixes

pytestmark = pytest.mark.unit
CTX4 = CodecContext(four_octet_as=True)
CTX2 = CodecContext(four_octet_as=False)


@pytest.mark.parametrize(
    ("text", "wire"),
    [
        ("65000:1", "0000fde800000001"),
        ("1.2.3.4:5", "0001010203040005"),
        ("4200000000:7", "0002fa56ea000007"),
        ("0:0", "0000000000000000"),
    ],
)
def test_route_distinguisher_text_and_wire(text: str, wire: str) -> None:
    rd = RouteDistinguisher.parse(text)
    assert rd.encode().hex() == wire
    assert str(RouteDistinguisher.decode(bytes.fromhex(wire))) == text


@pytest.mark.parametrize("bad", ["65000", "a:b", "1.2.3.4:70000", "4200000000:70000", "-1:1"])
def test_route_distinguisher_rejects_bad_text(bad: str) -> None:
    with pytest.raises(ValueError, match="route distinguisher"):
        RouteDistinguisher.parse(bad)


def test_unknown_rd_type_kept() -> None:
    rd = RouteDistinguisher.decode(bytes.fromhex("0003aabbccddeeff"))
    assert rd.encode().hex() == "0003aabbccddeeff" and str(rd).startswith("type3:")


def test_label_fields() -> None:
    lab = Label(100, tc=5, bos=True)
    assert lab.encode().hex() == "00064b"
    assert Label.from_field(0x00064B) == lab
    assert [lb.bos for lb in label_stack(16, 17, 18)] == [False, False, True]


def test_vpn_nlri_label_handling() -> None:
    rd = RouteDistinguisher.parse("65000:1")
    err = lambda why: BgpError(3, 10, why)  # noqa: E731
    stack = VpnPrefix(rd, ipaddress.IPv4Network("10.0.0.0/8"), label_stack(100, 200))
    data = stack.encode()
    assert data[0] == 24 * 2 + 64 + 8
    assert decode_vpn_prefixes(data, 32, err) == (stack,)
    # The legacy 0x000000 withdrawal field ends the stack and yields no label.
    legacy = bytes([24 + 64 + 8]) + b"\x00\x00\x00" + rd.encode() + b"\x0a"
    (got,) = decode_vpn_prefixes(legacy, 32, err)
    assert got.labels == () and got.prefix == ipaddress.IPv4Network("10.0.0.0/8")
    with pytest.raises(BgpError):  # length too small for label + RD
        decode_vpn_prefixes(b"\x50" + bytes(10), 32, err)
    with pytest.raises(ValueError, match="255 bits"):
        VpnPrefix(rd, ipaddress.IPv6Network("::/128"), label_stack(16, 17, 18)).encode()


def test_as_path_two_and_four_octet() -> None:
    path = AsPath(
        (
            AsSegment(SegmentType.AS_SEQUENCE, (65001, 4200000000)),
            AsSegment(SegmentType.AS_SET, (7, 8)),
        )
    )
    assert path.encode_value(CTX4).hex() == "02020000fde9fa56ea0001020000000700000008"
    assert path.encode_value(CTX2).hex() == f"0202fde9{AS_TRANS:04x}010200070008"
    assert path.path_length == 3
    assert str(path) == "65001 4200000000 {7 8}"
    assert path.prepend(1).segments[0].asns == (1, 65001, 4200000000)


def test_as_path_long_sequence_is_split() -> None:
    path = AsPath.sequence(*range(1, 301))
    data = path.encode_value(CTX4)
    back = AsPath.decode_value(data, CTX4)
    assert [len(s.asns) for s in back.segments] == [255, 45]
    assert back.asns == path.asns


@pytest.mark.parametrize("value", ["0200", "0501000000ff", "020200000001"])
def test_malformed_as_path(value: str) -> None:
    with pytest.raises(BgpError) as exc:
        AsPath.decode_value(bytes.fromhex(value), CTX4)
    assert (exc.value.subcode, exc.value.action) == (11, ErrorAction.TREAT_AS_WITHDRAW)


@pytest.mark.parametrize(
    ("as_path", "as4_path", "expected"),
    [
        # 2-octet view: 65001 AS_TRANS AS_TRANS; AS4_PATH holds the last two for real.
        ("65001 23456 23456", "4200000000 4200000001", "65001 4200000000 4200000001"),
        # AS4_PATH longer than AS_PATH: ignored.
        ("65001", "4200000000 4200000001", "65001"),
        # A set in the leading part counts as one.
        ("{1 2} 23456", "4200000000", "{1 2} 4200000000"),
    ],
)
def test_reconstruct_as_path_rfc6793(as_path: str, as4_path: str, expected: str) -> None:
    def parse(text: str, cls: type) -> object:
        segs = []
        for part in text.replace("{", "|{").replace("}", "}|").split("|"):
            part = part.strip()
            if part.startswith("{"):
                segs.append(AsSegment(SegmentType.AS_SET, tuple(map(int, part[1:-1].split()))))
            elif part:
                segs.append(AsSegment(SegmentType.AS_SEQUENCE, tuple(map(int, part.split()))))
        return cls(tuple(segs))

    got = reconstruct_as_path(parse(as_path, AsPath), parse(as4_path, As4Path))  # type: ignore[arg-type]
    assert str(got) == expected


def test_as4_attributes_discarded_between_four_octet_speakers() -> None:
    as4 = As4Path.sequence(4200000000).encode(CTX4)
    attrs, errors = decode_attributes(as4, CTX4)
    assert attrs == () and [e.action for e in errors] == [ErrorAction.ATTRIBUTE_DISCARD]
    attrs, errors = decode_attributes(as4, CTX2)
    assert attrs == (As4Path.sequence(4200000000),) and errors == ()


def test_aggregator_width_follows_session() -> None:
    agg = Aggregator(4200000000, ipaddress.IPv4Address("192.0.2.1"))
    assert agg.encode_value(CTX2).hex() == f"{AS_TRANS:04x}c0000201"
    assert Aggregator.decode_value(agg.encode_value(CTX4), CTX4) == agg


def test_route_targets_of_all_three_types() -> None:
    rts = [ExtCommunity.route_target(t) for t in ("65000:1", "192.0.2.1:7", "4200000000:9")]
    assert [c.encode().hex() for c in rts] == [
        "0002fde800000001",
        "0102c00002010007",
        "0202fa56ea000009",
    ]
    other = ExtCommunity(0x03, 0x0C, bytes(4) + b"\x00\x08")  # encapsulation community kept
    attr = ExtendedCommunities((*rts, other))
    assert attr.route_targets == tuple(rts)
    assert str(attr) == "rt 65000:1 rt 192.0.2.1:7 rt 4200000000:9 0x030c000000000008"
    assert ExtendedCommunities.decode_value(attr.encode_value(CTX4), CTX4) == attr


def test_large_community() -> None:
    attr = LargeCommunities((LargeCommunityValue(4200000000, 1, 2),))
    assert attr.encode(CTX4).hex() == "c0200cfa56ea000000000100000002"
    assert str(attr) == "4200000000:1:2"


def test_tunnel_encapsulation_sub_tlv_forms() -> None:
    tlv = TunnelTlv(
        0xFFFE,
        (
            TunnelEgressEndpoint(ipaddress.IPv6Address("2001:db8::1")),
            TunnelEgressEndpoint(None),
            SecurityHandle(b"\x01\x02", 126),
            UnknownSubTlv(8, b"\x12\xb5"),  # UDP destination port: kept raw
            UnknownSubTlv(200, bytes(300)),  # 2-octet length form
        ),
    )
    attr = TunnelEncapsulation((tlv, TunnelTlv(2)))
    value = attr.encode_value(CTX4)
    assert value[4:10].hex() == "061600000000"  # sub-TLV 6 with the 4-octet reserved field
    assert bytes.fromhex("c8012c") in value  # type 200, length 300 in two octets
    assert attr.encode(CTX4)[:4].hex() == "d017015f"  # extended length: 351 octets
    back = TunnelEncapsulation.decode_value(value, CTX4)
    assert back == attr
    assert back.tunnels[1] == TunnelTlv(2)
    assert tunnel_problems(back.tunnels[0]) == ["2 Tunnel Egress Endpoint sub-TLVs"]
    assert tunnel_problems(back.tunnels[1]) == ["no Tunnel Egress Endpoint sub-TLV"]


def test_configured_security_handle_code_point() -> None:
    ctx = CodecContext(security_handle_subtlv=127, mpls_in_ipsec_tunnel_type=300)
    attr = TunnelEncapsulation.mpls_in_ipsec(ipaddress.IPv4Address("198.51.100.1"), b"\xaa", ctx)
    value = attr.encode_value(ctx)
    assert value[:2] == (300).to_bytes(2, "big") and b"\x7f\x01\xaa" in value
    assert TunnelEncapsulation.decode_value(value, ctx) == attr
    # A session configured with the default sees 127 as an unknown sub-TLV, kept raw.
    other = TunnelEncapsulation.decode_value(value, CTX4)
    assert other.tunnels[0].security_handle is None
    assert UnknownSubTlv(127, b"\xaa") in other.tunnels[0].sub_tlvs
    with pytest.raises(ValueError, match="0-127"):
        CodecContext(security_handle_subtlv=200)


def test_malformed_egress_endpoint_kept_raw_and_reported() -> None:
    value = bytes.fromhex("fffe000a06080000000000010102")  # IPv4 AFI, 2-octet address
    attr = TunnelEncapsulation.decode_value(value, CTX4)
    assert attr.tunnels[0].egress_endpoint is None
    assert tunnel_problems(attr.tunnels[0]) == ["malformed Tunnel Egress Endpoint sub-TLV"]
    assert attr.encode_value(CTX4) == value


@pytest.mark.parametrize(
    "value",
    ["fffe00", "fffe00050602", "fffe0004c8", ""],
)
def test_malformed_tunnel_encapsulation(value: str) -> None:
    with pytest.raises(BgpError) as exc:
        TunnelEncapsulation.decode_value(bytes.fromhex(value), CTX4)
    assert exc.value.action is ErrorAction.TREAT_AS_WITHDRAW


@pytest.mark.parametrize(
    ("afi", "safi", "nh", "length"),
    [
        (1, 128, NextHop.of("192.0.2.1"), 12),
        (2, 128, NextHop.of("2001:db8::1"), 24),
        (2, 128, NextHop.of("2001:db8::1", "fe80::1"), 48),
        (2, 1, NextHop.of("2001:db8::1", "fe80::1"), 32),
        (1, 1, NextHop.of("192.0.2.1"), 4),
    ],
)
def test_mp_next_hop_forms(afi: int, safi: int, nh: NextHop, length: int) -> None:
    attr = MpReachNlri(afi, safi, nh)
    value = attr.encode_value(CTX4)
    assert value[3] == length
    assert MpReachNlri.decode_value(value, CTX4) == attr


def test_mp_reach_bad_next_hop_resets_session() -> None:
    with pytest.raises(BgpError) as exc:
        MpReachNlri.decode_value(bytes.fromhex("00018004c000020100"), CTX4)
    assert exc.value.action is ErrorAction.SESSION_RESET


def test_mp_reach_unknown_family_kept_raw() -> None:
    value = bytes.fromhex("00194604c000020100deadbeef")  # L2VPN EVPN
    attr = MpReachNlri.decode_value(value, CTX4)
    assert (attr.raw_nlri, attr.raw_next_hop) == (bytes.fromhex("deadbeef"), value[4:8])
    assert attr.encode_value(CTX4) == value
