"""Message layer: framing, OPEN/capabilities, KEEPALIVE, NOTIFICATION, ROUTE-REFRESH."""

import ipaddress

import pytest

from controller.bgp.wire import (
    AS_TRANS,
    PRE_OPEN_CONTEXT,
    VPNV4,
    AddPath,
    AddPathFamily,
    BgpError,
    CodecContext,
    EnhancedRouteRefresh,
    ErrorAction,
    ExtendedMessage,
    ExtendedNextHop,
    FourOctetAs,
    FrameReader,
    GracefulRestart,
    GracefulRestartFamily,
    Keepalive,
    MessageTooLong,
    MultiProtocol,
    NextHopEncoding,
    Notification,
    Open,
    RefreshSubtype,
    RouteRefresh,
    RouteRefreshMessage,
    UnknownCapability,
    Update,
    decode_message,
)
from controller.bgp.wire.attributes import UnknownAttribute

pytestmark = pytest.mark.unit

MARKER = b"\xff" * 16


def test_keepalive_is_the_bare_header() -> None:
    assert Keepalive().encode() == MARKER + b"\x00\x13\x04"
    assert decode_message(MARKER + b"\x00\x13\x04") == Keepalive()


@pytest.mark.parametrize(
    ("data", "code", "subcode"),
    [
        (b"\xfe" + b"\xff" * 15 + b"\x00\x13\x04", 1, 1),  # marker not all ones
        (MARKER + b"\x00\x12\x04", 1, 2),  # length below 19
        (MARKER + b"\x00\x14\x04\x00", 1, 2),  # KEEPALIVE with a body
        (MARKER + b"\x00\x13\x09", 1, 3),  # unknown type
        (MARKER + b"\x00\x14\x03\x06", 1, 2),  # NOTIFICATION shorter than 21
    ],
)
def test_header_errors_carry_their_notification(data: bytes, code: int, subcode: int) -> None:
    with pytest.raises(BgpError) as exc:
        decode_message(data)
    assert (exc.value.code, exc.value.subcode) == (code, subcode)
    assert exc.value.action is ErrorAction.SESSION_RESET


def test_open_round_trip_with_all_capabilities() -> None:
    caps = [
        MultiProtocol(1, 1),
        MultiProtocol(1, 128),
        MultiProtocol(2, 128),
        RouteRefresh(),
        EnhancedRouteRefresh(),
        ExtendedMessage(),
        GracefulRestart(120, families=(GracefulRestartFamily(1, 128, True),)),
        UnknownCapability(unknown_code=73, value=b"\x05host1\x00"),
        ExtendedNextHop((NextHopEncoding(1, 1, 2), NextHopEncoding(1, 128, 2))),
        AddPath((AddPathFamily(1, 128, 3),)),
    ]
    msg = Open.create(4200000000, 90, "192.0.2.1", caps)
    assert msg.my_as == AS_TRANS
    assert msg.asn == 4200000000
    assert VPNV4 in msg.families
    data = msg.encode()
    back = decode_message(data)
    assert back == msg
    assert isinstance(back, Open)
    assert back.find(FourOctetAs) == FourOctetAs(4200000000)
    assert back.find(UnknownCapability) == UnknownCapability(
        unknown_code=73, value=b"\x05host1\x00"
    )
    back.validate()


def test_open_with_all_capabilities_in_one_parameter_round_trips_byte_exact() -> None:
    # BIRD's habit: one optional parameter holding every capability.
    caps = b"\x01\x04\x00\x01\x00\x01" + b"\x02\x00" + b"\x41\x04\x00\x00\xfd\xe8"
    body = b"\x04\xfd\xe8\x00\xb4\xc0\x00\x02\x01" + bytes([len(caps) + 2, 2, len(caps)]) + caps
    data = MARKER + (19 + len(body)).to_bytes(2, "big") + b"\x01" + body
    msg = decode_message(data)
    assert isinstance(msg, Open)
    assert len(msg.parameters) == 1 and len(msg.capabilities) == 3
    assert msg.bgp_id == ipaddress.IPv4Address("192.0.2.1")
    assert msg.encode() == data


def test_open_extended_optional_parameters_rfc9072() -> None:
    caps = [UnknownCapability(unknown_code=200 + i % 50, value=bytes(20)) for i in range(12)]
    msg = Open.create(65000, 90, "10.0.0.1", caps)
    data = msg.encode()
    assert data[28] == 255 and data[29] == 255  # Non-Ext OP Len and Non-Ext OP Type markers
    back = decode_message(data)
    assert back == msg and back.encode() == data  # the long form is implied by the size
    # A speaker may use the long form for short parameters too: that is kept.
    short = Open.create(65000, 90, "10.0.0.1", [RouteRefresh()])
    long_form = Open(short.my_as, 90, short.bgp_id, short.parameters, extended_parameters=True)
    raw = long_form.encode()
    assert raw[28:30] == b"\xff\xff"
    again = decode_message(raw)
    assert isinstance(again, Open) and again.extended_parameters and again.encode() == raw


