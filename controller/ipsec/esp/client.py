"""The daemon's side of the engine-control protocol: an SaInstaller over a Unix socket.

:class:`EngineClient` makes an ESP engine process (:mod:`.process`) look like
the in-process engine to the SA database: each installer call is one request
and its answer, synchronously (the engine answers in microseconds; the IKE
core asks for SPIs synchronously too). Expiry events are collected by
``poll()``, which the daemon calls periodically (``tick()`` does the same, so
the client can stand where the daemon ticks a local engine); they are handed
to the subscribers on the calling thread.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from controller.ipsec.esp.rpc import (
    HEADER,
    Answer,
    Op,
    RpcError,
    counters_from_wire,
    encode,
    event_from_wire,
    field,
    read_body,
    read_header,
    recv_exact,
    sa_to_wire,
    update_to_wire,
)
from controller.ipsec.installer import (
    ExpiryCallback,
    ExpiryEvent,
    ExpirySubscribers,
    SaCounters,
    SaInstaller,
    SaInstallError,
    SaParams,
    SaUpdate,
)

TIMEOUT = 5.0


class EngineUnavailable(SaInstallError):
    """The engine process does not answer (not running, or it went away)."""


class EngineClient:
    def __init__(self, path: Path, timeout: float = TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._subscribers = ExpirySubscribers()

    def connect(self) -> dict[str, Any]:
        """Connect and say HELLO; returns the engine's pid, interface and SA count."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.path))
        except OSError as exc:
            sock.close()
            raise EngineUnavailable(f"ESP engine at {self.path}: {exc.strerror or exc}") from None
        self._sock = sock
        return self.call(Op.HELLO)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def call(self, op: Op, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request, its answer; SaInstallError with the engine's reason on ERROR."""
        with self._lock:
            sock = self._sock
            if sock is None:
                raise EngineUnavailable(f"ESP engine at {self.path}: not connected")
            try:
                sock.sendall(encode(op, body or {}))
                header = recv_exact(sock, HEADER.size)
                kind, length = read_header(header) if header else (0, 0)
                data = recv_exact(sock, length) if header else None
            except (OSError, RpcError) as exc:
                self.close()
                raise EngineUnavailable(f"ESP engine at {self.path}: {exc}") from None
            if data is None:
                self.close()
                raise EngineUnavailable(f"ESP engine at {self.path}: connection closed")
        answer = read_body(data)
        if kind == Answer.ERROR:
            raise SaInstallError(str(answer.get("error", "engine refused the request")))
        if kind != Answer.OK:
            raise EngineUnavailable(f"ESP engine at {self.path}: answer type {kind}")
        return answer

    # -- SaInstaller -------------------------------------------------------------------------

    def allocate_spi(self) -> int:
        return int(field(self.call(Op.ALLOCATE_SPI), "spi", int, "ALLOCATE_SPI answer"))

    def add_sa(self, params: SaParams) -> None:
        self.add_labelled_sa(params, {})

    def add_labelled_sa(self, params: SaParams, label: dict[str, str | int | None]) -> None:
        params.check()  # refuse here with the same words as the in-process engine
        self.call(Op.ADD_SA, {"sa": sa_to_wire(params), "label": label})

    def update_sa(self, sa_index: int, update: SaUpdate) -> None:
        self.call(Op.UPDATE_SA, {"sa_index": sa_index, "update": update_to_wire(update)})

    def delete_sa(self, sa_index: int) -> None:
        self.call(Op.DELETE_SA, {"sa_index": sa_index})

    def switch_outbound(self, old_sa_index: int, new_sa_index: int) -> None:
        self.call(Op.SWITCH_OUTBOUND, {"old": old_sa_index, "new": new_sa_index})

    def counters(self, sa_index: int) -> SaCounters:
        return counters_from_wire(self.call(Op.COUNTERS, {"sa_index": sa_index}))

    def subscribe(self, callback: ExpiryCallback) -> Callable[[], None]:
        return self._subscribers.subscribe(callback)

    # -- beyond the installer ----------------------------------------------------------------

    def poll(self) -> list[ExpiryEvent]:
        """Fire the engine's time lifetimes and deliver its queued expiry events."""
        events = [event_from_wire(e) for e in field(self.call(Op.POLL), "events", list, "POLL")]
        for event in events:
            for callback in self._subscribers:
                callback(event)
        return events

    def tick(self, now: float | None = None) -> None:
        """Where the daemon ticks a local engine (``now`` is the engine's own clock here)."""
        self.poll()

    def list_sas(self) -> list[dict[str, Any]]:
        """Every SA the engine holds (no keys): summary, ``label`` and ``retired``."""
        return list(field(self.call(Op.LIST_SAS), "sas", list, "LIST_SAS answer"))


if TYPE_CHECKING:  # mypy proves the client is a complete SaInstaller

    def _installer(client: EngineClient) -> SaInstaller:
        return client
