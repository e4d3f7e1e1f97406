"""Ethernet/IP views for the ESP engine: find the IP payload, rebuild headers around a new one.

Only what ESP needs (RFC 4303 section 3.1): where the protected part of an IPv4
or IPv6 packet starts, and how to fix lengths, the protocol/next-header field
and the IPv4 checksum once it has been replaced.  struct and slicing only;
this is the per-packet path.
"""

from __future__ import annotations

import struct

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_VLAN = 0x8100
PROTO_IPV4 = 4
PROTO_IPV6 = 41
PROTO_UDP = 17
PROTO_ESP = 50
_IPV6_HOP_BY_HOP = 0
_IPV6_ROUTING = 43
_IPV6_FRAGMENT = 44
_ETH_LEN = 14

_H = struct.Struct("!H")
_UDP = struct.Struct("!HHHH")
_IPV4 = struct.Struct("!BBHHHBBH4s4s")
_IPV6 = struct.Struct("!IHBB16s16s")


class PacketError(Exception):
    """A frame the engine cannot handle; the message says what and where."""


class IpView:
    """An Ethernet frame split as l2 | ip header (+ unfragmentable IPv6 headers) | payload."""

    __slots__ = ("dst", "header", "l2", "nh_offset", "payload", "proto", "src", "version")

    def __init__(self, frame: bytes, start: int = 0) -> None:
        # Offsets into the caller's buffer: the frame itself is never copied.
        if len(frame) < start + _ETH_LEN:
            raise PacketError(f"frame of {len(frame) - start} octets has no Ethernet header")
        ip = start + _ETH_LEN
        ethertype = _H.unpack_from(frame, ip - 2)[0]
        if ethertype == ETH_VLAN:  # one 802.1Q tag
            ip += 4
            if len(frame) < ip:
                raise PacketError("802.1Q frame truncated in its tag")
            ethertype = _H.unpack_from(frame, ip - 2)[0]
        self.l2 = frame[start:ip]
        if ethertype == ETH_IPV4:
            self._parse_v4(frame, ip)
        elif ethertype == ETH_IPV6:
            self._parse_v6(frame, ip)
        else:
            raise PacketError(f"ethertype 0x{ethertype:04x} is neither IPv4 nor IPv6")

    def _parse_v4(self, frame: bytes, ip: int) -> None:
        if len(frame) < ip + 20 or frame[ip] >> 4 != 4:
            raise PacketError("IPv4 header truncated or version is not 4")
        ihl = (frame[ip] & 0x0F) * 4
        total = _H.unpack_from(frame, ip + 2)[0]
        if ihl < 20 or total < ihl or ip + total > len(frame):
            raise PacketError(f"IPv4 header length {ihl} / total length {total} inconsistent")
        if _H.unpack_from(frame, ip + 6)[0] & 0x3FFF:
            raise PacketError("IPv4 fragment: ESP applies to whole datagrams (RFC 4303 3.1)")
        self.version = 4
        self.header = bytearray(frame[ip : ip + ihl])
        self.nh_offset = 9
        self.proto = frame[ip + 9]
        self.payload = frame[ip + ihl : ip + total]  # drops Ethernet padding
        self.src = frame[ip + 12 : ip + 16]
        self.dst = frame[ip + 16 : ip + 20]

    def _parse_v6(self, frame: bytes, ip: int) -> None:
        if len(frame) < ip + 40 or frame[ip] >> 4 != 6:
            raise PacketError("IPv6 header truncated or version is not 6")
        end = ip + 40 + _H.unpack_from(frame, ip + 4)[0]
        if end > len(frame):
            raise PacketError(f"IPv6 payload length {end - ip - 40} exceeds the frame")
        nh_offset, nh, offset = 6, frame[ip + 6], ip + 40
        # Hop-by-hop and routing headers stay in front of ESP (RFC 4303 section 3.1.1).
        while nh in (_IPV6_HOP_BY_HOP, _IPV6_ROUTING):
            if offset + 8 > end:
                raise PacketError("IPv6 extension header truncated")
            nh_offset, nh = offset - ip, frame[offset]
            offset += (frame[offset + 1] + 1) * 8
        if offset > end:
            raise PacketError("IPv6 extension header runs past the payload")
        if nh == _IPV6_FRAGMENT:
            raise PacketError("IPv6 fragment: ESP applies to whole datagrams (RFC 4303 3.1)")
        self.version = 6
        self.header = bytearray(frame[ip:offset])
        self.nh_offset = nh_offset
        self.proto = nh
        self.payload = frame[offset:end]
        self.src = frame[ip + 8 : ip + 24]
        self.dst = frame[ip + 24 : ip + 40]

    def rebuild(self, proto: int, payload: bytes, prefix: bytes = b"") -> bytes:
        """prefix + the frame with payload and protocol replaced, lengths/checksum fixed."""
        header = self.header
        header[self.nh_offset] = proto
        if self.version == 4:
            header[2:4] = _H.pack(len(header) + len(payload))
            header[10:12] = b"\x00\x00"
            header[10:12] = _H.pack(checksum(header))
        else:
            header[4:6] = _H.pack(len(header) - 40 + len(payload))
        return b"".join((prefix, self.l2, header, payload))

    def inner(self) -> bytes:
        """The whole IP packet (tunnel mode protects it as a unit)."""
        return bytes(self.header) + self.payload


