"""Property tests: decoders only ever raise BgpError; valid objects round trip."""

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.bgp.wire import (
    ATTRIBUTE_CLASSES,
    BgpError,
    CodecContext,
    MessageType,
    Notification,
    Open,
    RouteRefreshMessage,
    Update,
    decode_attributes,
    decode_message,
)
from controller.bgp.wire.capabilities import decode_capabilities
from controller.bgp.wire.constants import MARKER
from controller.bgp.wire.nlri.vpn import VpnPrefix, decode_vpn_prefixes

from .strategies import CTX, attribute, capability, mp_reach, v4net, v6net, vpn

pytestmark = pytest.mark.unit
fast = settings(
    max_examples=int(__import__("os").environ.get("WIRE_FUZZ_EXAMPLES", "300")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
contexts = st.builds(CodecContext, st.booleans(), st.booleans())


def _frame(mtype: int, body: bytes) -> bytes:
    return MARKER + (19 + len(body)).to_bytes(2, "big") + bytes([mtype]) + body


@fast
@given(st.binary(max_size=200), contexts)
def test_random_bytes_into_decode_message(data: bytes, ctx: CodecContext) -> None:
    with contextlib.suppress(BgpError):
        decode_message(data, ctx)


@fast
@given(st.sampled_from(list(MessageType)), st.binary(max_size=300), contexts)
def test_random_bodies_behind_a_valid_header(
    mtype: MessageType, body: bytes, ctx: CodecContext
) -> None:
    with contextlib.suppress(BgpError):
        decode_message(_frame(mtype, body), ctx)


@fast
@given(st.sampled_from(sorted(ATTRIBUTE_CLASSES)), st.binary(max_size=120), contexts)
def test_random_values_into_every_attribute_decoder(
    code: int, value: bytes, ctx: CodecContext
) -> None:
    with contextlib.suppress(BgpError):
        ATTRIBUTE_CLASSES[code].decode_value(value, ctx)


@fast
@given(st.binary(max_size=300), contexts)
def test_random_attribute_fields(data: bytes, ctx: CodecContext) -> None:
    try:
        attrs, _errors = decode_attributes(data, ctx)
    except BgpError:
        return
    for a in attrs:  # whatever decoded must re-encode
        a.encode(ctx)


@fast
@given(st.binary(max_size=100))
def test_random_capabilities(data: bytes) -> None:
    with contextlib.suppress(BgpError):
        decode_capabilities(data)


@fast
@given(attribute)
def test_attribute_round_trip(attr: object) -> None:
    from controller.bgp.wire import PathAttribute

    assert isinstance(attr, PathAttribute)
    # AS4_* only travel between a 4-octet and a 2-octet speaker (RFC 6793 4.1).
    ctx = CodecContext(four_octet_as=False) if attr.type_code in (17, 18) else CTX
    data = attr.encode(ctx)
    attrs, errors = decode_attributes(data, ctx)
    assert errors == ()
    assert attrs == (attr,)
    assert attrs[0].encode(ctx) == data


@fast
@given(
    st.lists(v4net(), max_size=5),
    st.lists(attribute, max_size=6, unique_by=lambda a: a.type_code),
    st.lists(v4net(), max_size=5),
)
def test_update_round_trip(withdrawn: list, attrs: list, nlri: list) -> None:
    attrs = [a for a in attrs if a.type_code not in (17, 18)]  # see test_attribute_round_trip
    msg = Update(tuple(withdrawn), tuple(attrs), tuple(nlri))
    data = msg.encode(CodecContext(extended_message=True))
    back = decode_message(data, CodecContext(extended_message=True))
    assert back == msg
    assert isinstance(back, Update) and back.errors == ()


@fast
@given(mp_reach())
def test_mp_reach_in_two_octet_session(attr: object) -> None:
    ctx = CodecContext(four_octet_as=False)
    msg = Update(attributes=(attr,))  # type: ignore[arg-type]
    assert decode_message(msg.encode(ctx), ctx) == msg


@fast
@given(
    st.integers(1, 0xFFFFFFFF),
    st.integers(0, 0xFFFF),
    st.builds(lambda n: f"10.0.{n // 256}.{n % 256}", st.integers(1, 65535)),
)
def test_open_round_trip(asn: int, hold: int, rid: str) -> None:
    msg = Open.create(asn, hold, rid)
    assert decode_message(msg.encode()) == msg


@fast
@given(st.lists(capability, max_size=12))
def test_open_capabilities_round_trip(caps: list) -> None:
    msg = Open.create(65000, 90, "192.0.2.1", caps, four_octet=False)
    back = decode_message(msg.encode())
    assert back == msg
    assert isinstance(back, Open) and list(back.capabilities) == caps


@fast
@given(st.integers(0, 255), st.integers(0, 255), st.binary(max_size=100))
def test_notification_round_trip(code: int, subcode: int, data: bytes) -> None:
    msg = Notification(code, subcode, data)
    assert decode_message(msg.encode()) == msg
    str(msg)  # any data renders as one line
    assert "\n" not in str(msg)


@fast
@given(st.integers(0, 0xFFFF), st.integers(0, 255), st.integers(0, 255))
def test_route_refresh_round_trip(afi: int, safi: int, subtype: int) -> None:
    msg = RouteRefreshMessage(afi, safi, subtype)
    assert decode_message(msg.encode()) == msg


def _vector_frames() -> list[tuple[bytes, bool]]:
    import yaml

    out = []
    for path in sorted((Path(__file__).parent / "vectors").glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if doc.get("kind", "message") == "message":
            raw = bytes.fromhex("".join(doc["hex"].split()))
            if len(raw) > 19:  # a body to mutate
                out.append((raw, doc["context"]["four_octet_as"]))
    return out


VECTOR_FRAMES = _vector_frames()


@fast
@given(
    st.sampled_from(VECTOR_FRAMES),
    st.lists(st.tuples(st.integers(19, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_mutated_peer_captures(frame: tuple[bytes, bool], edits: list[tuple[int, int]]) -> None:
    """Real messages with a few octets of the body changed: BgpError or a re-encodable object."""
    data = bytearray(frame[0])
    for pos, value in edits:
        data[19 + (pos - 19) % max(len(data) - 19, 1)] = value
    ctx = CodecContext(four_octet_as=frame[1])
    try:
        msg = decode_message(bytes(data), ctx)
    except BgpError:
        return
    msg.encode(CodecContext(four_octet_as=frame[1], extended_message=True))


@fast
@given(st.text(max_size=30))
def test_text_parsers_only_raise_value_error_naming_the_text(text: str) -> None:
    from controller.bgp.wire import RouteDistinguisher
    from controller.bgp.wire.attributes import Communities, ExtCommunity

    for parse in (RouteDistinguisher.parse, ExtCommunity.route_target, Communities.parse):
        try:
            parse(text)
        except ValueError as exc:
            assert repr(text) in str(exc)
            assert "\n" not in str(exc)


@fast
@given(st.one_of(vpn(v4net()), vpn(v6net())))
def test_decoded_vpn_prefix_is_the_one_encoded(v: VpnPrefix) -> None:
    """A decoded VPN prefix holds ints until its network is read: equal, hashed, printed
    and encoded like the one built from the network."""
    (back,) = decode_vpn_prefixes(v.encode(), v.prefix.max_prefixlen, lambda w: BgpError(3, 1, w))
    assert back == v and hash(back) == hash(v)
    assert back.parts == (int(v.prefix.network_address), v.prefix.prefixlen, v.prefix.max_prefixlen)
    assert repr(back) == repr(v) and str(back) == str(v) and back.encode() == v.encode()
    assert back.prefix == v.prefix and isinstance(back.prefix, type(v.prefix))
    assert back != VpnPrefix(v.rd, v.prefix) or not v.labels
