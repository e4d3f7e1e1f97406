"""The P4Runtime v1 gRPC service of p4sim (grpc.aio), over a :class:`Device`.

Error reporting follows P4Runtime spec section 12 (Error Reporting): a
request-level problem aborts the RPC with its canonical code; a Write whose
updates were tried returns UNKNOWN with one ``p4.v1.Error`` per update (OK
ones included) in the ``google.rpc.Status`` details when any update failed,
sized to what the client can read (write_status.py).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Hashable
from typing import Any, NamedTuple

import grpc
from finsy.proto import p4r, p4r_grpc
from google.protobuf.message import DecodeError, Message  # type: ignore[import-untyped]

from targets.p4sim.runtime.arbitration import election_int
from targets.p4sim.runtime.device import Device
from targets.p4sim.runtime.errors import P4RTError
from targets.p4sim.runtime.table_schema import field
from targets.p4sim.runtime.write_status import client_limit, write_failure

log = logging.getLogger("p4sim.runtime")

API_VERSION = "1.4.1"
READ_CHUNK = 1000  # entities per ReadResponse
READ_ENTITIES = 0x0A  # p4.v1.ReadResponse field 1 (entities), length-delimited
STREAM_QUEUE_LIMIT = 4096  # PacketIns queued for a slow controller before dropping


class _Stream:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[p4r.StreamMessageResponse | P4RTError | None] = asyncio.Queue()
        self.arbitrated = False


class Malformed:
    """A request body that is not a valid encoding of the RPC's message."""

    def __init__(self, kind: type[Message], exc: Exception) -> None:
        self.error = P4RTError(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"request is not a valid {kind.DESCRIPTOR.full_name}: {exc}",
        )


def _decoder(kind: type[Message]) -> Callable[[bytes], Any]:
    """Decode a request; a bad encoding becomes a :class:`Malformed` for the method
    to refuse with INVALID_ARGUMENT (grpc would log a traceback and answer UNKNOWN)."""

    def decode(data: bytes) -> Message | Malformed:
        try:
            return kind.FromString(data)
        except (DecodeError, ValueError, RecursionError) as exc:
            return Malformed(kind, exc)

    return decode


class _WriteCall(NamedTuple):
    """A decoded WriteRequest with the bytes it came from (for the wire fast path)."""

    request: p4r.WriteRequest
    wire: bytes


_decode_write = _decoder(p4r.WriteRequest)


def _write_decoder(data: bytes) -> _WriteCall | Malformed:
    request = _decode_write(data)
    return request if isinstance(request, Malformed) else _WriteCall(request, data)


