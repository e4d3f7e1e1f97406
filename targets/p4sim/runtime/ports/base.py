"""The port interface and the manager that connects ports to a device."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from targets.p4sim.runtime.ports.pcap import PcapRecorder

log = logging.getLogger("p4sim.ports")

Deliver = Callable[[int, bytes], None]  # (ingress port, frame) into the switch


class Port(Protocol):
    """One transport. ``start`` begins delivering received frames; ``send`` transmits."""

    def start(self, deliver: Deliver) -> None: ...

    def send(self, port: int, frame: bytes) -> None: ...

    def close(self) -> None: ...


class Receiver(Protocol):
    def receive(self, port: int, frame: bytes) -> None: ...


class PortManager:
    """Routes frames between transports and the device; one optional default transport.

    Port numbers bound with :meth:`add` go to their transport; any other egress
    port goes to the default transport (nanomsg serves every port number, as
    with BMv2's ``--packet-in``), or is dropped and counted.
    """

    def __init__(self, device: Receiver, pcap: PcapRecorder | None = None) -> None:
        self.device = device
        self.pcap = pcap
        self.ports: dict[int, Port] = {}
        self.default: Port | None = None
        self.unrouted = 0
        self._transports: list[Port] = []

    def add(self, number: int, port: Port) -> None:
        if number in self.ports:
            raise ValueError(f"port {number} is bound twice")
        self.ports[number] = port
        if port not in self._transports:
            self._transports.append(port)

    def set_default(self, port: Port) -> None:
        self.default = port
        if port not in self._transports:
            self._transports.append(port)

    def start(self) -> None:
        for t in self._transports:
            t.start(self.deliver)

    def deliver(self, port: int, frame: bytes) -> None:
        if self.pcap is not None:
            self.pcap.record(port, "in", frame)
        self.device.receive(port, frame)

    def emit(self, port: int, frame: bytes) -> None:
        transport = self.ports.get(port, self.default)
        if transport is None:
            self.unrouted += 1
            return
        if self.pcap is not None:
            self.pcap.record(port, "out", frame)
        try:
            transport.send(port, frame)
        except OSError as exc:
            log.warning("port %d: send of %d bytes failed: %s", port, len(frame), exc)

    def close(self) -> None:
        for t in self._transports:
            t.close()
        if self.pcap is not None:
            self.pcap.close()
