"""P4Runtime binary strings (P4Runtime spec section 8.4 "Bytestrings").

A value of a ``bit<W>`` field travels as a big-endian byte string. On write
any length is accepted as long as the value fits in W bits (leading zero
bytes are padding); bits set beyond W are OUT_OF_RANGE. On read the server
answers with the canonical form: the shortest string, at least one byte.
"""

from __future__ import annotations

from targets.p4sim.runtime.errors import out_of_range


def decode(data: bytes, bitwidth: int, what: str) -> int:
    """The integer a bytestring carries, checked against ``bitwidth``."""
    if not data:
        # spec 8.4: a zero-length string is always rejected, with OUT_OF_RANGE
        # like every other bytestring the server rejects
        raise out_of_range(f"{what}: empty bytestring")
    value = int.from_bytes(data, "big")
    if bitwidth > 0 and value >> bitwidth:
        raise out_of_range(f"{what}: value 0x{data.hex()} does not fit in bit<{bitwidth}>")
    return value


def encode(value: int) -> bytes:
    """Canonical bytestring: minimal length, zero is one 0x00 byte."""
    return value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


def encode_width(value: int, bitwidth: int) -> bytes:
    """Fixed-width form (ceil(W/8) bytes), used where the wire needs full width."""
    return value.to_bytes((bitwidth + 7) // 8, "big")
