"""One P4Runtime device: its pipeline, its state, and its packet path.

Everything a gRPC call or a port does to the switch goes through here, under
one lock, so table writes and packets never interleave halfway. The gRPC
layer (server.py) only translates between this object and the wire.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import grpc
from finsy.proto import p4i, p4r

from targets.p4sim.runtime import entities, table_entries
from targets.p4sim.runtime.arbitration import Arbitration, election_int
from targets.p4sim.runtime.bundle import Bundle
from targets.p4sim.runtime.errors import P4RTError, invalid, not_found, unimplemented
from targets.p4sim.runtime.packetio import ControllerHeader, controller_headers
from targets.p4sim.runtime.program import LoadedProgram, ProgramError
from targets.p4sim.runtime.table_codec import (
    ParamIds,
    param_ids_from_p4info,
)
from targets.p4sim.runtime.table_schema import Schemas
from targets.p4sim.runtime.wire_inserts import WireInserts
from targets.p4sim.state import StateError

log = logging.getLogger("p4sim.runtime")

Loader = Callable[[Bundle], LoadedProgram]
PacketInSink = Callable[[p4r.PacketIn], None]
EmitFn = Callable[[int, bytes], None]

_FAILED_PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
Action = p4r.SetForwardingPipelineConfigRequest.Action
RespType = p4r.GetForwardingPipelineConfigRequest.ResponseType
_PIPELINE_ACTIONS = (Action.VERIFY, Action.VERIFY_AND_SAVE, Action.VERIFY_AND_COMMIT, Action.COMMIT)


@dataclass
class Pipeline:
    config: p4r.ForwardingPipelineConfig
    program: LoadedProgram
    pids: ParamIds
    headers: dict[str, ControllerHeader]
    schemas: Schemas
    wire_inserts: WireInserts | None = None  # built at the first Write that brings its bytes


def _pipeline(config: p4r.ForwardingPipelineConfig, program: LoadedProgram) -> Pipeline:
    pids = param_ids_from_p4info(program.p4info)
    schemas = Schemas(program.state.tables, pids)
    return Pipeline(config, program, pids, controller_headers(program.p4info), schemas)


def _first_difference(want: p4i.P4Info, got: p4i.P4Info) -> str:
    for fd in p4i.P4Info.DESCRIPTOR.fields:
        a, b = getattr(want, fd.name), getattr(got, fd.name)
        if a != b:
            if fd.is_repeated:
                for x, y in zip(a, b, strict=False):
                    if x != y:
                        name = getattr(getattr(x, "preamble", None), "name", "")
                        return f"{fd.name} {name or ''}".strip()
                return f"{fd.name} (count {len(a)} vs {len(b)})"
            return fd.name
    return "?"


@contextmanager
def _gc_paused(before_resume: Callable[[], None] | None = None) -> Iterator[None]:
    """No cyclic GC while a batch is decoded or encoded.

    A batch of 1,000 entries allocates tens of thousands of small objects;
    every 700 of them the collector would scan the young generation, and now
    and then all of the table state: at 100,000 entries that was a third of a
    write's CPU time. Nothing a batch allocates forms cycles, so nothing waits
    for the collector; it runs as usual after the batch, unless ``before_resume``
    (the switch process's table_gc.py) has moved them out of its way first.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if before_resume is not None:
            before_resume()
        if enabled:
            gc.enable()


class Device:
    def __init__(self, loader: Loader, device_id: int = 0, cpu_port: int | None = None) -> None:
        self.loader = loader
        self.device_id = device_id
        self.cpu_port = cpu_port
        self.arbitration = Arbitration(device_id)
        self.lock = threading.RLock()
        self.pipeline: Pipeline | None = None
        self.saved: Pipeline | None = None
        self.packet_in_sink: PacketInSink | None = None
        self.emit: EmitFn | None = None
        self.tracer: Callable[[str], None] | None = None
        self.packet_errors = 0
        self.after_write: Callable[[], None] | None = None  # GC policy of a switch process

    # -- pipeline ------------------------------------------------------------
    def _verify(self, config: p4r.ForwardingPipelineConfig) -> Pipeline:
        if not config.HasField("p4info"):
            raise invalid("ForwardingPipelineConfig has no p4info")
        if not config.p4_device_config:
            raise invalid("ForwardingPipelineConfig has no p4_device_config (P4 source bundle)")
        try:
            program = self.loader(Bundle.decode(config.p4_device_config))
        except ProgramError as exc:
            raise invalid(f"device config: {exc}") from None
        if program.p4info != config.p4info:
            where = _first_difference(program.p4info, config.p4info)
            raise invalid(f"p4info does not match the program's (first difference: {where})")
        return _pipeline(config, program)

    def load_at_start(self, bundle: Bundle) -> None:
        """Commit a program given on the command line (its P4Info is the generated one)."""
        program = self.loader(bundle)
        config = p4r.ForwardingPipelineConfig(p4_device_config=bundle.encode())
        config.p4info.CopyFrom(program.p4info)
        with self.lock:
            self.pipeline = _pipeline(config, program)

    def set_pipeline(self, req: p4r.SetForwardingPipelineConfigRequest) -> None:
        eid, act = election_int(req.election_id), req.action
        self.arbitration.check_writer(req.device_id, eid, req.role)
        if act == Action.RECONCILE_AND_COMMIT:
            raise unimplemented("RECONCILE_AND_COMMIT is not supported")
        if act == Action.COMMIT and req.HasField("config"):
            raise invalid("COMMIT takes no config (it commits the saved one; spec 14)")
        if act not in (
            Action.VERIFY,
            Action.VERIFY_AND_SAVE,
            Action.VERIFY_AND_COMMIT,
            Action.COMMIT,
        ):
            raise invalid("SetForwardingPipelineConfig needs an action")
        # Compile outside the lock: the running pipeline keeps forwarding meanwhile.
        new = None if act == Action.COMMIT else self._verify(req.config)
        with self.lock:
            self.arbitration.check_writer(req.device_id, eid, req.role)  # still primary?
            if act == Action.VERIFY_AND_SAVE:
                self.saved = new
            elif act == Action.VERIFY_AND_COMMIT:
                self.pipeline, self.saved = new, None
            elif act == Action.COMMIT:
                if self.saved is None:
                    # spec 14: "Returns a NOT_FOUND error if no saved config is found"
                    raise not_found("COMMIT without a saved pipeline (VERIFY_AND_SAVE first)")
                self.pipeline, self.saved = self.saved, None
            if act in (Action.VERIFY_AND_COMMIT, Action.COMMIT):
                assert self.pipeline is not None
                log.info("pipeline committed (cookie %d)", self.pipeline.config.cookie.cookie)

    def get_pipeline(
        self, req: p4r.GetForwardingPipelineConfigRequest
    ) -> p4r.ForwardingPipelineConfig | None:
        """The config to answer with; None (config unset, not an error) before any (spec 15)."""
        if req.device_id != self.device_id:
            raise not_found(f"no device with id {req.device_id}")
        if req.response_type not in RespType.values():
            raise invalid(f"GetForwardingPipelineConfig: no response_type {req.response_type}")
        pipe = self.pipeline
        if pipe is None:
            return None
        out = p4r.ForwardingPipelineConfig()
        out.cookie.CopyFrom(pipe.config.cookie)
        if req.response_type in (RespType.ALL, RespType.P4INFO_AND_COOKIE):
            out.p4info.CopyFrom(pipe.config.p4info)
        if req.response_type in (RespType.ALL, RespType.DEVICE_CONFIG_AND_COOKIE):
            out.p4_device_config = pipe.config.p4_device_config
        return out

    def _require_pipeline(self) -> Pipeline:
        if self.pipeline is None:
            raise P4RTError(_FAILED_PRECONDITION, "no forwarding pipeline configured")
        return self.pipeline

    # -- write / read --------------------------------------------------------
    def write(self, req: p4r.WriteRequest, wire: bytes | None = None) -> list[P4RTError | None]:
        """Top-level problems raise; otherwise one result per update (None = OK).

        ``wire``, the request's serialized bytes when the caller has them (the
        gRPC server), lets INSERTs of the common shape be decoded from them
        (wire_inserts.py); the results are the same either way.
        """
        with self.lock, _gc_paused(self.after_write):
            self.arbitration.check_writer(req.device_id, election_int(req.election_id), req.role)
            pipe = self._require_pipeline()
            if req.atomicity != p4r.WriteRequest.CONTINUE_ON_ERROR:
                name = p4r.WriteRequest.Atomicity.Name(req.atomicity)
                raise unimplemented(f"atomicity {name} is not supported (use CONTINUE_ON_ERROR)")
            updates = req.updates

            def one(i: int) -> P4RTError | None:
                try:
                    self._update(pipe, updates[i])
                except P4RTError as exc:
                    return exc
                except StateError as exc:
                    return P4RTError.from_state(exc)
                return None

            if wire is None:
                return [one(i) for i in range(len(updates))]
            if pipe.wire_inserts is None:
                pipe.wire_inserts = WireInserts(pipe.schemas)
            return pipe.wire_inserts.write(wire, len(updates), one)

    def _update(self, pipe: Pipeline, upd: p4r.Update) -> None:
        if upd.type not in (p4r.Update.INSERT, p4r.Update.MODIFY, p4r.Update.DELETE):
            raise invalid("update type must be INSERT, MODIFY or DELETE")
        st = pipe.program.state
        entity = upd.entity
        if entity.WhichOneof("entity") == "table_entry":
            table_entries.write(st, pipe.schemas, upd.type, entity.table_entry)
        else:
            entities.write(st, upd.type, entity)

    def read(self, req: p4r.ReadRequest) -> Iterator[p4r.Entity]:
        """The entities a Read selects (for in-process users; the server sends bytes)."""
        return iter([p4r.Entity.FromString(data) for data in self.read_wire(req)])

    def read_wire(self, req: p4r.ReadRequest) -> list[bytes]:
        """The entities a Read selects, each as serialized ``p4.v1.Entity`` bytes."""
        if req.device_id != self.device_id:
            raise not_found(f"no device with id {req.device_id}")
        with self.lock, _gc_paused():
            pipe = self._require_pipeline()
            out: list[bytes] = []
            for ent in req.entities:
                if ent.WhichOneof("entity") is None:
                    # spec 11.2: the entity oneof must be set (no "read everything")
                    raise invalid("read request entity has no entity set")
                if ent.WhichOneof("entity") == "table_entry":
                    st = pipe.program.state
                    out.extend(table_entries.read(st, pipe.schemas, ent.table_entry))
                else:
                    found = entities.read(pipe.program.state, ent)
                    out.extend(e.SerializeToString() for e in found)
        return out

    # -- packets -------------------------------------------------------------
    def receive(self, port: int, frame: bytes) -> None:
        """A frame arrived on ``port``: run the pipeline and deliver its outputs."""
        with self.lock:
            pipe = self.pipeline
            if pipe is None:
                return  # no program: the switch drops everything, like BMv2 without one
            try:
                if self.tracer is not None and pipe.program.trace is not None:
                    outputs, lines = pipe.program.trace(port, frame)
                    for line in lines:
                        self.tracer(line)
                else:
                    outputs = pipe.program.process(port, frame)
            except Exception as exc:  # the executor must never take the switch down
                self.packet_errors += 1
                log.warning("port %d: packet of %d bytes dropped: %s", port, len(frame), exc)
                return
        for egress, data in outputs:
            if egress == self.cpu_port:
                self._to_controller(pipe, data)
            elif self.emit is not None:
                self.emit(egress, data)

    def _to_controller(self, pipe: Pipeline, frame: bytes) -> None:
        hdr = pipe.headers.get("packet_in")
        msg = p4r.PacketIn()
        if hdr is None:
            msg.payload = frame
        else:
            try:
                metadata, msg.payload = hdr.unpack(frame)
            except ValueError as exc:
                log.warning("packet to CPU port dropped: %s", exc)
                return
            msg.metadata.extend(metadata)
        if self.packet_in_sink is not None:
            self.packet_in_sink(msg)

    def packet_out(self, msg: p4r.PacketOut) -> None:
        """Inject a PacketOut at the CPU port with its packet_out header in front."""
        pipe = self._require_pipeline()
        if self.cpu_port is None:
            raise P4RTError(_FAILED_PRECONDITION, "no CPU port configured (--cpu-port)")
        hdr = pipe.headers.get("packet_out")
        if hdr is None:
            if msg.metadata:
                raise invalid("the program has no packet_out header for metadata")
            frame = msg.payload
        else:
            frame = hdr.pack(list(msg.metadata)) + msg.payload
        self.receive(self.cpu_port, frame)
