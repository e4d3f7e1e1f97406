"""Payload codecs: symmetric encode/decode, preserved unknowns, errors named after NOTIFYs, fuzz."""

from __future__ import annotations

import contextlib
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.ipsec.ike.crypto.cipher import SkCipher
from controller.ipsec.ike.proposals import parse_proposals
from controller.ipsec.ike.wire import (
    AuthPayload,
    CertPayload,
    CertReqPayload,
    DeletePayload,
    Identity,
    IdiPayload,
    IdrPayload,
    IkeError,
    KePayload,
    Message,
    NoncePayload,
    NotifyPayload,
    Reassembler,
    SaPayload,
    TrafficSelector,
    TsiPayload,
    TsrPayload,
    UnknownPayload,
    VendorPayload,
    decode_message,
    encode_message,
)
from controller.ipsec.ike.wire.consts import Encr, ExchangeType, Integ, Notify, Protocol
from controller.ipsec.ike.wire.payload import decode_chain, encode_chain

pytestmark = pytest.mark.unit
SPI_I, SPI_R = bytes.fromhex("0102030405060708"), bytes.fromhex("1112131415161718")
GCM = SkCipher(Encr.AES_GCM_16, Integ.NONE, bytes(range(20)), b"")
CBC = SkCipher(Encr.AES_CBC, Integ.HMAC_SHA2_256_128, bytes(range(16)), bytes(range(32)))

EVERY_PAYLOAD = [
    SaPayload(
        parse_proposals(["aes128gcm16-prfsha256-x25519", "aes256-sha384-modp2048"], Protocol.IKE)
    ),
    KePayload(31, bytes(32)),
    NoncePayload(bytes(range(32))),
    NotifyPayload(Notify.REKEY_SA, b"", Protocol.ESP, b"\x00\x00\x10\x01"),
    NotifyPayload(Notify.NAT_DETECTION_SOURCE_IP, bytes(20)),
    IdiPayload(Identity.from_str("192.0.2.1")),
    IdrPayload(Identity.from_str("cpe.example.net")),
    CertPayload(4, b"\x30\x03\x02\x01\x01"),
    CertReqPayload(4, bytes(20)),
    AuthPayload(2, bytes(32)),
    DeletePayload(Protocol.ESP, [b"\x00\x00\x10\x01", b"\x00\x00\x10\x02"]),
    DeletePayload(Protocol.IKE, [], 0),
    VendorPayload(b"sl3vpn"),
    TsiPayload([TrafficSelector.host("192.0.2.1", 137), TrafficSelector.subnet("2001:db8::/32")]),
    TsrPayload([TrafficSelector.host("198.51.100.2", 6, 179)]),
    UnknownPayload(200, b"private use payload"),
]


def test_every_payload_round_trips_in_one_chain() -> None:
    first, data = encode_chain(EVERY_PAYLOAD)
    assert decode_chain(first, data) == EVERY_PAYLOAD
    assert encode_chain(decode_chain(first, data)) == (first, data)


def test_payload_encoding_golden() -> None:
    # RFC 7296 3.10: Protocol ID, SPI Size, Notify Message Type, SPI, data
    notify = NotifyPayload(Notify.REKEY_SA, b"", Protocol.ESP, b"\xaa\xbb\xcc\xdd")
    assert encode_chain([notify]) == (41, bytes.fromhex("0000000c 0304 4009 aabbccdd"))
    # RFC 7296 3.13.1: TS type 7, proto 137, length 16, ports 0-65535, start, end
    ts = TsiPayload([TrafficSelector.host("192.0.2.1", 137)])
    want = "00000018 01000000 07 89 0010 0000 ffff c0000201 c0000201"
    assert encode_chain([ts]) == (44, bytes.fromhex(want))
    # RFC 7296 3.3: proposal 1 (IKE, no SPI, 3 transforms); GCM's key length is a TV attribute
    sa = SaPayload(parse_proposals(["aes128gcm16-prfsha256-x25519"], Protocol.IKE))
    want = (
        "00000028 00000024 01 01 00 03"
        " 0300000c 01 00 0014 800e0080"
        " 03000008 02 00 0005"
        " 00000008 04 00 001f"
    )
    assert encode_chain([sa]) == (33, bytes.fromhex(want))


