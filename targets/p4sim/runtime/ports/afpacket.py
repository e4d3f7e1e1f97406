"""A switch port on a named Linux interface, over an AF_PACKET raw socket (``-i 1@veth1``).

One receive thread per interface; frames this socket sent itself are
ignored (PACKET_IGNORE_OUTGOING, with a fallback on the packet type) so the
switch never sees its own transmissions.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading

from targets.p4sim.runtime.ports.base import Deliver

log = logging.getLogger("p4sim.ports")

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
RCVBUF = 4 * 1024 * 1024


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
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, RCVBUF)
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self, deliver: Deliver) -> None:
        self._thread = threading.Thread(
            target=self._loop, args=(deliver,), name=f"port-{self.number}", daemon=True
        )
        self._thread.start()

    def _loop(self, deliver: Deliver) -> None:
        number = self.number
        fast = self._kernel_filters_outgoing  # then plain recv(): no address tuple per frame
        recv, recvfrom = self.sock.recv, self.sock.recvfrom
        while not self._closed:
            try:
                if fast:
                    frame = recv(65535)
                else:
                    frame, addr = recvfrom(65535)
                    if addr[2] == PACKET_OUTGOING:
                        continue
            except OSError:
                if self._closed:
                    return
                continue
            try:
                deliver(number, frame)
            except Exception as exc:  # one bad frame must not stop the port
                log.warning("port %d: frame dropped: %s", number, exc)

    def send(self, port: int, frame: bytes) -> None:
        self.sock.send(frame)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        if self._thread is not None:
            self._thread.join(timeout=1)
