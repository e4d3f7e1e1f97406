"""Canonical bytestrings and value parsing (P4Runtime spec v1.4 section 8.4)."""

from __future__ import annotations

import ipaddress
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.p4rt.errors import P4ValueError
from controller.p4rt.values import (
    decode,
    encode,
    format_value,
    is_canonical,
    parse_int,
    parse_prefix,
    to_bytes,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("value", "width", "expected"),
    [
        (0, 9, b"\x00"),
        (1, 9, b"\x01"),
        (256, 9, b"\x01\x00"),
        ("10.1.0.0", 32, b"\x0a\x01\x00\x00"),
        ("0.0.0.1", 32, b"\x01"),
        ("aa:bb:cc:dd:ee:ff", 48, bytes.fromhex("aabbccddeeff")),
        ("00:00:00:00:00:01", 48, b"\x01"),
        ("::1", 128, b"\x01"),
        ("2001:db8::", 128, bytes.fromhex("20010db8") + b"\x00" * 12),
        ("0x1f", 8, b"\x1f"),
        (b"\x00\x00\x05", 16, b"\x05"),
    ],
)
def test_encode_is_canonical(value: object, width: int, expected: bytes) -> None:
    assert encode(value, width, "f") == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "width", "message"),
    [
        (512, 9, "does not fit in 9 bits"),
        (-1, 8, "negative"),
        ("10.1.0.300", 32, "not a valid address"),
        ("hello", 16, "cannot read 'hello'"),
        ("::1", 32, "IPv6 address '::1' does not fit a 32-bit field"),
        ("10.0.0.1", 128, "IPv4 address '10.0.0.1' does not fit a 128-bit field"),
        ("aa:bb:cc:dd:ee:ff", 32, "MAC address"),
        (True, 1, "boolean"),
        (1.5, 8, "unsupported value type float"),
    ],
)
def test_bad_values_name_field_and_problem(value: object, width: int, message: str) -> None:
    with pytest.raises(P4ValueError, match=re.escape(message)) as info:
        parse_int(value, width, "vrf_fib field dst")  # type: ignore[arg-type]
    assert str(info.value).startswith("vrf_fib field dst:")


def test_decode_accepts_padding_but_checks_width() -> None:
    assert decode(b"\x00\x00\x01\x00", 9, "port") == 256
    with pytest.raises(P4ValueError, match="does not fit in 9 bits"):
        decode(b"\x02\x00", 9, "port")
    with pytest.raises(P4ValueError, match="empty bytestring"):
        decode(b"", 9, "port")


def test_prefixes() -> None:
    assert parse_prefix("10.1.0.0/16", 32, "dst") == (0x0A010000, 16)
    assert parse_prefix(("2001:db8::", 32), 128, "dst") == (0x20010DB8 << 96, 32)
    assert parse_prefix("10.1.2.3", 32, "dst") == (0x0A010203, 32)
    with pytest.raises(P4ValueError, match="host bits set beyond /16"):
        parse_prefix("10.1.2.0/16", 32, "dst")
    with pytest.raises(P4ValueError, match=r"prefix length 33 outside 0\.\.32"):
        parse_prefix("10.0.0.0/33", 32, "dst")
    with pytest.raises(P4ValueError, match="bad prefix length"):
        parse_prefix("10.0.0.0/x", 32, "dst")


def test_format_value_by_field() -> None:
    assert format_value(0x0A010000, 32, "dst_addr") == "10.1.0.0"
    assert format_value(100, 32, "label") == "100"
    assert format_value(0x0A010000, 32, "x", address=True) == "10.1.0.0"
    assert format_value(0xAABBCCDDEEFF, 48, "dmac") == "aa:bb:cc:dd:ee:ff"
    assert format_value(1, 128, "nexthop6") == "::1"


@given(
    st.integers(min_value=1, max_value=256).flatmap(
        lambda w: st.tuples(st.just(w), st.integers(min_value=0, max_value=(1 << w) - 1))
    )
)
def test_canonical_round_trip(width_value: tuple[int, int]) -> None:
    width, value = width_value
    data = encode(value, width, "f")
    assert is_canonical(data)
    assert len(data) <= (width + 7) // 8
    assert decode(data, width, "f") == value
    # Any zero padding up to the field width decodes to the same value.
    padded = value.to_bytes((width + 7) // 8, "big")
    assert decode(padded, width, "f") == value
    assert to_bytes(decode(padded, width, "f")) == data


@given(st.ip_addresses())
def test_address_text_round_trip(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    width = 32 if addr.version == 4 else 128
    data = encode(str(addr), width, "addr")
    assert format_value(decode(data, width, "addr"), width, "addr") == str(addr)


@given(st.text(max_size=40))
def test_arbitrary_text_never_raises_anything_but_value_error(text: str) -> None:
    try:
        parse_int(text, 32, "f")
    except P4ValueError as exc:
        assert str(exc).startswith("f:")


@pytest.mark.parametrize(
    ("name", "width", "shown"),
    [
        ("hdr.ipv4.dstAddr", 32, "10.1.0.0"),
        ("remote_addr", 32, "10.1.0.0"),
        ("src_ip", 32, "10.1.0.0"),
        ("pipeline_id", 32, "167837696"),  # "ip" inside a word is not an address
        ("sa_index", 32, "167837696"),
        ("label", 32, "167837696"),
    ],
)
def test_addresses_are_recognised_by_name_words(name: str, width: int, shown: str) -> None:
    assert format_value(0x0A010000, width, name) == shown


def test_macs_by_name_words() -> None:
    assert format_value(1, 48, "hdr.ethernet.dstAddr") == "00:00:00:00:00:01"
    assert format_value(1, 48, "smac") == "00:00:00:00:00:01"
    assert format_value(1, 48, "timestamp") == "1"
