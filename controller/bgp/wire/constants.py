"""Numbers from the BGP RFCs that more than one codec needs.

Message types (RFC 4271 4.1, RFC 2918 3), address families (RFC 4760, IANA
"Address Family Numbers" and "SAFI Values"), NOTIFICATION codes and subcodes
(RFC 4271 4.5 and 6, RFC 4486, RFC 7313 5) and the message size limits
(RFC 4271 4.1, RFC 8654 3).
"""

from __future__ import annotations

import enum
from typing import NamedTuple

MARKER = b"\xff" * 16
HEADER_LEN = 19
MAX_MESSAGE_LEN = 4096
MAX_EXTENDED_MESSAGE_LEN = 65535
BGP_VERSION = 4
AS_TRANS = 23456


class MessageType(enum.IntEnum):
    OPEN = 1
    UPDATE = 2
    NOTIFICATION = 3
    KEEPALIVE = 4
    ROUTE_REFRESH = 5


# Address family numbers and SAFIs used by this product; others are carried as ints.
AFI_IPV4 = 1
AFI_IPV6 = 2
SAFI_UNICAST = 1
SAFI_MULTICAST = 2
SAFI_MPLS_LABEL = 4
SAFI_MPLS_VPN = 128
SAFI_RT_CONSTRAIN = 132  # RFC 4684


class Family(NamedTuple):
    """An (AFI, SAFI) pair (RFC 4760 section 3)."""

    afi: int
    safi: int

    def __str__(self) -> str:
        return _FAMILY_NAMES.get(self, f"afi{self.afi}/safi{self.safi}")


IPV4_UNICAST = Family(AFI_IPV4, SAFI_UNICAST)
IPV6_UNICAST = Family(AFI_IPV6, SAFI_UNICAST)
VPNV4 = Family(AFI_IPV4, SAFI_MPLS_VPN)
VPNV6 = Family(AFI_IPV6, SAFI_MPLS_VPN)
RTC = Family(AFI_IPV4, SAFI_RT_CONSTRAIN)
_FAMILY_NAMES = {
    IPV4_UNICAST: "ipv4-unicast",
    IPV6_UNICAST: "ipv6-unicast",
    VPNV4: "vpnv4",
    VPNV6: "vpnv6",
    RTC: "rtc",
}
_SHARED = {(f.afi, f.safi): f for f in _FAMILY_NAMES}


def family_of(afi: int, safi: int) -> Family:
    """The family of an (AFI, SAFI) pair, the module's shared object for the known ones.

    Every route of a table holds its family: one shared tuple instead of one per
    route (64 octets each) when decoded from the wire."""
    return _SHARED.get((afi, safi)) or Family(afi, safi)


class ErrorCode(enum.IntEnum):
    """NOTIFICATION error codes (RFC 4271 4.5, RFC 7313 5)."""

    MESSAGE_HEADER = 1
    OPEN_MESSAGE = 2
    UPDATE_MESSAGE = 3
    HOLD_TIMER_EXPIRED = 4
    FSM = 5
    CEASE = 6
    ROUTE_REFRESH = 7


class HeaderSubcode(enum.IntEnum):
    CONNECTION_NOT_SYNCHRONIZED = 1
    BAD_MESSAGE_LENGTH = 2
    BAD_MESSAGE_TYPE = 3


class OpenSubcode(enum.IntEnum):
    UNSUPPORTED_VERSION = 1
    BAD_PEER_AS = 2
    BAD_BGP_IDENTIFIER = 3
    UNSUPPORTED_OPTIONAL_PARAMETER = 4
    UNACCEPTABLE_HOLD_TIME = 6
    UNSUPPORTED_CAPABILITY = 7


class UpdateSubcode(enum.IntEnum):
    MALFORMED_ATTRIBUTE_LIST = 1
    UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE = 2
    MISSING_WELL_KNOWN_ATTRIBUTE = 3
    ATTRIBUTE_FLAGS_ERROR = 4
    ATTRIBUTE_LENGTH_ERROR = 5
    INVALID_ORIGIN = 6
    INVALID_NEXT_HOP = 8
    OPTIONAL_ATTRIBUTE_ERROR = 9
    INVALID_NETWORK_FIELD = 10
    MALFORMED_AS_PATH = 11


class CeaseSubcode(enum.IntEnum):
    """RFC 4486 section 4."""

    MAX_PREFIXES = 1
    ADMINISTRATIVE_SHUTDOWN = 2
    PEER_DECONFIGURED = 3
    ADMINISTRATIVE_RESET = 4
    CONNECTION_REJECTED = 5
    OTHER_CONFIGURATION_CHANGE = 6
    CONNECTION_COLLISION_RESOLUTION = 7
    OUT_OF_RESOURCES = 8
    HARD_RESET = 9


class RouteRefreshSubcode(enum.IntEnum):
    INVALID_MESSAGE_LENGTH = 1
