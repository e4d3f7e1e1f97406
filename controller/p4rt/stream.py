"""The StreamChannel of one P4Runtime client: arbitration, primaryship, packets.

P4Runtime spec v1.4 section 5 ("Client arbitration and controller
replication"): a controller opens the bidirectional stream, sends a
MasterArbitrationUpdate with its device ID, role and election ID, and is primary
while the server's arbitration answers say OK for its election ID. A background
task keeps the stream open; when it breaks (switch restart, network), the task
reopens it with exponential back-off and arbitrates again. Listeners hear every
change of primaryship, which is the application's cue to re-push state.

The stream reconnects with the same election ID, so a lone controller regains
primaryship by itself. It never raises its ID on its own: under spec 5.3 a
server does not promote a backup when the primary leaves (every stream hears
NOT_FOUND), and a backup takes over only by sending an election ID >= the
highest the server has seen -- ``arbitrate`` does that on the open stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from finsy.proto import p4r, rpc_code

from controller.p4rt.errors import NotPrimaryError

log = logging.getLogger(__name__)

_CODE_NAMES = {v: k for k, v in rpc_code.Code.items()}


@dataclass(frozen=True)
class ArbitrationStatus:
    """The last MasterArbitrationUpdate the server sent us (spec 5.4).

    ``highest`` is the server's election_id_past (None while it never had a
    primary); ``code`` is OK (we are primary), ALREADY_EXISTS (another
    controller is) or NOT_FOUND (nobody is).
    """

    code: str
    message: str
    highest: int | None

    def describe(self, ours: int) -> str:
        if self.code == "OK":
            return f"primary with election id {ours}"
        if self.code == "ALREADY_EXISTS":
            return f"backup: election id {self.highest} is primary (ours {ours})"
        if self.code == "NOT_FOUND":
            need = "any" if self.highest is None else f">= {self.highest}"
            return f"no primary controller; arbitrate with an election id {need} (ours {ours})"
        return f"arbitration answered {self.code}: {self.message} (ours {ours})"


class StreamChannel:
    """Keeps one arbitrated stream open to a device and reports primaryship."""

    def __init__(
        self,
        address: str,
        device_id: int,
        election_id: int,
        role: str,
        backoff: tuple[float, float],
        on_packet: Callable[[p4r.PacketIn], None],
    ) -> None:
        self.address = address
        self.device_id = device_id
        self.election_id = election_id
        self.role = role
        self.backoff = backoff
        self._on_packet = on_packet
        self._outbox: asyncio.Queue[p4r.StreamMessageRequest] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.primary = False
        self.primary_event = asyncio.Event()
        self.arbitrated = asyncio.Event()
        self.status: ArbitrationStatus | None = None
        self._listeners: list[Callable[[bool], None]] = []
        # Set by every arbitration answer and by a stream failure: what
        # ``arbitrate`` waits for; _failure says why the stream ended.
        self._answered = asyncio.Event()
        self._failure: str | None = None

    def on_primary(self, listener: Callable[[bool], None]) -> None:
        self._listeners.append(listener)

    def start(self, stub: Any) -> None:
        self._task = asyncio.create_task(self._run(stub), name=f"p4rt-stream-{self.address}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._set_primary(False)

    async def send(self, req: p4r.StreamMessageRequest) -> None:
        """Queue a message; it goes out on the current (or next) stream."""
        await self._outbox.put(req)

    async def arbitrate(self, election_id: int, timeout: float) -> ArbitrationStatus:
        """Send a MasterArbitrationUpdate with ``election_id`` on the open stream.

        Returns the server's answer. If the server refuses the ID (e.g. another
        controller uses it, spec 5.3: INVALID_ARGUMENT closes the stream) the
        previous ID is restored, so the reconnecting stream does not repeat the
        refused one, and NotPrimaryError says why.
        """
        if self._task is None:
            raise NotPrimaryError(f"P4Runtime {self.address}: arbitrate before connect")
        previous, self.election_id = self.election_id, election_id
        self._answered.clear()
        self._failure = None
        await self._outbox.put(self._arbitration())
        try:
            await asyncio.wait_for(self._answered.wait(), timeout)
        except TimeoutError:
            self.election_id = previous
            raise NotPrimaryError(
                f"P4Runtime {self.address} device {self.device_id}: no answer to "
                f"election id {election_id} within {timeout}s"
            ) from None
        if self._failure is not None:
            self.election_id = previous
            raise NotPrimaryError(
                f"P4Runtime {self.address} device {self.device_id}: election id "
                f"{election_id} refused: {self._failure}"
            )
        assert self.status is not None  # set with every arbitration answer
        return self.status

    def _arbitration(self) -> p4r.StreamMessageRequest:
        req = p4r.StreamMessageRequest()
        arb = req.arbitration
        arb.device_id = self.device_id
        arb.election_id.high = self.election_id >> 64
        arb.election_id.low = self.election_id & ((1 << 64) - 1)
        if self.role:
            arb.role.name = self.role
        return req

    def _set_primary(self, primary: bool) -> None:
        if primary == self.primary:
            return
        self.primary = primary
        if primary:
            self.primary_event.set()
        else:
            self.primary_event.clear()
        log.info("p4rt %s device %d: primary=%s", self.address, self.device_id, primary)
        for listener in self._listeners:
            try:
                listener(primary)
            except Exception:  # a faulty listener must not stop the stream task
                log.exception("p4rt: primaryship listener failed")

    async def _requests(self) -> AsyncIterator[p4r.StreamMessageRequest]:
        yield self._arbitration()
        while True:
            yield await self._outbox.get()

    async def _run(self, stub: Any) -> None:
        delay = self.backoff[0]
        answered = False  # until the switch first answers, a refusal is it starting up
        while True:
            call = stub.StreamChannel(self._requests())
            try:
                async for resp in call:
                    delay = self.backoff[0]
                    answered = True
                    self._handle(resp)
                reason = "stream closed by the switch"
            except grpc.aio.AioRpcError as exc:
                reason = f"{exc.code().name}: {exc.details()}"
            finally:
                call.cancel()
            self._failure = reason
            self._answered.set()
            self._set_primary(False)
            level = logging.WARNING if answered else logging.INFO
            log.log(level, "p4rt %s: %s; reconnecting in %.1fs", self.address, reason, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff[1])

    def _handle(self, resp: p4r.StreamMessageResponse) -> None:
        kind = resp.WhichOneof("update")
        if kind == "arbitration":
            arb = resp.arbitration
            # The answer carries the primary's election ID; OK means that is us.
            eid = (arb.election_id.high << 64) | arb.election_id.low
            code = _CODE_NAMES.get(arb.status.code, str(arb.status.code))
            self.status = ArbitrationStatus(
                code, arb.status.message, eid if arb.HasField("election_id") else None
            )
            primary = code == "OK" and eid == self.election_id
            if self.primary and not primary:
                # The application hears on_primary(False); the log says why and
                # what it would take to be primary again.
                log.warning(
                    "p4rt %s device %d: lost primaryship: %s",
                    self.address,
                    self.device_id,
                    self.status.describe(self.election_id),
                )
            self.arbitrated.set()
            self._answered.set()
            self._set_primary(primary)
        elif kind == "packet":
            self._on_packet(resp.packet)
        elif kind == "error":
            err = resp.error
            log.warning("p4rt stream error %d: %s", err.canonical_code, err.message)
