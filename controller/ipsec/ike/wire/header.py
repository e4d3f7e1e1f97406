"""The IKE header, RFC 7296 section 3.1.

                     1                   2                   3
 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                       IKE SA Initiator's SPI                  |
|                                                               |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                       IKE SA Responder's SPI                  |
|                                                               |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                          Message ID                           |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
|                            Length                             |
+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from controller.ipsec.ike.wire.consts import Flag, Notify
from controller.ipsec.ike.wire.errors import IkeError

HEADER_LEN = 28
_FMT = struct.Struct("!8s8sBBBBII")


@dataclass
class IkeHeader:
    spi_i: bytes
    spi_r: bytes
    next_payload: int
    exchange: int
    flags: int
    message_id: int
    length: int = 0
    version: int = 0x20

    @property
    def is_response(self) -> bool:
        return bool(self.flags & Flag.RESPONSE)

    @property
    def from_initiator(self) -> bool:
        return bool(self.flags & Flag.INITIATOR)

    def encode(self) -> bytes:
        return _FMT.pack(
            self.spi_i,
            self.spi_r,
            self.next_payload,
            self.version,
            self.exchange,
            self.flags,
            self.message_id,
            self.length,
        )

    @staticmethod
    def pack(
        spi_i: bytes,
        spi_r: bytes,
        next_payload: int,
        exchange: int,
        flags: int,
        mid: int,
        length: int,
    ) -> bytes:
        """The encoded header of version 2.0, without building an IkeHeader first."""
        return _FMT.pack(spi_i, spi_r, next_payload, 0x20, exchange, flags, mid, length)

    @classmethod
    def decode(cls, data: bytes) -> IkeHeader:
        if len(data) < HEADER_LEN:
            # too short to even answer: RFC 7296 2.21 says drop
            raise IkeError(None, f"IKE header truncated ({len(data)} < {HEADER_LEN} octets)")
        spi_i, spi_r, nxt, ver, exch, flags, mid, length = _FMT.unpack_from(data)
        if ver >> 4 != 2:
            raise IkeError(Notify.INVALID_MAJOR_VERSION, f"IKE major version {ver >> 4}")
        if length != len(data):
            raise IkeError(None, f"IKE length field {length} but datagram is {len(data)} octets")
        return cls(spi_i, spi_r, nxt, exch, flags, mid, length, ver)