def _refuse_malformed(method: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a unary-request method: a :class:`Malformed` request aborts the RPC."""
    if inspect.isasyncgenfunction(method):

        @functools.wraps(method)
        async def agen(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            if isinstance(request, Malformed):
                await _abort(context, request.error)
                return
            async for item in method(request, context):
                yield item

        return agen

    @functools.wraps(method)
    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, Malformed):
            await _abort(context, request.error)
        return await method(request, context)

    return unary


async def _abort(context: grpc.aio.ServicerContext, err: P4RTError) -> None:
    await context.abort(err.code, err.message)


class P4RuntimeServicer(p4r_grpc.P4RuntimeServicer):
    def __init__(self, device: Device) -> None:
        self.device = device
        self.streams: dict[Hashable, _Stream] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self.packet_in_dropped = 0

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Route the device's PacketIns (from any thread) to the primary's stream."""
        self.loop = loop
        self.device.packet_in_sink = self._packet_in_threadsafe

    # -- unary RPCs ----------------------------------------------------------
    async def Capabilities(
        self, request: p4r.CapabilitiesRequest, context: grpc.aio.ServicerContext
    ) -> p4r.CapabilitiesResponse:
        return p4r.CapabilitiesResponse(p4runtime_api_version=API_VERSION)

    async def SetForwardingPipelineConfig(
        self, request: p4r.SetForwardingPipelineConfigRequest, context: grpc.aio.ServicerContext
    ) -> p4r.SetForwardingPipelineConfigResponse:
        try:
            await asyncio.to_thread(self.device.set_pipeline, request)
        except P4RTError as err:
            await _abort(context, err)
        return p4r.SetForwardingPipelineConfigResponse()

    async def GetForwardingPipelineConfig(
        self, request: p4r.GetForwardingPipelineConfigRequest, context: grpc.aio.ServicerContext
    ) -> p4r.GetForwardingPipelineConfigResponse:
        try:
            config = self.device.get_pipeline(request)
        except P4RTError as err:
            await _abort(context, err)
        if config is None:
            return p4r.GetForwardingPipelineConfigResponse()  # no pipeline: config unset
        return p4r.GetForwardingPipelineConfigResponse(config=config)

    async def Write(
        self,
        request: p4r.WriteRequest,
        context: grpc.aio.ServicerContext,
        wire: bytes | None = None,
    ) -> p4r.WriteResponse:
        try:
            results = self.device.write(request, wire)
        except P4RTError as err:
            await _abort(context, err)
        if any(r is not None for r in results):
            limit = client_limit(context.invocation_metadata())
            message, details = write_failure(results, limit)
            trailer = () if details is None else (("grpc-status-details-bin", details),)
            await context.abort(grpc.StatusCode.UNKNOWN, message, trailing_metadata=trailer)
        return p4r.WriteResponse()

    async def Read(  # type: ignore[override]  # answers serialized ReadResponses
        self, request: p4r.ReadRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        """Serialized ReadResponses, built in bulk from the entities' bytes."""
        try:
            found = self.device.read_wire(request)
        except P4RTError as err:
            await _abort(context, err)
            return
        for i in range(0, max(len(found), 1), READ_CHUNK):
            yield b"".join([field(READ_ENTITIES, e) for e in found[i : i + READ_CHUNK]])

    async def write_call(
        self, call: _WriteCall, context: grpc.aio.ServicerContext
    ) -> p4r.WriteResponse:
        return await self.Write(call.request, context, call.wire)

    # -- stream channel --------------------------------------------------------
    async def StreamChannel(
        self,
        request_iterator: AsyncIterator[p4r.StreamMessageRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[p4r.StreamMessageResponse]:
        stream = _Stream()
        self.streams[stream] = stream
        reader = asyncio.create_task(self._read_stream(stream, request_iterator))
        try:
            while True:
                item = await stream.queue.get()
                if item is None:
                    return
                if isinstance(item, P4RTError):
                    await _abort(context, item)
                    return
                yield item
        finally:
            reader.cancel()
            del self.streams[stream]
            self._send(self.device.arbitration.remove(stream))

    async def _read_stream(
        self, stream: _Stream, requests: AsyncIterator[p4r.StreamMessageRequest]
    ) -> None:
        try:
            async for msg in requests:
                if isinstance(msg, Malformed):
                    stream.queue.put_nowait(msg.error)
                    return
                which = msg.WhichOneof("update")
                if which == "arbitration":
                    try:
                        updates = self.device.arbitration.update(stream, msg.arbitration)
                    except P4RTError as err:
                        stream.queue.put_nowait(err)
                        return
                    stream.arbitrated = True
                    self._send(updates)
                elif which == "packet":
                    self._packet_out(stream, msg.packet)
                else:
                    self._stream_error(
                        stream, P4RTError(grpc.StatusCode.UNIMPLEMENTED, f"{which} not supported")
                    )
        except (asyncio.CancelledError, grpc.aio.AioRpcError):
            pass
        except Exception as exc:  # a broken stream must not take the server down
            log.warning("stream channel closed: %s", exc)
        stream.queue.put_nowait(None)

    def _packet_out(self, stream: _Stream, packet: p4r.PacketOut) -> None:
        if not self.device.arbitration.is_primary_stream(stream):
            err = P4RTError(grpc.StatusCode.PERMISSION_DENIED, "PacketOut from a non-primary")
            self._stream_error(stream, err, packet)
            return
        try:
            self.device.packet_out(packet)
        except P4RTError as err:
            self._stream_error(stream, err, packet)

    def _stream_error(
        self, stream: _Stream, err: P4RTError, packet: p4r.PacketOut | None = None
    ) -> None:
        out = p4r.StreamMessageResponse()
        out.error.canonical_code = err.rpc_code
        out.error.message = err.message
        if packet is not None:
            out.error.packet_out.packet_out.CopyFrom(packet)
        stream.queue.put_nowait(out)

    def _send(self, updates: list[tuple[Hashable, p4r.MasterArbitrationUpdate]]) -> None:
        for target, upd in updates:
            s = self.streams.get(target)
            if s is not None:
                s.queue.put_nowait(p4r.StreamMessageResponse(arbitration=upd))

    # -- packet-in -------------------------------------------------------------
    def _packet_in_threadsafe(self, msg: p4r.PacketIn) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._packet_in, msg)

    def _packet_in(self, msg: p4r.PacketIn) -> None:
        primary = next(
            (s for s in self.streams.values() if self.device.arbitration.is_primary_stream(s)),
            None,
        )
        if primary is None or primary.queue.qsize() >= STREAM_QUEUE_LIMIT:
            self.packet_in_dropped += 1
            return
        primary.queue.put_nowait(p4r.StreamMessageResponse(packet=msg))


def _add_servicer(servicer: P4RuntimeServicer, server: grpc.aio.Server) -> None:
    """Register the service as the generated code does, but with Read answering bytes."""
    handlers = {
        "Write": grpc.unary_unary_rpc_method_handler(
            _refuse_malformed(servicer.write_call),
            _write_decoder,
            p4r.WriteResponse.SerializeToString,
        ),
        "Read": grpc.unary_stream_rpc_method_handler(
            _refuse_malformed(servicer.Read), _decoder(p4r.ReadRequest), bytes
        ),
        "SetForwardingPipelineConfig": grpc.unary_unary_rpc_method_handler(
            _refuse_malformed(servicer.SetForwardingPipelineConfig),
            _decoder(p4r.SetForwardingPipelineConfigRequest),
            p4r.SetForwardingPipelineConfigResponse.SerializeToString,
        ),
        "GetForwardingPipelineConfig": grpc.unary_unary_rpc_method_handler(
            _refuse_malformed(servicer.GetForwardingPipelineConfig),
            _decoder(p4r.GetForwardingPipelineConfigRequest),
            p4r.GetForwardingPipelineConfigResponse.SerializeToString,
        ),
        "StreamChannel": grpc.stream_stream_rpc_method_handler(
            servicer.StreamChannel,
            _decoder(p4r.StreamMessageRequest),
            p4r.StreamMessageResponse.SerializeToString,
        ),
        "Capabilities": grpc.unary_unary_rpc_method_handler(
            _refuse_malformed(servicer.Capabilities),
            _decoder(p4r.CapabilitiesRequest),
            p4r.CapabilitiesResponse.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("p4.v1.P4Runtime", handlers),)
    )


async def start_server(device: Device, address: str) -> tuple[grpc.aio.Server, int]:
    """Start serving ``device`` on ``address`` (host:port, port 0 = any); the bound port."""
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", 256 * 1024 * 1024),
            ("grpc.max_send_message_length", 256 * 1024 * 1024),
        ]
    )
    servicer = P4RuntimeServicer(device)
    servicer.attach(asyncio.get_running_loop())
    _add_servicer(servicer, server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen on {address}")
    await server.start()
    return server, port


__all__ = ["P4RuntimeServicer", "election_int", "start_server"]
