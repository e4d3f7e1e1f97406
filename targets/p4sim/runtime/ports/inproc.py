"""An in-process transport: tests and embedders inject frames and collect outputs."""

from __future__ import annotations

import queue

from targets.p4sim.runtime.ports.base import Deliver


class InprocPort:
    """Serves any number of ports; ``sent`` collects (egress port, frame)."""

    def __init__(self) -> None:
        self.sent: queue.Queue[tuple[int, bytes]] = queue.Queue()
        self._deliver: Deliver | None = None

    def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    def inject(self, port: int, frame: bytes) -> None:
        """Put ``frame`` on the wire of ``port`` towards the switch (runs the pipeline)."""
        if self._deliver is None:
            raise RuntimeError("in-process port not started")
        self._deliver(port, frame)

    def send(self, port: int, frame: bytes) -> None:
        self.sent.put((port, frame))

    def close(self) -> None:
        self._deliver = None
