"""AF_PACKET with memory-mapped rings (PACKET_MMAP, TPACKET_V2): frames without a syscall each.

Python has no ``recvmmsg``/``sendmmsg``; a plain AF_PACKET socket costs one
``recv`` and one ``send`` per frame.  With PACKET_MMAP the kernel writes
received frames into a ring shared with us and sends the frames we put in a
second ring when we ask once (Linux ``Documentation/networking/packet_mmap.rst``).
Per frame that leaves a few index operations on the mapping; a wakeup costs one
``poll`` when the ring is empty and a batch of answers one ``send``.

Ring slot, TPACKET_V2 (native byte order)::

    0  tp_status (u32)   4  tp_len (u32)   8  tp_snaplen (u32)
    12 tp_mac (u16)      14 tp_net (u16)   16 tp_sec, tp_nsec, vlan tci/tpid, padding
    RX: the frame at tp_mac;  TX: the frame at 32 (TPACKET2_HDRLEN - sizeof(sockaddr_ll))

A received frame longer than a slot arrives truncated with TP_STATUS_COPY,
and (PACKET_COPY_THRESH) whole on the socket's ordinary queue, where we read
it; a frame to send longer than a slot is sent with a plain ``send`` on a
second socket (with a TX ring, every send on the first one only flushes the
ring) after the ring is flushed, so order is kept both ways.  The kernel's own examples put a
memory barrier between writing a slot and its status; Python has none, so the
rings are used only where stores are seen in program order (x86-64); elsewhere
:func:`supported` says no and the caller keeps plain recv/send.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import platform
import select
import socket
import struct

SOL_PACKET = 263
_PACKET_RX_RING = 5
_PACKET_COPY_THRESH = 7
_PACKET_VERSION = 10
_PACKET_TX_RING = 13
_PACKET_LOSS = 14
_TPACKET_V2 = 1
_TP_STATUS_USER = 1  # RX: the frame is ours
_TP_STATUS_COPY = 2  # RX: truncated; the whole frame waits on the socket's queue
_TP_STATUS_SEND_REQUEST = 1  # TX: ours -> the kernel's
_TX_DATA = 32
SLOT = 2048  # an MTU-1500 frame + crypto header + ESP overhead fits; longer ones go the slow way
RX_SLOTS = 4096  # 8 MiB: two seconds of a stalled engine at 1,000 pps each way, and more
TX_SLOTS = 512
_REQ = struct.Struct("=IIII")  # struct tpacket_req: block size, block count, frame size, count
_SLOT_WORDS = SLOT // 4
_BLOCK = 1 << 16  # 32 slots a block: the kernel allocates blocks, contiguous in the mapping


def supported() -> bool:
    """Rings here need stores seen in program order without a barrier (x86-64)."""
    return platform.machine() in ("x86_64", "AMD64")


class PacketRings:
    """An RX and a TX ring on a bound AF_PACKET socket (which the caller keeps and closes)."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setsockopt(SOL_PACKET, _PACKET_VERSION, _TPACKET_V2)
        sock.setsockopt(SOL_PACKET, _PACKET_LOSS, 1)  # a frame the kernel refuses is skipped
        sock.setsockopt(SOL_PACKET, _PACKET_COPY_THRESH, 1)
        per_block = _BLOCK // SLOT
        for option, slots in ((_PACKET_RX_RING, RX_SLOTS), (_PACKET_TX_RING, TX_SLOTS)):
            req = _REQ.pack(_BLOCK, slots // per_block, SLOT, slots)
            sock.setsockopt(SOL_PACKET, option, req)
        self.sock = sock
        # Sends nothing through the ring, receives nothing (protocol 0): for long frames.
        self._plain = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        self._plain.bind((sock.getsockname()[0], 0))
        self._map = mmap.mmap(sock.fileno(), (RX_SLOTS + TX_SLOTS) * SLOT)
        # The slot headers as native 32-bit words: one index per field, no struct call.
        self._words = memoryview(self._map).cast("I")
        self._rx = 0  # next RX slot to look at
        self.lost = 0  # frames longer than a slot whose whole copy the kernel could not queue
        self._tx = 0  # next TX slot to fill
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)
        self._wake_r, self._wake_w = os.pipe()
        self._poll.register(self._wake_r, select.POLLIN)

    def wait(self, timeout: float | None = None) -> None:
        """Sleep until the RX ring may hold a frame (or wake() or the timeout)."""
        if not self._words[self._rx * _SLOT_WORDS] & _TP_STATUS_USER:
            self._poll.poll(None if timeout is None else int(timeout * 1000))

    def wake(self) -> None:
        """Make a wait() in another thread return (on close)."""
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def receive(self, limit: int) -> list[bytes]:
        """The frames waiting in the RX ring, oldest first, at most limit; slots go back."""
        mm, words = self._map, self._words
        frames: list[bytes] = []
        i = self._rx
        for _ in range(limit):
            w = i * _SLOT_WORDS  # tp_status, tp_len, tp_snaplen, tp_mac (low half)
            status = words[w]
            if not status & _TP_STATUS_USER:
                break
            if not status & _TP_STATUS_COPY:
                start = i * SLOT + (words[w + 3] & 0xFFFF)
                frames.append(mm[start : start + words[w + 2]])
            else:  # truncated here; the whole frame is on the socket's queue
                whole = self._take_copy(words[w + 1])
                if whole is not None:
                    frames.append(whole)
            words[w] = 0  # TP_STATUS_KERNEL: the slot is the kernel's again
            i = i + 1 if i + 1 < RX_SLOTS else 0
        self._rx = i
        return frames

    def _take_copy(self, length: int) -> bytes | None:
        try:
            frame = self.sock.recv(65535, socket.MSG_DONTWAIT)
        except OSError:
            frame = b""
        if len(frame) != length:  # not queued (receive buffer full): counted as lost
            self.lost += 1
            return None
        return frame

    def send(self, frames: list[bytes]) -> None:
        """Queue frames in the TX ring and have the kernel send them all (one syscall).

        Raises OSError, after the other frames went, for a frame the socket
        refused or a slot the kernel held for a second (the rest of the batch
        is then dropped).  The ring's index always stays where the kernel
        expects the next frame, or the ring would stall.
        """
        mm, words = self._map, self._words
        room = SLOT - _TX_DATA
        i = self._tx
        queued = 0
        refused: OSError | None = None
        try:
            for frame in frames:
                size = len(frame)
                if size > room or size < 14:  # the socket's own path checks and reports these
                    if size:
                        self._flush(queued)
                        queued = 0
                        try:
                            self._plain.send(frame)
                        except OSError as exc:
                            refused = exc
                    continue
                w = (RX_SLOTS + i) * _SLOT_WORDS
                if words[w]:  # still the kernel's: flush and wait for room
                    self._flush(queued)
                    queued = 0
                    self._wait_room(w)
                start = w * 4 + _TX_DATA
                mm[start : start + size] = frame
                # The kernel reads TX slots only inside our send(): no order needed here.
                words[w + 1] = words[w + 2] = size  # tp_len, tp_snaplen
                words[w] = _TP_STATUS_SEND_REQUEST
                queued += 1
                i = i + 1 if i + 1 < TX_SLOTS else 0
        finally:
            self._tx = i
        self._flush(queued)
        if refused is not None:
            raise refused

    def _flush(self, queued: int) -> None:
        if queued:
            self.sock.send(b"", socket.MSG_DONTWAIT)

    def _wait_room(self, w: int) -> None:
        """Until the kernel gives the slot back (the receiver keeps it while it reads it)."""
        poll = select.poll()
        poll.register(self.sock, select.POLLOUT)
        while self._words[w]:
            if not poll.poll(1000):
                raise OSError("TX ring: no slot released by the kernel in 1 s")

    def close(self) -> None:
        self._words.release()
        self._map.close()
        self._plain.close()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
