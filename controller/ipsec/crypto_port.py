"""The crypto-port internal header between the P4 pipeline and the ESP engine.

Every frame on the crypto port (pipeline -> engine and back) starts with this
8-octet header in network byte order, followed by the Ethernet frame.  The P4
side defines the same header as ``crypto_h`` in ``p4src/include/``; a test
checks that both definitions agree field by field.

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +---------------+---------------+-------------------------------+
    |  version = 1  |      op       |           sa_index            |
    +---------------+---------------+-------------------------------+
    |    result     |   reserved=0  |         ingress_port          |
    +---------------+---------------+-------------------------------+

op: ENCRYPT (1) or DECRYPT (2), echoed back unchanged.  sa_index: for ENCRYPT
the outbound SA the pipeline chose; for DECRYPT the pipeline sends 0 and the
engine returns the inbound SA it found by SPI and destination.  result: the
pipeline sends 0; the engine answers with a :class:`Result`; on any non-zero
result the frame after the header is returned unchanged.  ingress_port: set
by the pipeline, echoed so that the second pass knows where the packet came in.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

VERSION = 1
HEADER_LEN = 8
_HEADER = struct.Struct("!BBHBBH")

# (name, width in bits), in wire order: the contract the P4 header must match.
FIELDS: tuple[tuple[str, int], ...] = (
    ("version", 8),
    ("op", 8),
    ("sa_index", 16),
    ("result", 8),
    ("reserved", 8),
    ("ingress_port", 16),
)


class Op(enum.IntEnum):
    ENCRYPT = 1
    DECRYPT = 2


class Result(enum.IntEnum):
    OK = 0
    NO_SA = 1  # unknown SA index or SPI
    AUTH_FAILED = 2  # ICV check failed
    REPLAY = 3  # duplicate, or left of the anti-replay window
    MALFORMED = 4
    SA_EXPIRED = 5  # hard lifetime reached
    SEQ_EXHAUSTED = 6  # the outbound sequence number would wrap


class CryptoHeaderError(ValueError):
    """A crypto-port frame whose header cannot be read."""


@dataclass(frozen=True)
class CryptoHeader:
    op: int
    sa_index: int = 0
    result: int = Result.OK
    ingress_port: int = 0
    version: int = VERSION
    reserved: int = 0

    def encode(self) -> bytes:
        return _HEADER.pack(
            self.version, self.op, self.sa_index, self.result, self.reserved, self.ingress_port
        )

    @classmethod
    def decode(cls, frame: bytes) -> CryptoHeader:
        """Read the header at the start of frame (permissive: any version/op/result)."""
        if len(frame) < HEADER_LEN:
            raise CryptoHeaderError(
                f"crypto-port frame of {len(frame)} octets is shorter than the "
                f"{HEADER_LEN}-octet header"
            )
        version, op, sa_index, result, reserved, port = _HEADER.unpack_from(frame)
        return cls(
            op=op,
            sa_index=sa_index,
            result=result,
            ingress_port=port,
            version=version,
            reserved=reserved,
        )

    def validate(self) -> None:
        """Raise CryptoHeaderError if a pipeline -> engine header breaks the contract."""
        if self.version != VERSION:
            raise CryptoHeaderError(f"crypto header version {self.version}, expected {VERSION}")
        if self.op not in (Op.ENCRYPT, Op.DECRYPT):
            raise CryptoHeaderError(f"crypto header op {self.op} is neither ENCRYPT nor DECRYPT")


def frame(header: CryptoHeader, ethernet: bytes) -> bytes:
    """Prefix an Ethernet frame with a crypto-port header."""
    return header.encode() + ethernet


def reply(request: bytes, result: int, sa_index: int | None = None) -> bytes:
    """The engine's answer carrying the request's payload unchanged (error path)."""
    hdr = bytearray(request[:HEADER_LEN])
    hdr[4] = result
    if sa_index is not None:
        hdr[2:4] = sa_index.to_bytes(2, "big")
    return bytes(hdr) + request[HEADER_LEN:]
