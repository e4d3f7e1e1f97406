"""Complete a TCP/UDP checksum a veth peer left partial, before a punt reaches a TAP.

A Linux host that sends TCP or UDP over a veth offloads the checksum: the
frame leaves with ``CHECKSUM_PARTIAL``, its checksum field holding only the
folded pseudo-header sum (RFC 793 / RFC 768 pseudo-header; RFC 8200 8.1 for
IPv6), and the kernel on the other end of the veth is told, out of band, that
the sum is still to be done. The switch reads its ports over AF_PACKET and
loses that flag, so such a frame punted into our TAP looks corrupt and the
kernel drops it (TcpInCsumErrors): a black BGP speaker running on the very
host the C-PE's black veth leads to, as in the lab, never got its SYN-ACK
through.

Only a field that is exactly the pseudo-header sum and does not verify is
completed; any other wrong checksum is left for the kernel to reject, so
corruption on a real wire is still caught. Sans-I/O, bytes in, bytes out.
"""

from __future__ import annotations

ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
TCP, UDP = 6, 17
CHECK_OFFSET = {TCP: 16, UDP: 6}  # where the checksum sits in each header
MIN_HEADER = {TCP: 20, UDP: 8}


def _sum16(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    return sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))


def _fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def _l4(frame: bytes) -> tuple[int, int, int, int] | None:
    """(L4 offset, L4 length, protocol, pseudo-header sum) of an unfragmented TCP/UDP frame."""
    if len(frame) < 14:
        return None
    ethertype = int.from_bytes(frame[12:14], "big")
    if ethertype == ETH_IPV4 and len(frame) >= 34:
        ihl = (frame[14] & 0x0F) * 4
        total = int.from_bytes(frame[16:18], "big")
        fragment = int.from_bytes(frame[20:22], "big") & 0x3FFF  # MF flag or an offset
        proto = frame[23]
        if frame[14] >> 4 != 4 or ihl < 20 or fragment or total < ihl:
            return None
        start, length = 14 + ihl, total - ihl
        pseudo = _sum16(frame[26:34]) + proto + length
    elif ethertype == ETH_IPV6 and len(frame) >= 54:
        proto = frame[20]  # extension headers are left alone: the kernel judges those
        start, length = 54, int.from_bytes(frame[18:20], "big")
        pseudo = _sum16(frame[22:54]) + proto + length
    else:
        return None
    if proto not in CHECK_OFFSET or length < MIN_HEADER[proto] or start + length > len(frame):
        return None
    return start, length, proto, pseudo


def complete_partial(frame: bytes) -> bytes:
    """The frame with a partial TCP/UDP checksum completed; any other frame as it is."""
    found = _l4(frame)
    if found is None:
        return frame
    start, length, proto, pseudo = found
    at = start + CHECK_OFFSET[proto]
    field = int.from_bytes(frame[at : at + 2], "big")
    if proto == UDP and field == 0:
        return frame  # IPv4 UDP without a checksum (IPv6 forbids it; the kernel decides)
    segment = frame[start : start + length]
    if _fold(pseudo + _sum16(segment)) == 0xFFFF:
        return frame  # already right
    if field != _fold(pseudo):
        return frame  # wrong in some other way: a real error, the kernel drops it
    zeroed = segment[: at - start] + b"\x00\x00" + segment[at - start + 2 :]
    check = ~_fold(pseudo + _sum16(zeroed)) & 0xFFFF
    if proto == UDP and check == 0:
        check = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    return frame[:at] + check.to_bytes(2, "big") + frame[at + 2 :]
