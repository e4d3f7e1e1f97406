"""Asyncio P4Runtime client: pipeline, Write/Read/reconcile, packet I/O.

One ``P4RuntimeClient`` holds one gRPC channel and one arbitrated StreamChannel
(``stream``) to a device. Listeners added with ``on_primary`` hear every change
of primaryship (True: we became primary; False: lost it, e.g. the switch
restarted), so the application can re-push pipeline and state; ``status`` says
why (the server's last arbitration answer). ``arbitrate`` re-sends arbitration on
the open stream with another election ID -- under P4Runtime spec 5.3 the way a
backup takes over once the primary has left (nobody is promoted).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import grpc
from finsy.proto import p4i, p4r, p4r_grpc

from controller.p4rt import entities as e
from controller.p4rt.canonical import entity_string
from controller.p4rt.codec import Codec
from controller.p4rt.encoder import WriteEncoder, request
from controller.p4rt.errors import NotPrimaryError, P4RuntimeClientError, RpcError
from controller.p4rt.reconcile import Plan, check_scope, diff
from controller.p4rt.schema import P4Schema
from controller.p4rt.stream import ArbitrationStatus, StreamChannel
from controller.p4rt.write import decode_write_error

log = logging.getLogger(__name__)

# A Write whose updates fail answers one p4.v1.Error per update in a trailer
# (P4Runtime spec 12.3): ~40 bytes each plus its message, far beyond gRPC's
# default 8 KiB metadata limit for a batch of 1,000. We accept up to
# METADATA_MAX and tell servers that honour it (p4sim) so with ERROR_DETAILS_KEY.
METADATA_MAX = 4 << 20
ERROR_DETAILS_KEY = "p4rt-error-details-max"
_GRPC_OPTIONS = [
    ("grpc.max_send_message_length", 64 << 20),
    ("grpc.max_receive_message_length", 64 << 20),
    ("grpc.max_metadata_size", METADATA_MAX),
    ("grpc.absolute_max_metadata_size", METADATA_MAX),
]
_WRITE_METADATA = ((ERROR_DETAILS_KEY, str(METADATA_MAX - 64 * 1024)),)


class P4RuntimeClient:
    """A P4Runtime controller for one device and role."""

    def __init__(
        self,
        address: str,
        device_id: int = 1,
        election_id: int = 1,
        role: str = "",
        *,
        batch_size: int = 500,
        backoff: tuple[float, float] = (0.1, 5.0),
        rpc_timeout: float = 60.0,
    ) -> None:
        self.address = address
        self.device_id = device_id
        self.role = role
        self.batch_size = batch_size
        self.backoff = backoff
        # A switch that stops answering must not hang the controller forever.
        self.rpc_timeout = rpc_timeout
        self.codec: Codec | None = None
        self.packet_ins: asyncio.Queue[e.PacketIn] = asyncio.Queue(maxsize=4096)
        self.dropped_packet_ins = 0
        self._channel: grpc.aio.Channel | None = None
        self._encoder: WriteEncoder | None = None
        self._write_call: Any = None
        # Any: finsy's generated stub types describe the sync API, we use grpc.aio's.
        self._stub: Any = None
        self._stream = StreamChannel(
            address, device_id, election_id, role, backoff, self._on_packet_in
        )

    # -- connection and arbitration ------------------------------------------------------

    @property
    def is_primary(self) -> bool:
        return self._stream.primary

    @property
    def election_id(self) -> int:
        """The election ID this client arbitrates and writes with."""
        return self._stream.election_id

    @property
    def status(self) -> ArbitrationStatus | None:
        """The server's last arbitration answer (None before the first)."""
        return self._stream.status

    async def arbitrate(
        self, election_id: int, timeout: float = 10.0, *, require_primary: bool = True
    ) -> ArbitrationStatus:
        """Re-arbitrate on the open stream with ``election_id`` (spec 5.3).

        Use it to take over after the primary left (the server says NOT_FOUND and
        promotes nobody): the ID must be >= ``status.highest`` and unused by any
        other open stream. The new ID is kept for Writes and for reconnects.
        Raises NotPrimaryError if the server refuses the ID, does not answer, or
        (with ``require_primary``) does not make us primary.
        """
        status = await self._stream.arbitrate(election_id, timeout)
        if require_primary and not self.is_primary:
            raise NotPrimaryError(
                f"P4Runtime {self.address} device {self.device_id}: {status.describe(election_id)}"
            )
        return status

    def on_primary(self, listener: Callable[[bool], None]) -> None:
        """Call ``listener(True/False)`` whenever primaryship is gained or lost."""
        self._stream.on_primary(listener)

    async def connect(self, timeout: float = 10.0, *, require_primary: bool = True) -> None:
        """Open the channel and stream; wait until arbitration answers (and we are primary)."""
        self._channel = grpc.aio.insecure_channel(self.address, options=_GRPC_OPTIONS)
        self._stub = p4r_grpc.P4RuntimeStub(self._channel)
        self._stream.start(self._stub)
        try:
            await asyncio.wait_for(self._stream.arbitrated.wait(), timeout)
            if require_primary:
                await asyncio.wait_for(self._stream.primary_event.wait(), timeout)
        except TimeoutError:
            await self.close()
            what = "primary" if self._stream.arbitrated.is_set() else "arbitration answer"
            raise NotPrimaryError(
                f"P4Runtime {self.address} device {self.device_id}: no {what} within {timeout}s"
            ) from None

    async def close(self) -> None:
        await self._stream.stop()
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = None
            self._write_call = None

    async def __aenter__(self) -> P4RuntimeClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _on_packet_in(self, msg: p4r.PacketIn) -> None:
        if self.codec is None:
            log.warning("p4rt: PacketIn before a pipeline is known; dropped")
            self.dropped_packet_ins += 1
            return
        try:
            pkt = self.codec.decode_packet_in(msg)
        except P4RuntimeClientError as exc:
            log.warning("p4rt: bad PacketIn dropped: %s", exc)
            self.dropped_packet_ins += 1
            return
        try:
            self.packet_ins.put_nowait(pkt)
        except asyncio.QueueFull:
            self.dropped_packet_ins += 1

    # -- pipeline ------------------------------------------------------------------------

    def _stub_or_fail(self) -> Any:
        if self._stub is None:
            raise P4RuntimeClientError(f"P4Runtime {self.address}: not connected")
        return self._stub

    def _uint128(self) -> p4r.Uint128:
        return p4r.Uint128(high=self.election_id >> 64, low=self.election_id & ((1 << 64) - 1))

    def use_pipeline(self, p4info: p4i.P4Info) -> None:
        """Use ``p4info`` for names <-> IDs without pushing it (e.g. after a daemon restart)."""
        self.codec = Codec(P4Schema(p4info))
        self._encoder = WriteEncoder(self.codec)

    async def set_pipeline(
        self,
        p4info: p4i.P4Info,
        device_config: bytes,
        *,
        action: str = "VERIFY_AND_COMMIT",
        cookie: int = 0,
    ) -> None:
        """SetForwardingPipelineConfig, then use its P4Info for encoding."""
        req = p4r.SetForwardingPipelineConfigRequest(
            device_id=self.device_id,
            role=self.role,
            election_id=self._uint128(),
            action=p4r.SetForwardingPipelineConfigRequest.Action.Value(action),
        )
        req.config.p4info.CopyFrom(p4info)
        req.config.p4_device_config = device_config
        req.config.cookie.cookie = cookie
        await self._unary("SetForwardingPipelineConfig", req)
        if action != "VERIFY":
            self.use_pipeline(p4info)

    async def get_pipeline(self) -> p4r.ForwardingPipelineConfig:
        """GetForwardingPipelineConfig (ALL); also adopts the P4Info when it has one."""
        req = p4r.GetForwardingPipelineConfigRequest(device_id=self.device_id)
        resp = await self._unary("GetForwardingPipelineConfig", req)
        if resp.config.HasField("p4info") and resp.config.p4info.tables:
            self.use_pipeline(resp.config.p4info)
        config: p4r.ForwardingPipelineConfig = resp.config
        return config

    async def capabilities(self) -> str:
        """The server's P4Runtime API version string."""
        resp = await self._unary("Capabilities", p4r.CapabilitiesRequest())
        return str(resp.p4runtime_api_version)

    async def _unary(self, rpc: str, req: object) -> Any:
        method = getattr(self._stub_or_fail(), rpc)
        try:
            return await method(req, timeout=self.rpc_timeout)
        except grpc.aio.AioRpcError as exc:
            raise RpcError(rpc, exc.code().name, exc.details() or "") from None

    # -- write and read ------------------------------------------------------------------

    def _codec(self) -> Codec:
        if self.codec is None:
            raise P4RuntimeClientError("no pipeline: call set_pipeline or use_pipeline first")
        return self.codec

    async def write(self, updates: list[p4r.Update]) -> None:
        """Write encoded updates in batches; raise WriteError listing every failed update."""
        size = self.batch_size
        batches = (
            [u.SerializeToString() for u in updates[i : i + size]]
            for i in range(0, len(updates), size)
        )
        await self._write_batches(batches)

    async def _write_entities(
        self, kind: p4r.Update.Type.ValueType, entities: Iterable[e.Entity]
    ) -> None:
        encoder = self._encoder
        if encoder is None:
            raise P4RuntimeClientError("no pipeline: call set_pipeline or use_pipeline first")
        ents = list(entities)
        size = self.batch_size
        batches = (encoder.updates(kind, ents[i : i + size]) for i in range(0, len(ents), size))
        await self._write_batches(batches)

    async def _write_batches(self, batches: Iterator[list[bytes]]) -> None:
        """One Write per batch of serialized updates, in order, each sent once the one
        before it is answered; the next batch is encoded while one is in flight.

        An entity that cannot be encoded stops the write at its batch, as a failed
        update does: the batches before it are written (a failure among them is
        reported first, being earlier).
        """
        write = self._write_rpc()
        head = (self.device_id, self.election_id, self.role)
        pending: tuple[Any, list[bytes], int] | None = None
        start = 0
        try:
            while True:
                try:
                    batch = next(batches)
                except StopIteration:
                    break
                except P4RuntimeClientError:
                    if pending is not None:
                        await self._answered(*pending)
                    raise
                if pending is not None:
                    await self._answered(*pending)
                call = write(
                    request(*head, batch), timeout=self.rpc_timeout, metadata=_WRITE_METADATA
                )
                pending = (call, batch, start)
                start += len(batch)
                await asyncio.sleep(0)  # let the call start before encoding the next batch
            if pending is not None:
                await self._answered(*pending)
        finally:
            if pending is not None and not pending[0].done():
                pending[0].cancel()

    async def _answered(self, call: Any, batch: list[bytes], start: int) -> None:
        try:
            await call
        except grpc.aio.AioRpcError as exc:
            raise decode_write_error(exc, batch, self.codec, start) from None

    def _write_rpc(self) -> Any:
        """The Write method taking a serialized WriteRequest (made once per channel)."""
        if self._write_call is None:
            if self._channel is None:
                raise P4RuntimeClientError(f"P4Runtime {self.address}: not connected")
            self._write_call = self._channel.unary_unary(
                "/p4.v1.P4Runtime/Write",
                request_serializer=bytes,
                response_deserializer=p4r.WriteResponse.FromString,
            )
        return self._write_call

    async def insert(self, entities: Iterable[e.Entity]) -> None:
        await self._write_entities(p4r.Update.INSERT, entities)

    async def modify(self, entities: Iterable[e.Entity]) -> None:
        await self._write_entities(p4r.Update.MODIFY, entities)

    async def delete(self, entities: Iterable[e.Entity]) -> None:
        await self._write_entities(p4r.Update.DELETE, entities)

    async def read_raw(self, entities: Iterable[p4r.Entity]) -> list[p4r.Entity]:
        req = p4r.ReadRequest(device_id=self.device_id, role=self.role)
        req.entities.extend(entities)
        if not req.entities:
            return []  # nothing asked; an empty Read is an error on some servers
        out: list[p4r.Entity] = []
        try:
            async for resp in self._stub_or_fail().Read(req, timeout=self.rpc_timeout):
                out.extend(resp.entities)
        except grpc.aio.AioRpcError as exc:
            raise RpcError("Read", exc.code().name, exc.details() or "") from None
        return out

    async def read(self, entities: Iterable[e.Entity]) -> list[e.Entity]:
        """Read with wildcards: ``TableEntry("vrf_fib")`` reads every entry of the table."""
        codec = self._codec()
        raw = await self.read_raw(codec.encode(ent, for_read=True) for ent in entities)
        return [codec.decode(msg) for msg in raw]

    async def reconcile(
        self, desired: Iterable[e.Entity], scope: Iterable[e.Entity], *, order: Iterable[str] = ()
    ) -> Plan:
        """Read ``scope`` (wildcards), diff against ``desired``, write only the difference.

        ``scope`` names what this caller manages: entries found there and not desired
        are deleted. Every desired table entry must lie in scope (else P4ValueError);
        default entries among ``desired`` are read and compared automatically.
        """
        codec = self._codec()
        wanted = [codec.encode(ent) for ent in desired]
        reads = [codec.encode(ent, for_read=True) for ent in scope]
        # Wildcard reads never return default entries (spec 9.1.4): read the ones we
        # manage explicitly, or they would be rewritten on every pass.
        for msg in wanted:
            if msg.WhichOneof("entity") == "table_entry" and msg.table_entry.is_default_action:
                read = p4r.Entity()
                read.table_entry.table_id = msg.table_entry.table_id
                read.table_entry.is_default_action = True
                reads.append(read)
        check_scope(codec, wanted, reads)
        current = await self.read_raw(reads)
        plan = diff(codec, wanted, current, order=tuple(order))
        for phase in plan.phases:
            await self.write(phase)
        return plan

    async def dump_tables(self) -> list[str]:
        """Every table entry on the switch as sorted canonical strings (``show tables``)."""
        entries = await self.read([e.TableEntry("*")])
        return sorted(self.entry_string(ent) for ent in entries)

    def entry_string(self, ent: e.Entity) -> str:
        """The canonical readable string of an entity (see ``canonical``)."""
        return entity_string(self._codec(), ent)

    # -- packet I/O ----------------------------------------------------------------------

    async def packet_out(self, pkt: e.PacketOut) -> None:
        """Queue a PacketOut on the stream (metadata by name)."""
        if not self.is_primary:
            raise NotPrimaryError(f"P4Runtime {self.address}: PacketOut needs primaryship")
        req = p4r.StreamMessageRequest()
        req.packet.CopyFrom(self._codec().encode_packet_out(pkt))
        await self._stream.send(req)

    async def packet_in(self, timeout: float | None = None) -> e.PacketIn:
        """The next PacketIn (metadata decoded by name)."""
        return await asyncio.wait_for(self.packet_ins.get(), timeout)
