"""BMv2's nanomsg packet-in protocol (``--packet-in ipc://...``), as PTF's ``nn`` platform speaks.

One PAIR socket carries every port. The switch listens; PTF dials. Each
message starts with three little-endian int32s:

    +-----------+-------------+------------------------------+
    | msg type  | port number | more (length / status / info) |  payload ...
    +-----------+-------------+------------------------------+

    0 PORT_ADD, 1 PORT_REMOVE, 2 PORT_SET_STATUS  (no payload)
    3 PACKET_IN   towards the switch: more = payload length, payload = frame
    4 PACKET_OUT  from the switch:    more = payload length, payload = frame
    5 INFO_REQ    more = info type (0 = MAC address, 1 = counters)
    6 INFO_REP    more = info type, then int32 status (1 = not supported)

pynng implements the SP PAIR protocol wire-compatibly with libnanomsg (it is
what PTF itself uses), so no C extension has to be built.
"""

from __future__ import annotations

import logging
import struct
import threading

import pynng  # type: ignore[import-untyped]

from targets.p4sim.runtime.ports.base import Deliver

log = logging.getLogger("p4sim.ports")

HDR = struct.Struct("<iii")
PORT_ADD, PORT_REMOVE, PORT_SET_STATUS, PACKET_IN, PACKET_OUT, INFO_REQ, INFO_REP = range(7)
INFO_NOT_SUPPORTED = 1


class NanomsgTransport:
    def __init__(self, address: str) -> None:
        self.address = address
        try:
            self.sock = pynng.Pair0(listen=address)
        except pynng.NNGException as exc:
            raise OSError(f"--packet-in {address}: {exc}") from None
        self.sock.send_timeout = 1000
        self.ports: set[int] = set()
        self.dropped = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    def start(self, deliver: Deliver) -> None:
        self._thread = threading.Thread(
            target=self._loop, args=(deliver,), name="nanomsg", daemon=True
        )
        self._thread.start()

    def _loop(self, deliver: Deliver) -> None:
        while not self._closed:
            try:
                msg = self.sock.recv()
            except pynng.Closed:
                return
            except pynng.NNGException as exc:
                log.warning("nanomsg %s: receive failed: %s", self.address, exc)
                continue
            try:
                self._handle(msg, deliver)
            except Exception as exc:  # malformed input is dropped, never fatal
                self.dropped += 1
                log.warning("nanomsg %s: message dropped: %s", self.address, exc)

    def _handle(self, msg: bytes, deliver: Deliver) -> None:
        if len(msg) < HDR.size:
            raise ValueError(f"message of {len(msg)} bytes is shorter than its header")
        kind, port, more = HDR.unpack_from(msg)
        if kind == PACKET_IN:
            frame = msg[HDR.size :]
            if more != len(frame):
                raise ValueError(f"port {port}: length field {more} != payload {len(frame)}")
            deliver(port, frame)
        elif kind == PORT_ADD:
            self.ports.add(port)
        elif kind == PORT_REMOVE:
            self.ports.discard(port)
        elif kind == PORT_SET_STATUS:
            pass  # ports are always up
        elif kind == INFO_REQ:
            self._send(HDR.pack(INFO_REP, port, more) + struct.pack("<i", INFO_NOT_SUPPORTED))
        else:
            raise ValueError(f"unknown message type {kind}")

    def _send(self, data: bytes) -> None:
        with self._lock:
            self.sock.send(data)

    def send(self, port: int, frame: bytes) -> None:
        try:
            self._send(HDR.pack(PACKET_OUT, port, len(frame)) + frame)
        except pynng.NNGException as exc:
            self.dropped += 1
            raise OSError(f"nanomsg send: {exc}") from None

    def close(self) -> None:
        self._closed = True
        self.sock.close()
        if self._thread is not None:
            self._thread.join(timeout=1)
