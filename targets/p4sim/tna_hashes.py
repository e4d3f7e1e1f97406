"""TNA's Hash<W> algorithms (HashAlgorithm_t) as the open-source Tofino compiler sets them up.

The CRC parameters are those of bf-utils' table of standard CRCs that bf-p4c maps
``HashAlgorithm_t`` members to (crc8 -> CRC-8, crc16 -> CRC-16/ARC, crc32 ->
CRC-32/ISO-HDLC, crc64 -> CRC-64/ECMA-182). For ``Hash<W>``, bf-p4c configures the
algorithm with ``msb = false`` and ``extend = false``: the result is the low W bits
of the algorithm's value (zero-extended when W is wider). That reading of the
compiler's defaults has not been checked against a Tofino or its model.
"""

from __future__ import annotations

import random

# member: (width, polynomial, reflected, init, final xor)
TNA_CRCS: dict[str, tuple[int, int, bool, int, int]] = {
    "CRC8": (8, 0x07, False, 0, 0),
    "CRC16": (16, 0x8005, True, 0, 0),
    "CRC32": (32, 0x04C11DB7, True, 0xFFFFFFFF, 0xFFFFFFFF),
    "CRC64": (64, 0x42F0E1EBA9EA3693, False, 0, 0),
}
SUPPORTED = frozenset({*TNA_CRCS, "IDENTITY", "RANDOM"})


def _reflect(value: int, width: int) -> int:
    return int(f"{value:0{width}b}"[::-1], 2)


def crc(data: bytes, width: int, poly: int, reflected: bool, init: int, xorout: int) -> int:
    """Bitwise CRC with the Rocksoft parameters (refin = refout = ``reflected``)."""
    top, mask = 1 << (width - 1), (1 << width) - 1
    reg = init
    for byte in data:
        reg ^= (_reflect(byte, 8) if reflected else byte) << (width - 8)
        for _ in range(8):
            reg = ((reg << 1) ^ poly) & mask if reg & top else (reg << 1) & mask
    if reflected:
        reg = _reflect(reg, width)
    return reg ^ xorout


def tna_hash(algo: str, value: int, nbits: int, out_width: int) -> int:
    """``Hash<bit<out_width>>(algo).get(data)`` for data packed MSB-first into ``value``."""
    mask = (1 << out_width) - 1
    if algo == "IDENTITY":
        return value & mask
    if algo == "RANDOM":
        return random.getrandbits(out_width)
    width, poly, reflected, init, xorout = TNA_CRCS[algo]
    data = value.to_bytes((nbits + 7) // 8, "big")
    return crc(data, width, poly, reflected, init, xorout) & mask
