"""The crypto-port header codec (controller/ipsec/crypto_port.py)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.ipsec import crypto_port as cp

pytestmark = pytest.mark.unit


def test_layout_matches_the_diagram() -> None:
    hdr = cp.CryptoHeader(
        op=cp.Op.DECRYPT, sa_index=0x1234, result=cp.Result.REPLAY, ingress_port=0x0506
    )
    assert hdr.encode() == bytes([1, 2, 0x12, 0x34, 3, 0, 0x05, 0x06])
    assert sum(width for _, width in cp.FIELDS) == cp.HEADER_LEN * 8


@given(
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 0xFFFF),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 0xFFFF),
)
def test_decode_encode_round_trip(v: int, op: int, idx: int, res: int, rsv: int, port: int) -> None:
    raw = bytes([v, op]) + idx.to_bytes(2, "big") + bytes([res, rsv]) + port.to_bytes(2, "big")
    hdr = cp.CryptoHeader.decode(raw + b"payload")
    assert (hdr.version, hdr.op, hdr.sa_index, hdr.result, hdr.reserved, hdr.ingress_port) == (
        v,
        op,
        idx,
        res,
        rsv,
        port,
    )
    assert hdr.encode() == raw


def test_short_frame_is_a_clear_error() -> None:
    with pytest.raises(cp.CryptoHeaderError, match="shorter than the 8-octet header"):
        cp.CryptoHeader.decode(b"\x01\x01")


@pytest.mark.parametrize(
    ("raw", "message"),
    [(bytes([2, 1, 0, 1, 0, 0, 0, 1]), "version 2"), (bytes([1, 9, 0, 1, 0, 0, 0, 1]), "op 9")],
)
def test_validate_rejects_contract_violations(raw: bytes, message: str) -> None:
    with pytest.raises(cp.CryptoHeaderError, match=message):
        cp.CryptoHeader.decode(raw).validate()


def test_reply_sets_result_and_index_keeps_payload() -> None:
    request = cp.frame(cp.CryptoHeader(op=cp.Op.DECRYPT, ingress_port=7), b"\xaa" * 20)
    answer = cp.reply(request, cp.Result.AUTH_FAILED, sa_index=42)
    hdr = cp.CryptoHeader.decode(answer)
    assert (hdr.op, hdr.sa_index, hdr.result, hdr.ingress_port) == (2, 42, 2, 7)
    assert answer[cp.HEADER_LEN :] == b"\xaa" * 20
