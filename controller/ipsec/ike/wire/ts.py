"""Traffic Selector payloads TSi/TSr, RFC 7296 section 3.13.

| Number of TSs |                 RESERVED                      |
~                       <Traffic Selectors>                     ~

Each selector (3.13.1):
|   TS Type     |IP Protocol ID*|       Selector Length         |
|           Start Port*         |           End Port*           |
~                         Starting Address*                     ~
~                         Ending Address*                       ~
"""

from __future__ import annotations

import functools
import ipaddress
import struct
from dataclasses import dataclass, field

from controller.ipsec.ike.wire.consts import PayloadType, TsType
from controller.ipsec.ike.wire.errors import syntax
from controller.ipsec.ike.wire.payload import Payload, need, need_at, register

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class TrafficSelector:
    protocol: int  # 0 = any
    start_port: int
    end_port: int
    start: IpAddress
    end: IpAddress
    _key: tuple[int, ...] = field(default=(), init=False, repr=False, compare=False)
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Selectors key the encoding and narrowing memos of every CHILD_SA exchange; the
        # generated __eq__ and __hash__ would go through ipaddress's Python code each time.
        key = (
            self.protocol,
            self.start_port,
            self.end_port,
            self.start.version,
            int(self.start),
            int(self.end),
        )
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, TrafficSelector):
            return NotImplemented
        return self._key == other._key

    @classmethod
    def host(cls, addr: str, protocol: int = 0, port: int | None = None) -> TrafficSelector:
        a = ipaddress.ip_address(addr)
        lo, hi = (0, 65535) if port is None else (port, port)
        return cls(protocol, lo, hi, a, a)

    @classmethod
    def subnet(cls, prefix: str, protocol: int = 0) -> TrafficSelector:
        net = ipaddress.ip_network(prefix, strict=False)
        return cls(protocol, 0, 65535, net.network_address, net.broadcast_address)

    @property
    def ts_type(self) -> int:
        return TsType.IPV4_ADDR_RANGE if self.start.version == 4 else TsType.IPV6_ADDR_RANGE

    def contains(self, other: TrafficSelector) -> bool:
        return (
            self.start.version == other.start.version
            and self.protocol in (0, other.protocol)
            and self.start_port <= other.start_port
            and other.end_port <= self.end_port
            and self.start <= other.start  # type: ignore[operator]
            and other.end <= self.end  # type: ignore[operator]
        )

    def encode(self) -> bytes:
        addrs = self.start.packed + self.end.packed
        head = struct.pack(
            "!BBHHH", self.ts_type, self.protocol, 8 + len(addrs), self.start_port, self.end_port
        )
        return head + addrs

    def __str__(self) -> str:
        ports = (
            ""
            if (self.start_port, self.end_port) == (0, 65535)
            else f":{self.start_port}-{self.end_port}"
        )
        rng = str(self.start) if self.start == self.end else f"{self.start}-{self.end}"
        return f"{rng}[{self.protocol}{ports}]"


class _TsPayload(Payload):
    selectors: list[TrafficSelector]

    def encode_body(self) -> bytes:
        return struct.pack("!B3x", len(self.selectors)) + b"".join(
            _encode(s) for s in self.selectors
        )

    @classmethod
    def decode_body(cls, body: bytes) -> Payload:
        need(body, 4, "TS payload")
        count = body[0]
        pos, out = 4, []
        for _ in range(count):
            need_at(body, pos, 8, "traffic selector")
            ts_type, _, length = struct.unpack_from("!BBH", body, pos)
            alen = _ADDRESS_LEN.get(ts_type)
            if alen is None:
                raise syntax(f"traffic selector type {ts_type} unknown")
            if length != 8 + 2 * alen or pos + length > len(body):
                raise syntax(f"traffic selector length {length} for type {ts_type}")
            out.append(_selector(body[pos + 1 : pos + length], alen))
            pos += length
        if pos != len(body):
            raise syntax("TS payload: trailing octets after the selectors")
        return cls(out)  # type: ignore[call-arg]


@register
@dataclass
class TsiPayload(_TsPayload):
    TYPE = PayloadType.TSI
    selectors: list[TrafficSelector]


@register
@dataclass
class TsrPayload(_TsPayload):
    TYPE = PayloadType.TSR
    selectors: list[TrafficSelector]


# Selectors are immutable and the same few recur in every exchange with a peer: those
# we receive are built once per distinct encoding, those we send encoded once.
_address = functools.lru_cache(maxsize=4096)(ipaddress.ip_address)
_encode = functools.lru_cache(maxsize=1024)(TrafficSelector.encode)


@functools.lru_cache(maxsize=4096)
def _selector(wire: bytes, alen: int) -> TrafficSelector:
    """From a selector's octets after its TS Type (length already checked)."""
    proto, _, sp, ep = struct.unpack_from("!BHHH", wire)
    return TrafficSelector(proto, sp, ep, _address(wire[7 : 7 + alen]), _address(wire[7 + alen :]))


_ADDRESS_LEN = {TsType.IPV4_ADDR_RANGE: 4, TsType.IPV6_ADDR_RANGE: 16}


def _intersect(a: TrafficSelector, b: TrafficSelector) -> TrafficSelector | None:
    if a.start.version != b.start.version:
        return None
    if a.protocol and b.protocol and a.protocol != b.protocol:
        return None
    kind = type(a.start)
    start, end = max(int(a.start), int(b.start)), min(int(a.end), int(b.end))
    lo, hi = max(a.start_port, b.start_port), min(a.end_port, b.end_port)
    if start > end or lo > hi:
        return None
    got = TrafficSelector(a.protocol or b.protocol, lo, hi, kind(start), kind(end))
    # the same object as an operand when equal: fewer distinct selectors in the memos
    return a if got == a else b if got == b else got


def narrow(
    proposed: list[TrafficSelector], allowed: list[TrafficSelector]
) -> list[TrafficSelector]:
    """RFC 7296 2.9: the parts of the proposed selectors our policy allows."""
    if len(proposed) > 8 or len(allowed) > 8:  # not worth remembering
        return list(_narrow(tuple(proposed), tuple(allowed)))
    return list(_narrow_memo(tuple(proposed), tuple(allowed)))


def _narrow(
    proposed: tuple[TrafficSelector, ...], allowed: tuple[TrafficSelector, ...]
) -> tuple[TrafficSelector, ...]:
    out: list[TrafficSelector] = []
    for p in proposed:
        for a in allowed:
            x = _intersect(p, a)
            if x is not None and x not in out:
                out.append(x)
    return tuple(out)


# Each CHILD_SA narrows the same few selectors (a peer's offer) against the same config.
_narrow_memo = functools.lru_cache(maxsize=1024)(_narrow)
