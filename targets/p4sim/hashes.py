"""Hash and checksum algorithms of v1model with BMv2's definitions.

Data is a list of (value, width) fields packed MSB-first into a bit string
and padded with zero bits at the end to a whole number of bytes, as BMv2
serialises field lists before hashing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def pack(fields: Sequence[tuple[int, int]]) -> bytes:
    acc, nbits = 0, 0
    for value, width in fields:
        acc = (acc << width) | (value & ((1 << width) - 1))
        nbits += width
    pad = (-nbits) % 8
    return (acc << pad).to_bytes((nbits + pad) // 8, "big")


def _crc_table(poly_reflected: int, width: int) -> list[int]:
    table = []
    for b in range(256):
        c = b
        for _ in range(8):
            c = (c >> 1) ^ poly_reflected if c & 1 else c >> 1
        table.append(c & ((1 << width) - 1))
    return table


_CRC16_TABLE = _crc_table(0xA001, 16)  # CRC-16/ARC: poly 0x8005 reflected
_CRC32_TABLE = _crc_table(0xEDB88320, 32)  # CRC-32 (IEEE 802.3), reflected


def crc16(data: bytes) -> int:
    """CRC-16/ARC: init 0, reflected in/out, no final xor (BMv2 `crc16`)."""
    c = 0
    for b in data:
        c = (c >> 8) ^ _CRC16_TABLE[(c ^ b) & 0xFF]
    return c


def crc32(data: bytes) -> int:
    """CRC-32/ISO-HDLC: init and final xor 0xFFFFFFFF, reflected (BMv2 `crc32`)."""
    c = 0xFFFFFFFF
    for b in data:
        c = (c >> 8) ^ _CRC32_TABLE[(c ^ b) & 0xFF]
    return c ^ 0xFFFFFFFF


def csum16(data: bytes) -> int:
    """RFC 1071 Internet checksum: ones'-complement of the ones'-complement sum."""
    if len(data) % 2:
        data += b"\x00"
    s = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def xor16(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    r = 0
    for i in range(0, len(data), 2):
        r ^= int.from_bytes(data[i : i + 2], "big")
    return r


def identity(data: bytes) -> int:
    return int.from_bytes(data, "big") if data else 0


ALGORITHMS: dict[str, Callable[[bytes], int]] = {
    "crc16": crc16,
    "crc16_custom": crc16,  # BMv2's default parameters for the custom variant
    "crc32": crc32,
    "crc32_custom": crc32,
    "csum16": csum16,
    "xor16": xor16,
    "identity": identity,
}


def compute_packed(algo: str, value: int, nbits: int, payload: bytes = b"") -> int:
    """Hash of fields already packed MSB-first into ``value`` (``nbits`` wide)."""
    if algo == "csum16" and not nbits % 8:
        # Ones'-complement sum of 16-bit words == value mod 0xFFFF (2^16 = 1 mod 0xFFFF),
        # with 0xFFFF rather than 0 for non-zero data (end-around carry never yields 0).
        if payload:
            value = (value << (8 * len(payload))) | int.from_bytes(payload, "big")
            nbits += 8 * len(payload)
        if nbits % 16:
            value <<= 8
        r = value % 0xFFFF
        if r == 0 and value:
            r = 0xFFFF
        return ~r & 0xFFFF
    pad = (-nbits) % 8
    data = (value << pad).to_bytes((nbits + pad) // 8, "big") + payload
    if algo == "random":
        import random as _random

        return _random.getrandbits(32)
    return ALGORITHMS[algo](data)


def compute(algo: str, fields: Sequence[tuple[int, int]], payload: bytes = b"") -> int:
    import random as _random

    if algo == "random":
        return _random.getrandbits(32)
    return ALGORITHMS[algo](pack(fields) + payload)
