"""PTF's dataplane over nanomsg (platform "nn"), with exact-bytes expectations.

The target (p4sim or simple_switch_grpc started with ``--packet-in``) serves
every switch port on one nanomsg socket; PTF dials it and adds the ports it
uses. Expectations compare whole frames: the pipeline is deterministic, so a
test builds the exact frame it expects with scapy and a mismatch shows both.
"""

from __future__ import annotations

import logging

from ptf.dataplane import DataPlane
from scapy.layers.l2 import Ether

logging.getLogger("dataplane").setLevel(logging.ERROR)


class Dataplane:
    """Send frames into switch ports and collect what the switch sends out."""

    def __init__(self, nn_address: str, ports: list[int], watch: list[int]) -> None:
        """Attach ``ports``; ``watch`` are the ones ``expect_none`` checks by default
        (not the crypto port, whose frames belong to the engine thread)."""
        self.ports = list(ports)
        self.watch = list(watch)
        self.dp = DataPlane(config={"platform": "nn", "qlen": 1000})
        for port in self.ports:
            self.dp.port_add(nn_address, 0, port)

    def send(self, port: int, frame: bytes) -> None:
        sent = self.dp.send(0, port, bytes(frame))
        if sent != len(frame):
            raise AssertionError(f"dataplane: sent {sent} of {len(frame)} octets to port {port}")

    def recv(self, port: int, timeout: float = 2.0) -> bytes | None:
        res = self.dp.poll(0, port, timeout=timeout)
        if res is None or not hasattr(res, "packet") or res.packet is None:
            return None
        return bytes(res.packet)

    def expect(self, port: int, expected: bytes, timeout: float = 3.0) -> bytes:
        got = self.recv(port, timeout)
        if got is None:
            raise AssertionError(
                f"no frame on port {port}; expected:\n{Ether(expected).show(dump=True)}"
            )
        if got != bytes(expected):
            raise AssertionError(
                f"port {port}: frame differs from the expected one\n--- expected\n"
                f"{Ether(expected).show(dump=True)}\n--- got\n{Ether(got).show(dump=True)}"
            )
        return got

    def expect_none(self, ports: list[int] | None = None, timeout: float = 0.3) -> None:
        """Nothing arrived on ``ports`` (default: all) within ``timeout`` seconds."""
        for port in ports if ports is not None else self.watch:
            got = self.recv(port, timeout)
            timeout = 0.0  # the first wait covers all ports
            if got is not None:
                raise AssertionError(
                    f"unexpected frame on port {port}:\n{Ether(got).show(dump=True)}"
                )

    def flush(self) -> None:
        self.dp.flush()

    def close(self) -> None:
        self.dp.kill()
