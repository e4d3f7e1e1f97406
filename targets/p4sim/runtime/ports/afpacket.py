"""A switch port on a named Linux interface, over an AF_PACKET raw socket (``-i 1@veth1``).

One receive thread per interface; frames this socket sent itself are
ignored (PACKET_IGNORE_OUTGOING, with a fallback on the packet type) so the
switch never sees its own transmissions.

Checksum offload: a host behind a veth usually leaves its TCP/UDP checksum
to the "hardware" (CHECKSUM_PARTIAL): the checksum field holds only the
folded pseudo-header sum.  AF_PACKET hands us those bytes as they are and
reports the fact only through PACKET_AUXDATA (``tp_status`` bit
TP_STATUS_CSUMNOTREADY, linux/if_packet.h).  A switch that forwards such a
frame unchanged makes the receiving kernel drop it, so for flagged frames we
do what the NIC would have done: ``field = ~fold(sum(L4 header + payload))``
over the segment with the partial sum left in the field (RFC 1071 sums are
additive, so this equals the checksum over pseudo-header + segment computed
from scratch).  Unflagged frames pay only the cmsg status test.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import sys
import threading
import time
from array import array

from targets.p4sim.runtime.ports.base import Deliver

log = logging.getLogger("p4sim.ports")

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
PACKET_STATISTICS = 6  # struct tpacket_stats {tp_packets, tp_drops}: read and reset
TP_STATUS_CSUMNOTREADY = 1 << 3
# The receive path moves an 802.1Q/802.1ad tag out of the frame into the skb;
# packet sockets see the frame without it and the tag only in tpacket_auxdata.
TP_STATUS_VLAN_VALID = 1 << 4
TP_STATUS_VLAN_TPID_VALID = 1 << 6
# struct tpacket_auxdata: u32 status, len, snaplen; u16 mac, net, vlan_tci, vlan_tpid
AUXDATA_LEN = 20
RCVBUF = 4 * 1024 * 1024

ETH_P_IPV4 = 0x0800
ETH_P_IPV6 = 0x86DD
VLAN_TPIDS = (0x8100, 0x88A8)
IPPROTO_TCP = 6
IPPROTO_UDP = 17
CSUM_OFFSET = {IPPROTO_TCP: 16, IPPROTO_UDP: 6}  # checksum field within the L4 header
# IPv6 extension headers a checksummed segment may sit behind (RFC 8200 4.1):
# hop-by-hop, routing, destination options; each is (next, len-in-8-octets - 1, ...).
IPV6_EXT = (0, 43, 60)
_SWAP = sys.byteorder == "little"


def _ones_sum(data: bytes | memoryview) -> int:
    """The folded 16-bit ones' complement sum of ``data`` in network order (RFC 1071)."""
    if len(data) % 2:
        data = bytes(data) + b"\x00"
    words = array("H")  # native order: RFC 1071 sums are byte-order independent
    words.frombytes(data)
    total = sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    if _SWAP:
        total = ((total & 0xFF) << 8) | (total >> 8)
    return total


def _l4_span(frame: bytes) -> tuple[int, int, int] | None:
    """(l4 start, l4 end, protocol) of an Ethernet/[VLAN]/IPv4|IPv6 TCP or UDP frame, else None."""
    off = 12
    if len(frame) < off + 2:
        return None
    ethertype = int.from_bytes(frame[off : off + 2], "big")
    off += 2
    while ethertype in VLAN_TPIDS:
        if len(frame) < off + 4:
            return None
        ethertype = int.from_bytes(frame[off + 2 : off + 4], "big")
        off += 4
    if ethertype == ETH_P_IPV4:
        if len(frame) < off + 20 or frame[off] >> 4 != 4:
            return None
        ihl = (frame[off] & 0x0F) * 4
        total = int.from_bytes(frame[off + 2 : off + 4], "big")
        if ihl < 20 or total < ihl or int.from_bytes(frame[off + 6 : off + 8], "big") & 0x3FFF:
            return None  # bad header, or a fragment: its checksum cannot be partial
        proto, start, end = frame[off + 9], off + ihl, off + total
    elif ethertype == ETH_P_IPV6:
        if len(frame) < off + 40 or frame[off] >> 4 != 6:
            return None
        end = off + 40 + int.from_bytes(frame[off + 4 : off + 6], "big")
        proto, start = frame[off + 6], off + 40
        while proto in IPV6_EXT:
            if len(frame) < start + 8:
                return None
            proto, start = frame[start], start + (frame[start + 1] + 1) * 8
    else:
        return None
    if proto not in CSUM_OFFSET or end > len(frame) or start + CSUM_OFFSET[proto] + 2 > end:
        return None
    return start, end, proto


