"""The ESP engine attached to the switch's crypto port for packet tests.

A thread takes every frame the switch sends out of the crypto port, lets the
controller's ESP engine answer it, and sends the answer back into the same
port. It works over the PTF dataplane, so it is the same for p4sim and BMv2.
Frames the engine answers with nothing (unreadable header) are kept in
``unanswered`` so a test can fail on them.
"""

from __future__ import annotations

import threading

from bmv2_tests.lib.dataplane import Dataplane
from controller.ipsec.esp.engine import EspEngine


class CryptoPortEngine:
    def __init__(self, dataplane: Dataplane, port: int) -> None:
        self.dataplane = dataplane
        self.port = port
        self.engine = EspEngine()
        self.requests: list[bytes] = []
        self.answers: list[bytes] = []
        self.unanswered: list[bytes] = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="crypto-port", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            frame = self.dataplane.recv(self.port, timeout=0.05)
            if frame is None:
                continue
            with self.lock:
                answer = self.engine.process(frame)
                self.requests.append(frame)
                if answer:
                    self.answers.append(answer)
                else:
                    self.unanswered.append(frame)
            if answer:
                self.dataplane.send(self.port, answer)

    def reset(self) -> None:
        """Forget every SA and the recorded frames (between tests)."""
        with self.lock:
            for params in list(self.engine.sas()):
                self.engine.delete_sa(params.sa_index)
            self.requests.clear()
            self.answers.clear()
            self.unanswered.clear()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