_WORDS: dict[int, struct.Struct] = {}


def checksum(data: bytes | bytearray) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data = bytes(data) + b"\x00"
    words = _WORDS.get(len(data))
    if words is None:
        words = _WORDS.setdefault(len(data), struct.Struct(f"!{len(data) // 2}H"))
    total = sum(words.unpack(data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_header(src: bytes, dst: bytes, sport: int, dport: int, payload: bytes) -> bytes:
    """UDP header for ESP-in-UDP (RFC 3948 section 2.1).

    The checksum is zero over IPv4 (RFC 3948 section 2.1 says SHOULD); over
    IPv6 it is computed, since a zero UDP checksum is not allowed there in
    general (RFC 8200 section 8.1).
    """
    length = 8 + len(payload)
    if len(src) == 4:
        return _UDP.pack(sport, dport, length, 0)
    pseudo = src + dst + struct.pack("!IxxxB", length, PROTO_UDP)
    csum = checksum(pseudo + _UDP.pack(sport, dport, length, 0) + payload) or 0xFFFF
    return _UDP.pack(sport, dport, length, csum)


PROTO_TCP = 6
_L4_CHECKSUM_AT = {PROTO_TCP: 16, PROTO_UDP: 6}


def refresh_l4_checksum(src: bytes, dst: bytes, proto: int, segment: bytes) -> bytes:
    """TCP/UDP segment with its checksum recomputed for the addresses it now travels with.

    RFC 3948 section 3.1.2: after transport-mode ESP-in-UDP crossed a NAT,
    the sender's TCP/UDP checksum covers addresses the packet no longer
    carries, so the receiver recomputes it.  Segments too short to hold the
    checksum, and IPv4 UDP without a checksum (0), are returned as they are.
    """
    at = _L4_CHECKSUM_AT.get(proto)
    if at is None or len(segment) < at + 2:
        return segment
    if proto == PROTO_UDP and len(src) == 4 and segment[at : at + 2] == b"\x00\x00":
        return segment
    zeroed = segment[:at] + b"\x00\x00" + segment[at + 2 :]
    length = len(segment)
    pseudo = (
        src
        + dst
        + (
            struct.pack("!IxxxB", length, proto)
            if len(src) == 16
            else struct.pack("!xBH", proto, length)
        )
    )
    csum = checksum(pseudo + zeroed)
    if proto == PROTO_UDP and csum == 0:
        csum = 0xFFFF
    return segment[:at] + _H.pack(csum) + segment[at + 2 :]


def outer_header(src: bytes, dst: bytes, proto: int, payload_len: int, tos: int) -> bytes:
    """A fresh outer IP header for tunnel mode (RFC 4301 section 5.1.2)."""
    if len(src) == 4:
        header = bytearray(_IPV4.pack(0x45, tos, 20 + payload_len, 0, 0, 64, proto, 0, src, dst))
        header[10:12] = _H.pack(checksum(header))
        return bytes(header)
    return _IPV6.pack((6 << 28) | (tos << 20), payload_len, proto, 64, src, dst)


def trim_inner(data: bytes, version: int) -> bytes:
    """A tunnel-mode inner packet without TFC padding after it (RFC 4303 section 2.7)."""
    if len(data) < (20 if version == 4 else 40):
        raise PacketError(f"tunnel mode: inner IPv{version} header truncated")
    length = _H.unpack_from(data, 2)[0] if version == 4 else 40 + _H.unpack_from(data, 4)[0]
    if length > len(data):
        raise PacketError(f"tunnel mode: inner packet length {length} too long")
    return data[:length]


def ethertype_for(version: int) -> bytes:
    return _H.pack(ETH_IPV4 if version == 4 else ETH_IPV6)