def complete_partial_checksum(frame: bytes) -> bytes:
    """``frame`` with its CHECKSUM_PARTIAL TCP/UDP checksum completed.

    The field holds the folded pseudo-header sum (what Linux leaves for the
    NIC); the finished checksum is the complement of the sum over the whole
    segment with that field left in place.  Frames that are not
    Ethernet/IP TCP or UDP, or whose headers are inconsistent, come back
    unchanged (the kernel would have sent them as they are, too).
    """
    span = _l4_span(frame)
    if span is None:
        return frame
    start, end, proto = span
    csum = ~_ones_sum(memoryview(frame)[start:end]) & 0xFFFF
    if proto == IPPROTO_UDP and csum == 0:
        csum = 0xFFFF  # RFC 768: zero means "no checksum", send all ones instead
    at = start + CSUM_OFFSET[proto]
    return frame[:at] + csum.to_bytes(2, "big") + frame[at + 2 :]


def _apply_auxdata(frame: bytes, aux: tuple[int, ...]) -> bytes:
    """Put back the VLAN tag the kernel took out, then complete a partial checksum."""
    status, tci, tpid = aux[0], aux[5], aux[6]
    if status & TP_STATUS_VLAN_VALID and len(frame) >= 12:
        if not status & TP_STATUS_VLAN_TPID_VALID:
            tpid = 0x8100
        frame = frame[:12] + struct.pack("!HH", tpid, tci) + frame[12:]
    if status & TP_STATUS_CSUMNOTREADY:
        frame = complete_partial_checksum(frame)
    return frame


class AfPacketPort:
    def __init__(self, number: int, ifname: str) -> None:
        self.number = number
        self.ifname = ifname
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            self.sock.bind((ifname, 0))
        except OSError as exc:
            raise OSError(f"port {number}@{ifname}: cannot open AF_PACKET socket: {exc}") from None
        self._kernel_filters_outgoing = False
        with contextlib.suppress(OSError):  # older kernels: filtered by packet type below
            self.sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            self._kernel_filters_outgoing = True
        # Ask for tpacket_auxdata with each frame: the only place the kernel says
        # "checksum not ready" (offload left on by the sender).
        self.sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, RCVBUF)
        self._thread: threading.Thread | None = None
        self._closed = False
        self.kernel_drops = 0  # frames the kernel dropped: our receive buffer was full

    def start(self, deliver: Deliver) -> None:
        self._thread = threading.Thread(
            target=self._loop, args=(deliver,), name=f"port-{self.number}", daemon=True
        )
        self._thread.start()

    def _loop(self, deliver: Deliver) -> None:
        number = self.number
        check_outgoing = not self._kernel_filters_outgoing
        recvmsg = self.sock.recvmsg
        ancbuf = socket.CMSG_SPACE(AUXDATA_LEN)
        unpack_aux = struct.Struct("=IIIHHHH").unpack_from
        check_at = time.monotonic() + 1.0
        while not self._closed:
            try:
                frame, anc, _flags, addr = recvmsg(65535, ancbuf)
            except OSError:
                if self._closed:
                    return
                continue
            if (now := time.monotonic()) >= check_at:
                check_at = now + 1.0
                self._report_drops()
            if check_outgoing and addr[2] == PACKET_OUTGOING:
                continue
            try:
                for level, kind, data in anc:
                    if level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= AUXDATA_LEN:
                        frame = _apply_auxdata(frame, unpack_aux(data))
                deliver(number, frame)
            except Exception as exc:  # one bad frame must not stop the port
                log.warning("port %d: frame dropped: %s", number, exc)

    def _report_drops(self) -> None:
        """Never a silent loss: say when a stalled port thread overflowed its socket."""
        with contextlib.suppress(OSError):
            stats = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
            drops = int.from_bytes(stats[4:8], sys.byteorder)
            if drops:
                self.kernel_drops += drops
                log.warning(
                    "port %d (%s): %d frames dropped by the kernel (receive buffer full)",
                    self.number,
                    self.ifname,
                    drops,
                )

    def send(self, port: int, frame: bytes) -> None:
        self.sock.send(frame)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        if self._thread is not None:
            self._thread.join(timeout=1)
