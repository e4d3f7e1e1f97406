"""Canonical P4Runtime bytestrings (P4Runtime spec v1.4, section 8.4 "Bytestrings").

Values cross P4Runtime as unsigned big-endian bytestrings. The *canonical* form
is the shortest string that holds the value (zero is one zero byte); a server
must accept any zero-padded form up to the field's width, but answers reads in
canonical form. We always send canonical bytes so that what we write compares
equal to what we read back, which the reconciler depends on.

Inputs are ints, bytes, or text: IPv4/IPv6 addresses, MAC addresses
(``aa:bb:cc:dd:ee:ff``) and decimal/hex numbers. Output for humans is chosen by
the field: see :func:`format_value`.
"""

from __future__ import annotations

import ipaddress
import re

from controller.p4rt.errors import P4ValueError

Value = int | str | bytes

_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$")
# Field names that hold addresses; width alone cannot tell an IPv4 address from a
# 32-bit counter or label, so the words of the P4 name decide how a value is shown.
_ADDR_WORDS = frozenset(
    [
        "addr", "address", "ip", "ipv4", "ipv6", "dst", "src", "daddr", "saddr", "dip",
        "sip", "nexthop", "nh", "loopback", "endpoint", "peer", "prefix",
    ]
)  # fmt: skip
_WORD_RE = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def _words(name: str) -> set[str]:
    """Lower-case words of a P4 name: "hdr.ipv4.dstAddr" -> {hdr, ipv4, dst, addr}.

    A trailing family digit counts both ways ("nexthop6" is also "nexthop").
    """
    words = {w.lower() for w in _WORD_RE.findall(name)}
    return words | {w.rstrip("0123456789") for w in words}


def parse_int(value: Value, bitwidth: int, what: str) -> int:
    """Turn ``value`` into an int that fits ``bitwidth`` bits, or raise P4ValueError."""
    number: int
    if isinstance(value, bool):
        raise P4ValueError(f"{what}: boolean {value!r} is not a P4 value")
    if isinstance(value, int):
        number = value
    elif isinstance(value, bytes):
        number = int.from_bytes(value, "big") if value else 0
    elif isinstance(value, str):
        number = _parse_text(value.strip(), bitwidth, what)
    else:
        raise P4ValueError(f"{what}: unsupported value type {type(value).__name__}")
    if number < 0:
        raise P4ValueError(f"{what}: negative value {number}")
    if bitwidth > 0 and number >> bitwidth:
        raise P4ValueError(f"{what}: value {value!r} does not fit in {bitwidth} bits")
    return number


def _parse_text(text: str, bitwidth: int, what: str) -> int:
    # An address only goes into a field of its own width: an IPv6 address in a
    # 32-bit field is a mistake even when its value happens to fit.
    if _MAC_RE.match(text):
        _check_width(text, "MAC address", 48, bitwidth, what)
        return int(text.replace(":", "").replace("-", ""), 16)
    if ":" in text or text.count(".") == 3:
        try:
            addr = ipaddress.ip_address(text)
        except ValueError as exc:
            raise P4ValueError(f"{what}: {text!r} is not a valid address") from exc
        width = 32 if addr.version == 4 else 128
        _check_width(text, f"IPv{addr.version} address", width, bitwidth, what)
        return int(addr)
    try:
        return int(text, 0)
    except ValueError as exc:
        raise P4ValueError(f"{what}: cannot read {text!r} as a number or address") from exc


def _check_width(text: str, kind: str, width: int, bitwidth: int, what: str) -> None:
    if bitwidth not in (0, width):
        raise P4ValueError(f"{what}: {kind} {text!r} does not fit a {bitwidth}-bit field")


def to_bytes(number: int) -> bytes:
    """The canonical bytestring of a non-negative int (shortest form, zero is b"\\x00")."""
    return number.to_bytes(max(1, (number.bit_length() + 7) // 8), "big")


def encode(value: Value, bitwidth: int, what: str) -> bytes:
    """Canonical bytestring for ``value`` in a field of ``bitwidth`` bits."""
    return to_bytes(parse_int(value, bitwidth, what))


def decode(data: bytes, bitwidth: int, what: str) -> int:
    """Int from a (possibly padded) bytestring, checked against ``bitwidth``."""
    if not data:
        raise P4ValueError(f"{what}: empty bytestring")
    number = int.from_bytes(data, "big")
    if bitwidth > 0 and number >> bitwidth:
        raise P4ValueError(f"{what}: value 0x{data.hex()} does not fit in {bitwidth} bits")
    return number


def is_canonical(data: bytes) -> bool:
    """True when ``data`` is the shortest encoding of its value."""
    return len(data) == 1 or (len(data) > 1 and data[0] != 0)


def format_value(number: int, bitwidth: int, name: str = "", *, address: bool = False) -> str:
    """Readable text for a value: an address, a MAC, or a decimal number.

    32/128-bit fields print as IPv4/IPv6 when ``address`` is set (LPM fields) or
    the field name looks like an address; 48-bit fields print as MACs when the
    name mentions "mac" or "eth" or "addr"; everything else is decimal.
    """
    words = _words(name)
    looks_addr = address or bool(words & _ADDR_WORDS)
    if bitwidth == 32 and looks_addr:
        return str(ipaddress.IPv4Address(number))
    if bitwidth == 128 and looks_addr:
        return str(ipaddress.IPv6Address(number))
    if bitwidth == 48 and any("mac" in w or w in ("eth", "addr") for w in words):
        raw = number.to_bytes(6, "big")
        return ":".join(f"{b:02x}" for b in raw)
    return str(number)


def prefix_mask(prefix_len: int, bitwidth: int) -> int:
    """The network mask of an LPM prefix as an int of ``bitwidth`` bits."""
    return ((1 << prefix_len) - 1) << (bitwidth - prefix_len) if prefix_len else 0


def parse_prefix(value: Value | tuple[Value, int], bitwidth: int, what: str) -> tuple[int, int]:
    """Read an LPM value: "10.1.0.0/16", ("10.1.0.0", 16) or a bare value (full length)."""
    if isinstance(value, tuple):
        base, length = value
    elif isinstance(value, str) and "/" in value:
        base, _, length_text = value.partition("/")
        try:
            length = int(length_text)
        except ValueError as exc:
            raise P4ValueError(f"{what}: bad prefix length in {value!r}") from exc
    else:
        base, length = value, bitwidth
    if not 0 <= length <= bitwidth:
        raise P4ValueError(f"{what}: prefix length {length} outside 0..{bitwidth}")
    number = parse_int(base, bitwidth, what)
    if number & ~prefix_mask(length, bitwidth):
        raise P4ValueError(f"{what}: {value!r} has host bits set beyond /{length}")
    return number, length
