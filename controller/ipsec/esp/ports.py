"""Attach the ESP engine to a switch's crypto port: in-process, or on a Linux interface.

The engine is sans-I/O; these adapters move crypto-port frames to and from
it.  Neither imports a switch: :class:`InlineCryptoPort` has the shape of
p4sim's port transport (``start(deliver)``, ``send(port, frame)``,
``close()``), so the application can bind it to p4sim's crypto port number;
:class:`AfPacketCryptoPort` serves the crypto port of BMv2 (or p4sim) wired to
a veth, e.g. ``simple_switch_grpc -i 254@veth-crypto0`` with the engine on
the peer ``veth-crypto1``.

:class:`LockedEngine` serialises packet processing and SA installation when
they come from different threads (switch port threads vs the IKE loop).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from controller.ipsec.esp import ring
from controller.ipsec.esp.engine import EspEngine
from controller.ipsec.installer import (
    ExpiryCallback,
    SaCounters,
    SaInstaller,
    SaParams,
    SaUpdate,
)

log = logging.getLogger(__name__)

Deliver = Callable[[int, bytes], None]  # (port the frame arrives on, frame) into the switch
_ETH_P_ALL = 0x0003
_SOL_PACKET = 263
_PACKET_IGNORE_OUTGOING = 23
_PACKET_OUTGOING = 4
_PACKET_STATISTICS = 6  # struct tpacket_stats {tp_packets, tp_drops}: read and reset
# Frames wait here while the engine thread waits for the CPU: the kernel's default
# (212,992 octets, about 200 frames) is a fifth of a second at 1,000 pps each way.
# p4sim's ports ask for the same. Capped by net.core.rmem_max unless root.
SOCKET_BUFFER = 4 << 20
BATCH = 64  # frames read per wakeup at most: the lock and the loop are paid once for them
_MAX_FRAME = 65535


class LockedEngine:
    """An EspEngine behind one lock: process() and every SaInstaller call."""

    def __init__(self, engine: EspEngine) -> None:
        self.engine = engine
        # Re-entrant: an expiry subscriber runs inside process() and may install SAs.
        self.lock = threading.RLock()

    def process(self, frame: bytes) -> bytes:
        with self.lock:
            return self.engine.process(frame)

    def process_many(self, frames: list[bytes]) -> list[bytes]:
        """Answers to a batch of frames, under one acquisition of the lock."""
        with self.lock:
            return self.engine.process_many(frames)

    def allocate_spi(self) -> int:
        with self.lock:
            return self.engine.allocate_spi()

    def add_sa(self, params: SaParams) -> None:
        with self.lock:
            self.engine.add_sa(params)

    def update_sa(self, sa_index: int, update: SaUpdate) -> None:
        with self.lock:
            self.engine.update_sa(sa_index, update)

    def delete_sa(self, sa_index: int) -> None:
        with self.lock:
            self.engine.delete_sa(sa_index)

    def switch_outbound(self, old_sa_index: int, new_sa_index: int) -> None:
        with self.lock:
            self.engine.switch_outbound(old_sa_index, new_sa_index)

    def counters(self, sa_index: int) -> SaCounters:
        with self.lock:
            return self.engine.counters(sa_index)

    def subscribe(self, callback: ExpiryCallback) -> Callable[[], None]:
        with self.lock:
            return self.engine.subscribe(callback)

    def tick(self, now: float | None = None) -> None:
        with self.lock:
            self.engine.tick(now)


class InlineCryptoPort:
    """The engine as a port transport: what the switch sends is answered at once.

    ``send`` is called with a frame the pipeline emitted on the crypto port;
    the answer goes straight back into the switch on the same port (a second
    pipeline pass).  A frame with no readable crypto header yields no answer.
    """

    def __init__(self, engine: EspEngine | LockedEngine) -> None:
        self.engine = engine
        self._deliver: Deliver | None = None
        self.frames = 0

    def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    def send(self, port: int, frame: bytes) -> None:
        deliver = self._deliver
        if deliver is None:
            raise RuntimeError("crypto port used before start()")
        self.frames += 1
        answer = self.engine.process(frame)
        if answer:
            deliver(port, answer)

    def close(self) -> None:
        self._deliver = None


class AfPacketCryptoPort:
    """The engine serving a crypto port wired to a Linux interface (AF_PACKET, raw frames)."""

    def __init__(self, ifname: str, engine: EspEngine | LockedEngine) -> None:
        self.ifname = ifname
        self.engine = engine
        try:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
            self.sock.bind((ifname, 0))
        except OSError as exc:
            raise OSError(f"crypto port on {ifname}: cannot open AF_PACKET socket: {exc}") from None
        # Older kernels lack PACKET_IGNORE_OUTGOING: then our own answers come back to us
        # and are told apart by the packet type recvfrom reports.
        self._outgoing_seen = True
        with contextlib.suppress(OSError):
            self.sock.setsockopt(_SOL_PACKET, _PACKET_IGNORE_OUTGOING, 1)
            self._outgoing_seen = False
        for force, plain in ((33, socket.SO_RCVBUF), (32, socket.SO_SNDBUF)):  # *BUFFORCE
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, force, SOCKET_BUFFER)
            except OSError:  # not root: as much as net.core.[rw]mem_max allows
                self.sock.setsockopt(socket.SOL_SOCKET, plain, SOCKET_BUFFER)
        self._buf = bytearray(_MAX_FRAME)
        # Memory-mapped rings where the kernel and CPU allow: no recv/send per frame.
        self.rings: ring.PacketRings | None = None
        if ring.supported() and not self._outgoing_seen:
            try:
                self.rings = ring.PacketRings(self.sock)
            except OSError as exc:
                log.info("crypto port %s: no PACKET_MMAP rings (%s): recv/send", ifname, exc)
        self.frames = 0
        self.kernel_drops = 0  # frames the kernel dropped: our receive buffer was full
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve, name=f"esp-{self.ifname}", daemon=True)
        self._thread.start()

    def serve(self) -> None:
        """Answer frames until close(); one bad frame never stops the loop."""
        if self.rings is not None:
            self._serve_rings(self.rings)
            return
        while not self._closed:
            try:
                frames = self._read_batch()
            except OSError:
                if self._closed:
                    return
                continue
            if not frames:
                continue
            self.frames += len(frames)
            send = self.sock.send
            for answer in self.engine.process_many(frames):
                if not answer:
                    continue
                try:
                    send(answer)
                except OSError as exc:
                    if self._closed:  # closing: the frames in hand are dropped, as on a link down
                        return
                    log.warning(
                        "crypto port %s: answer of %d octets not sent: %s",
                        self.ifname,
                        len(answer),
                        exc,
                    )

    def _serve_rings(self, rings: ring.PacketRings) -> None:
        """serve() with the rings: one poll per idle wait, one send per batch of answers."""
        while not self._closed:
            frames = rings.receive(BATCH)
            if not frames:
                try:
                    rings.wait()
                except OSError:  # closing
                    return
                continue
            self.frames += len(frames)
            answers = self.engine.process_many(frames)
            try:
                rings.send(answers)
            except (OSError, ValueError) as exc:  # ValueError: the mapping is closed
                if self._closed:
                    return
                log.warning("crypto port %s: answers not all sent: %s", self.ifname, exc)

    def _read_batch(self) -> list[bytes]:
        """Wait for one frame, then take what else is queued (up to BATCH) without waiting."""
        frames: list[bytes] = []
        view = memoryview(self._buf)
        flags = 0
        while len(frames) < BATCH:
            try:
                if self._outgoing_seen:
                    size, addr = self.sock.recvfrom_into(self._buf, _MAX_FRAME, flags)
                    if addr[2] == _PACKET_OUTGOING:
                        continue
                else:
                    size = self.sock.recv_into(self._buf, _MAX_FRAME, flags)
            except BlockingIOError:
                break
            except OSError:
                if frames:  # answer what was read; the error shows again on the next wait
                    break
                raise
            frames.append(bytes(view[:size]))
            flags = socket.MSG_DONTWAIT
        return frames

    def new_drops(self) -> int:
        """Frames the kernel dropped since the last call (added to ``kernel_drops``)."""
        try:
            stats = self.sock.getsockopt(_SOL_PACKET, _PACKET_STATISTICS, 8)
        except OSError:  # closed
            return 0
        drops = int.from_bytes(stats[4:8], sys.byteorder)
        if self.rings is not None:  # frames too long for a slot that could not be read either
            drops += self.rings.lost
            self.rings.lost = 0
        self.kernel_drops += drops
        return drops

    def close(self) -> None:
        self._closed = True
        rings = self.rings
        if rings is not None:
            rings.wake()
            if self._thread is not None:
                self._thread.join(timeout=2)
            if self._thread is None or not self._thread.is_alive():
                rings.close()  # unmapped only once the thread no longer reads it
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        if rings is None and self._thread is not None:
            self._thread.join(timeout=2)


if TYPE_CHECKING:  # mypy proves the locked wrapper is still a complete SaInstaller

    def _installer(engine: LockedEngine) -> SaInstaller:
        return engine
