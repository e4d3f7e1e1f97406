"""The ROUTE-REFRESH message (RFC 2918 section 3, subtypes from RFC 7313 section 3.2).

::

     0       7      15      23      31
    +-------+-------+-------+-------+
    |      AFI      | Subt. | SAFI  |
    +-------+-------+-------+-------+

Subtype 0 is a plain refresh request, 1 Beginning of Route Refresh (BoRR),
2 End of Route Refresh (EoRR). A message of another length is a
ROUTE-REFRESH Message Error, Invalid Message Length, with the whole message
as data (RFC 7313 section 5). Other subtypes decode (and must be ignored by
the receiver, RFC 7313 section 5).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar, Self

from controller.bgp.wire.constants import (
    HEADER_LEN,
    MARKER,
    ErrorCode,
    Family,
    MessageType,
    RouteRefreshSubcode,
    family_of,
)
from controller.bgp.wire.context import CodecContext
from controller.bgp.wire.errors import BgpError
from controller.bgp.wire.message import BgpMessage, register_message


class RefreshSubtype(enum.IntEnum):
    REQUEST = 0
    BORR = 1
    EORR = 2


@register_message
@dataclass(frozen=True, slots=True)
class RouteRefreshMessage(BgpMessage):
    """ROUTE-REFRESH for one AFI/SAFI."""

    TYPE: ClassVar[MessageType] = MessageType.ROUTE_REFRESH
    afi: int
    safi: int
    subtype: int = RefreshSubtype.REQUEST

    @property
    def family(self) -> Family:
        return family_of(self.afi, self.safi)

    def encode_body(self, ctx: CodecContext) -> bytes:
        return self.afi.to_bytes(2, "big") + bytes([self.subtype, self.safi])

    @classmethod
    def decode_body(cls, body: bytes, ctx: CodecContext) -> Self:
        if len(body) != 4:
            whole = MARKER + (HEADER_LEN + len(body)).to_bytes(2, "big") + b"\x05" + body
            raise BgpError(
                ErrorCode.ROUTE_REFRESH,
                RouteRefreshSubcode.INVALID_MESSAGE_LENGTH,
                f"body of {len(body)} octets, expected 4",
                where="ROUTE-REFRESH",
                data=whole,
            )
        return cls(int.from_bytes(body[:2], "big"), body[3], body[2])
