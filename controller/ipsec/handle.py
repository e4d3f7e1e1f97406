"""Our deployment's Security Handle (draft section 6): what a peer needs to set up SAs to us.

The draft leaves the handle's content "deployment specific" and says to omit the
sub-TLV when unused. Ours, version 1, is 4 octets (6 with the IKE port)::

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |  Version (1)  |I|P|  Reserved |         SA-set id             |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |     IKE port (only if P)      |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

* I (0x80), "I initiate": the advertiser is behind a NAT (or otherwise not
  reachable at its black loopback); do not start IKE to it, wait for its IKE SA.
* P (0x40): the IKE port follows (when it is not 500).
* SA-set id: which CHILD_SA serves this red loopback. 0 is the C-PE's shared
  set (one MPLS CHILD_SA per C-PE pair); 1-65535 name a per-tenant set, distinct
  per red loopback (draft section 4). The initiator names it in its CHILD_SA
  request (private-use NOTIFY 40960, ``controller/ipsec/ike/tasks/childneg.py``)
  and the advertiser files the CHILD_SA by it or refuses an id it never gave.
* Reserved bits are sent as zero and ignored; octets after the announced fields
  are ignored (room for additions without a new version).

The SPI is not carried: IKEv2 picks each inbound SPI in the negotiation with one
peer (RFC 7296 1.3), so a single advertised SPI would be shared by every peer and
would change on every rekey, while this route is advertised once to all.

Reading is defensive: another version is kept as opaque octets (defaults
apply), a malformed handle is reported and defaults apply; the route stays usable.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

VERSION = 1
FLAG_INITIATES = 0x80
FLAG_PORT = 0x40
IKE_PORT = 500
_FIXED = struct.Struct("!BBH")


class HandleError(ValueError):
    """A version-1 handle that cannot be read (one line: what is wrong)."""


@dataclass(frozen=True)
class SecurityHandle:
    set_id: int = 0
    initiates: bool = False  # the advertiser initiates IKE (e.g. it is behind NAT)
    ike_port: int = IKE_PORT

    def __post_init__(self) -> None:
        if not 0 <= self.set_id <= 0xFFFF:
            raise HandleError(f"SA-set id {self.set_id} is not 0-65535")
        if not 1 <= self.ike_port <= 0xFFFF:
            raise HandleError(f"IKE port {self.ike_port} is not 1-65535")

    def encode(self) -> bytes:
        flags = (FLAG_INITIATES if self.initiates else 0) | (
            FLAG_PORT if self.ike_port != IKE_PORT else 0
        )
        out = _FIXED.pack(VERSION, flags, self.set_id)
        return out + struct.pack("!H", self.ike_port) if flags & FLAG_PORT else out

    @classmethod
    def decode(cls, data: bytes) -> SecurityHandle:
        """A version-1 handle; :class:`HandleError` if it is not one."""
        if len(data) < _FIXED.size:
            raise HandleError(f"{len(data)} octets, a version-{VERSION} handle has at least 4")
        version, flags, set_id = _FIXED.unpack_from(data)
        if version != VERSION:
            raise HandleError(f"version {version}, not {VERSION}")
        port = IKE_PORT
        if flags & FLAG_PORT:
            if len(data) < _FIXED.size + 2:
                raise HandleError("flag P is set but the IKE port is missing")
            (port,) = struct.unpack_from("!H", data, _FIXED.size)
            if port == 0:
                raise HandleError("IKE port 0")
        return cls(set_id, bool(flags & FLAG_INITIATES), port)

    def describe(self) -> str:
        """For ``sl3vpn show tunnels``: e.g. ``v1 set=2 initiates port=4501``."""
        parts = [f"v{VERSION}", f"set={self.set_id}"]
        if self.initiates:
            parts.append("initiates")
        if self.ike_port != IKE_PORT:
            parts.append(f"port={self.ike_port}")
        return " ".join(parts)


@dataclass(frozen=True)
class HandleReading:
    """What a received handle means to us: ``handle`` None means use the defaults."""

    handle: SecurityHandle | None
    problem: str | None = None  # why the octets were not used (log it once)

    @property
    def effective(self) -> SecurityHandle:
        return self.handle if self.handle is not None else SecurityHandle()

    def describe(self) -> str:
        if self.handle is not None:
            return self.handle.describe()
        return self.problem or "-"


def read_handle(data: bytes | None) -> HandleReading:
    """Interpret a received Security Handle; never raises."""
    if data is None:
        return HandleReading(None)
    if not data or data[0] != VERSION:
        what = f"version {data[0]}" if data else "empty"
        return HandleReading(None, f"opaque ({what}, {len(data)} octets)")
    try:
        return HandleReading(SecurityHandle.decode(data))
    except HandleError as exc:
        return HandleReading(None, f"malformed: {exc}")
