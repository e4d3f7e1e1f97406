"""Route Target membership NLRI (RFC 4684 4), AFI 1 / SAFI 132.

::

    +-------------------------------+
    | Length (1 octet, bits)        |  0, or 32..96
    +-------------------------------+
    | Origin AS (4 octets)          |  \\
    +-------------------------------+   } a prefix of Length bits
    | Route Target (8 octets)       |  /  (ceil(Length / 8) octets sent)
    +-------------------------------+

Length 0 is the default membership ("send me every VPN route"); otherwise the
origin AS is always whole (RFC 4684 4: at least 32 bits) and the route target
may be cut short (a prefix of the extended community, type octets first).
Bits past the length are ignored on receipt and sent as zero, as for IP prefixes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from controller.bgp.wire.errors import BgpError

MAX_BITS = 96
AS_BITS = 32


@dataclass(frozen=True, slots=True)
class RtMembership:
    """``value`` is the 96-bit origin AS + route target, masked to ``length`` bits."""

    length: int = 0
    value: int = 0

    @classmethod
    def create(cls, origin_as: int, route_target: bytes) -> RtMembership:
        """The full-length (96-bit) membership of one route target (8 octets)."""
        if len(route_target) != 8:
            raise ValueError(f"a route target has 8 octets, not {len(route_target)}")
        if not 0 <= origin_as <= 0xFFFFFFFF:
            raise ValueError(f"origin AS {origin_as} out of range")
        return cls(MAX_BITS, (origin_as << 64) | int.from_bytes(route_target, "big"))

    @property
    def origin_as(self) -> int | None:
        return self.value >> 64 if self.length else None

    @property
    def route_target(self) -> bytes:
        """The route target octets the prefix covers (8 at full length)."""
        rt_bits = max(self.length - AS_BITS, 0)
        return (self.value & ((1 << 64) - 1)).to_bytes(8, "big")[: (rt_bits + 7) // 8]

    def __str__(self) -> str:
        if self.length == 0:
            return "default"
        return f"{self.origin_as}:{self.route_target.hex()}/{self.length}"

    def encode(self) -> bytes:
        if self.length != 0 and not AS_BITS <= self.length <= MAX_BITS:
            raise ValueError(f"RT membership length {self.length} not 0 or 32-96")
        nbytes = (self.length + 7) // 8
        top = self.value >> (MAX_BITS - 8 * nbytes) if nbytes else 0
        return bytes([self.length]) + top.to_bytes(nbytes, "big")


def decode_rt_memberships(
    data: bytes, error: Callable[[str], BgpError]
) -> tuple[RtMembership, ...]:
    """Decode a run of membership NLRI; a bad length is ``error`` (RFC 7606 5.3)."""
    out: list[RtMembership] = []
    n, i = len(data), 0
    while i < n:
        bits = data[i]
        if bits > MAX_BITS or 0 < bits < AS_BITS:
            raise error(f"RT membership length {bits} (0 or 32-96 bits, RFC 4684 4)")
        nbytes = (bits + 7) // 8
        if i + 1 + nbytes > n:
            raise error(f"RT membership of {bits} bits needs {nbytes} octets, {n - i - 1} left")
        value = int.from_bytes(data[i + 1 : i + 1 + nbytes], "big") << (MAX_BITS - 8 * nbytes)
        value &= ((1 << MAX_BITS) - 1) ^ ((1 << (MAX_BITS - bits)) - 1)
        out.append(RtMembership(bits, value))
        i += 1 + nbytes
    return tuple(out)
