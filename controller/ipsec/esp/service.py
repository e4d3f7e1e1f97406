"""The engine side of the engine-control protocol (sans-I/O): one request in, one answer out.

:class:`EngineService` wraps a :class:`LockedEngine` and turns each request of
:mod:`controller.ipsec.esp.rpc` into the matching installer call. Expiry
events the engine raises (on a crypto-port thread or in ``tick``) are queued
here until the daemon collects them with ``POLL``. Each SA may carry a small
``label`` the daemon gives at ``ADD_SA`` (peer, tenant, CHILD_SA name, the
index of the other direction); the engine keeps it opaque and returns it in
``LIST_SAS``, so that a restarted daemon knows what the SAs it inherits carry.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
from typing import Any

from controller.ipsec.esp.ports import LockedEngine
from controller.ipsec.esp.rpc import (
    Answer,
    Op,
    RpcError,
    counters_to_wire,
    decode,
    encode,
    event_to_wire,
    field,
    request_op,
    sa_from_wire,
    sa_summary,
    update_from_wire,
)
from controller.ipsec.installer import ExpiryEvent, SaInstallError

log = logging.getLogger(__name__)
MAX_EVENTS = 4096  # queued expiry events kept while nobody polls (oldest dropped)
MAX_LABEL = 8  # fields in one SA label
MAX_LABEL_TEXT = 128  # octets of one label value


class EngineService:
    def __init__(self, engine: LockedEngine, interface: str = "") -> None:
        self.engine = engine
        self.interface = interface
        self.labels: dict[int, dict[str, Any]] = {}
        self._events: collections.deque[ExpiryEvent] = collections.deque(maxlen=MAX_EVENTS)
        self._lock = threading.Lock()
        engine.subscribe(self._queue)

    def _queue(self, event: ExpiryEvent) -> None:
        with self._lock:
            self._events.append(event)

    def handle_frame(self, frame: bytes) -> bytes:
        """A whole request frame -> the answer frame; never raises on bad input."""
        try:
            kind, body = decode(frame)
            return self.handle(kind, body)
        except RpcError as exc:
            return encode(Answer.ERROR, {"error": str(exc)})

    def handle(self, kind: int, body: dict[str, Any]) -> bytes:
        try:
            op = request_op(kind)
            return encode(Answer.OK, self._dispatch(op, body))
        except (RpcError, SaInstallError) as exc:
            log.warning("engine request refused: %s", exc)
            return encode(Answer.ERROR, {"error": str(exc)})

    def _dispatch(self, op: Op, body: dict[str, Any]) -> dict[str, Any]:
        engine = self.engine
        name = op.name
        if op is Op.HELLO:
            with engine.lock:
                count = sum(1 for _ in engine.engine.sas())
            return {"pid": os.getpid(), "interface": self.interface, "sas": count}
        if op is Op.ALLOCATE_SPI:
            return {"spi": engine.allocate_spi()}
        if op is Op.ADD_SA:
            params = sa_from_wire(field(body, "sa", dict, name), f"{name} sa")
            label = _label(body.get("label"), name)
            engine.add_sa(params)
            self.labels[params.sa_index] = label
            return {}
        if op is Op.UPDATE_SA:
            index = field(body, "sa_index", int, name)
            engine.update_sa(index, update_from_wire(field(body, "update", dict, name)))
            return {}
        if op is Op.DELETE_SA:
            index = field(body, "sa_index", int, name)
            engine.delete_sa(index)
            self.labels.pop(index, None)
            return {}
        if op is Op.SWITCH_OUTBOUND:
            engine.switch_outbound(field(body, "old", int, name), field(body, "new", int, name))
            return {}
        if op is Op.COUNTERS:
            return counters_to_wire(engine.counters(field(body, "sa_index", int, name)))
        if op is Op.POLL:
            engine.tick()
            with self._lock:
                events, self._events = list(self._events), collections.deque(maxlen=MAX_EVENTS)
            return {"events": [event_to_wire(e) for e in events]}
        assert op is Op.LIST_SAS
        return {"sas": self.list_sas()}

    def list_sas(self) -> list[dict[str, Any]]:
        """Every installed SA without keys, with its label and whether it is retired."""
        with self.engine.lock:
            params = list(self.engine.engine.sas())
            retired = self.engine.engine.retired()
        return [
            {
                **sa_summary(p),
                "label": self.labels.get(p.sa_index, {}),
                "retired": p.sa_index in retired,
            }
            for p in sorted(params, key=lambda p: p.sa_index)
        ]


def _label(value: Any, where: str) -> dict[str, Any]:
    """A flat object of short strings / integers / nulls (opaque to the engine)."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_LABEL:
        raise RpcError(f"{where}: label must be an object of at most {MAX_LABEL} fields")
    for key, item in value.items():
        ok = item is None or (isinstance(item, int | str) and not isinstance(item, bool))
        if not ok or len(str(item)) > MAX_LABEL_TEXT or len(key) > MAX_LABEL_TEXT:
            raise RpcError(f"{where}: label field {key[:32]!r} must be a short string or integer")
    return dict(value)