def test_unknown_critical_payload_is_unsupported_critical_payload() -> None:
    u = UnknownPayload(200, b"x")
    u.critical = True
    first, data = encode_chain([NoncePayload(bytes(16)), u])
    with pytest.raises(IkeError) as exc:
        decode_chain(first, data)
    assert exc.value.notify == Notify.UNSUPPORTED_CRITICAL_PAYLOAD and exc.value.data == bytes(
        [200]
    )


@pytest.mark.parametrize(
    ("data", "notify"),
    [
        (bytes(27), None),  # shorter than the header: drop
        (
            SPI_I + SPI_R + bytes([33, 0x30, 34, 8]) + bytes(4) + (28).to_bytes(4, "big"),
            Notify.INVALID_MAJOR_VERSION,
        ),
        (
            SPI_I
            + SPI_R
            + bytes([40, 0x20, 34, 8])
            + bytes(4)
            + (36).to_bytes(4, "big")
            + bytes.fromhex("0000000800000000"),
            Notify.INVALID_SYNTAX,
        ),
        (
            SPI_I + SPI_R + bytes([40, 0x20, 34, 8]) + bytes(4) + (99).to_bytes(4, "big"),
            None,
        ),  # length lies
    ],
)
def test_malformed_messages_name_their_notify(data: bytes, notify: Notify | None) -> None:
    with pytest.raises(IkeError) as exc:
        decode_message(data)
    assert exc.value.notify == notify
    assert str(exc.value)  # a one-line reason


@pytest.mark.parametrize("cipher", [GCM, CBC], ids=["aes-gcm", "aes-cbc-hmac"])
def test_sk_and_skf_round_trip_and_tamper_is_dropped(cipher: SkCipher) -> None:
    msg = Message(
        ExchangeType.IKE_AUTH, 1, SPI_I, SPI_R, False, True, EVERY_PAYLOAD, encrypted=True
    )
    (one,) = encode_message(msg, cipher)
    assert decode_message(one, cipher) == msg
    tampered = bytearray(one)
    tampered[-20] ^= 1
    with pytest.raises(IkeError) as exc:
        decode_message(bytes(tampered), cipher)
    assert exc.value.notify is None  # integrity failures are dropped silently (RFC 7296 2.21.2)
    frags = encode_message(msg, cipher, fragment_size=200)
    assert len(frags) > 2 and all(len(f) <= 200 for f in frags)
    r = Reassembler()
    results = [r.add(decode_message(f, cipher)) for f in reversed(frags)]  # type: ignore[arg-type]
    assert results[:-1] == [None] * (len(frags) - 1) and results[-1] == msg


messages = st.one_of(
    st.binary(max_size=600),
    st.builds(
        lambda head, body: head + body,
        st.sampled_from(
            [
                m
                for m in (
                    encode_message(Message(34, 0, SPI_I, bytes(8), False, True, EVERY_PAYLOAD[:6]))
                )
            ]
        ),
        st.binary(max_size=64),
    ),
)


def _mutate(data: bytes, pos: int, byte: int) -> bytes:
    if not data:
        return data
    pos %= len(data)
    return data[:pos] + bytes([byte]) + data[pos + 1 :]


GOOD = [
    encode_message(Message(34, 0, SPI_I, bytes(8), False, True, EVERY_PAYLOAD))[0],
    encode_message(Message(35, 1, SPI_I, SPI_R, False, True, EVERY_PAYLOAD, True), GCM)[0],
    encode_message(Message(35, 1, SPI_I, SPI_R, False, True, EVERY_PAYLOAD, True), CBC)[0],
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(GOOD),
    st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=4),
    st.integers(0, 4000),
    st.binary(max_size=40),
)
def test_fuzz_parser_raises_only_ike_error(
    good: bytes, flips: list[tuple[int, int]], cut: int, tail: bytes
) -> None:
    data = good
    for pos, byte in flips:
        data = _mutate(data, pos, byte)
    data = data[: max(cut, 28)] + tail
    if len(data) >= 28:  # keep the length field honest so parsing goes deep
        data = data[:24] + len(data).to_bytes(4, "big") + data[28:]
    for cipher in (None, GCM, CBC):
        try:
            decode_message(data, cipher)
        except IkeError as exc:
            assert str(exc)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data: bytes) -> None:
    with contextlib.suppress(IkeError):
        decode_message(data, GCM)


def test_repr_hides_keys() -> None:
    assert "00010203" not in repr(GCM) and "hidden" in repr(GCM)
    assert "hidden" in repr(SkCipher(20, 0, os.urandom(20), b""))