@pytest.mark.parametrize(
    ("kwargs", "subcode"),
    [
        ({"hold_time": 2}, 6),
        ({"router_id": "0.0.0.0"}, 3),
    ],
)
def test_open_validate(kwargs: dict[str, object], subcode: int) -> None:
    args: dict[str, object] = {"asn": 65000, "hold_time": 90, "router_id": "10.0.0.1"}
    args.update(kwargs)
    msg = Open.create(**args)  # type: ignore[arg-type]
    with pytest.raises(BgpError) as exc:
        msg.validate()
    assert (exc.value.code, exc.value.subcode) == (2, subcode)


def test_open_bad_version_reports_supported_version() -> None:
    data = bytearray(Open.create(65000, 90, "10.0.0.1").encode())
    data[19] = 3
    msg = decode_message(bytes(data))
    assert isinstance(msg, Open)
    with pytest.raises(BgpError) as exc:
        msg.validate()
    assert (exc.value.subcode, exc.value.data) == (1, b"\x00\x04")


def test_capability_wire_forms() -> None:
    enh = ExtendedNextHop((NextHopEncoding(1, 1, 2),))
    assert enh.encode().hex() == "0506000100010002"
    assert AddPath((AddPathFamily(1, 128, 1),)).encode().hex() == "450400018001"
    gr = GracefulRestart(300, restarting=True, families=(GracefulRestartFamily(1, 128, True),))
    assert gr.encode().hex() == "4006812c00018080"


def test_malformed_capability_is_an_open_error() -> None:
    data = bytearray(Open.create(65000, 90, "10.0.0.1", [MultiProtocol(1, 1)]).encode())
    data[-5] = 3  # MP capability length 4 -> 3, parameter length untouched
    with pytest.raises(BgpError) as exc:
        decode_message(bytes(data))
    assert exc.value.code == 2


def test_notification_round_trip_and_shutdown_communication() -> None:
    n = Notification.shutdown("maintenance window 42")
    back = decode_message(n.encode())
    assert back == n
    assert isinstance(back, Notification)
    assert back.shutdown_message == "maintenance window 42"
    assert "maintenance window 42" in str(back)


def test_notification_from_error() -> None:
    err = BgpError(3, 5, "bad", data=b"\x40\x01\x02\x00\x00")
    assert Notification.from_error(err).encode()[19:] == b"\x03\x05\x40\x01\x02\x00\x00"
    assert "3/5" in str(err) and "\n" not in str(err)


@pytest.mark.parametrize("subtype", list(RefreshSubtype))
def test_route_refresh_subtypes(subtype: RefreshSubtype) -> None:
    msg = RouteRefreshMessage(1, 128, subtype)
    data = msg.encode()
    assert data[19:] == b"\x00\x01" + bytes([subtype]) + b"\x80"
    assert decode_message(data) == msg


def test_route_refresh_bad_length_returns_whole_message() -> None:
    data = MARKER + b"\x00\x18\x05\x00\x01\x00\x01\x00"
    with pytest.raises(BgpError) as exc:
        decode_message(data)
    assert (exc.value.code, exc.value.subcode, exc.value.data) == (7, 1, data)


def test_frame_reader_splits_a_stream_in_odd_chunks() -> None:
    stream = (
        Keepalive().encode() + Open.create(65000, 90, "10.0.0.1").encode() + Keepalive().encode()
    )
    reader = FrameReader(PRE_OPEN_CONTEXT)
    frames = []
    for i in range(0, len(stream), 7):
        reader.feed(stream[i : i + 7])
        while (f := reader.next_frame()) is not None:
            frames.append(f)
    assert [type(decode_message(f)).__name__ for f in frames] == ["Keepalive", "Open", "Keepalive"]
    assert reader.buffered == 0


def test_extended_message_limit() -> None:
    big = Update(attributes=(UnknownAttribute(code=99, value=bytes(5000), flags=0xD0),))
    with pytest.raises(MessageTooLong):
        big.encode(CodecContext())
    ext = CodecContext(extended_message=True)
    data = big.encode(ext)
    with pytest.raises(BgpError) as exc:
        decode_message(data, CodecContext())
    assert (exc.value.code, exc.value.subcode) == (1, 2)
    assert decode_message(data, ext) == big
