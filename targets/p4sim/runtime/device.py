"""One P4Runtime device: its pipeline, its state, and its packet path.

Everything a gRPC call or a port does to the switch goes through here, under
one lock, so table writes and packets never interleave halfway. The gRPC
layer (server.py) only translates between this object and the wire.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
from finsy.proto import p4i, p4r

from targets.p4sim.runtime import entities
from targets.p4sim.runtime.arbitration import Arbitration, election_int
from targets.p4sim.runtime.bundle import Bundle
from targets.p4sim.runtime.errors import P4RTError, invalid, not_found, unimplemented
from targets.p4sim.runtime.packetio import ControllerHeader, controller_headers
from targets.p4sim.runtime.program import LoadedProgram, ProgramError, ProgramState
from targets.p4sim.runtime.table_codec import (
    ParamIds,
    decode_action,
    decode_matches,
    encode_entry,
    entry_from_msg,
    find_table,
    param_ids_from_p4info,
)
from targets.p4sim.state import StateError, Table, TableEntry

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
        pids = param_ids_from_p4info(program.p4info)
        return Pipeline(config, program, pids, controller_headers(program.p4info))

    def load_at_start(self, bundle: Bundle) -> None:
        """Commit a program given on the command line (its P4Info is the generated one)."""
        program = self.loader(bundle)
        config = p4r.ForwardingPipelineConfig(p4_device_config=bundle.encode())
        config.p4info.CopyFrom(program.p4info)
        with self.lock:
            pids = param_ids_from_p4info(program.p4info)
            self.pipeline = Pipeline(config, program, pids, controller_headers(program.p4info))

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
    def write(self, req: p4r.WriteRequest) -> list[P4RTError | None]:
        """Top-level problems raise; otherwise one result per update (None = OK)."""
        with self.lock:
            self.arbitration.check_writer(req.device_id, election_int(req.election_id), req.role)
            pipe = self._require_pipeline()
            if req.atomicity != p4r.WriteRequest.CONTINUE_ON_ERROR:
                name = p4r.WriteRequest.Atomicity.Name(req.atomicity)
                raise unimplemented(f"atomicity {name} is not supported (use CONTINUE_ON_ERROR)")
            results: list[P4RTError | None] = []
            for upd in req.updates:
                try:
                    self._update(pipe, upd)
                    results.append(None)
                except P4RTError as exc:
                    results.append(exc)
                except StateError as exc:
                    results.append(P4RTError.from_state(exc))
            return results

    def _update(self, pipe: Pipeline, upd: p4r.Update) -> None:
        if upd.type not in (p4r.Update.INSERT, p4r.Update.MODIFY, p4r.Update.DELETE):
            raise invalid("update type must be INSERT, MODIFY or DELETE")
        st = pipe.program.state
        if upd.entity.WhichOneof("entity") == "table_entry":
            te = upd.entity.table_entry
            table = find_table(st.tables, te.table_id)
            if te.is_const:
                # spec 9.1: is_const must be false in every INSERT/MODIFY/DELETE
                raise invalid(f"table {table.name}: is_const must not be set in a write")
            if te.is_default_action:
                self._write_default(st, table, pipe.pids, upd.type, te)
            elif upd.type == p4r.Update.INSERT:
                if table.const_entries:
                    raise _const_denied(table, "INSERT into")
                if not table.keys:
                    # spec 9.1: a keyless table only has its default entry
                    raise invalid(f"table {table.name} has no key: only its default entry exists")
                entry = entry_from_msg(table, pipe.pids, te)
                entities.check_entry_extras(table, te)
                entities.apply_entry_extras(table, te, entry)
                table.insert(entry)
                _keep_metadata(st, entry, te.metadata)
            elif upd.type == p4r.Update.MODIFY:
                if table.const_entries or _is_const_entry(table, te):
                    self._modify_const(st, table, te)
                    return
                if not te.HasField("action"):
                    # spec 9.1.2: an unset action in a MODIFY keeps the entry's action
                    self._modify_extras(st, table, te)
                    return
                entry = entry_from_msg(table, pipe.pids, te)
                entities.check_entry_extras(table, te)
                table.modify(entry)
                stored = table.get(entry.matches, entry.priority)
                entities.apply_entry_extras(table, te, stored, modify=True)
                _keep_metadata(st, stored, te.metadata)
            else:
                # DELETE identifies the entry by match and priority; the action is ignored.
                if table.const_entries or _is_const_entry(table, te):
                    raise _const_denied(table, "DELETE from")
                gone = table.get(decode_matches(table, te), _priority(table, te))
                table.delete(decode_matches(table, te), _priority(table, te))
                _keep_metadata(st, gone, b"")
        else:
            entities.write(st, upd.type, upd.entity)

    def _modify_const(self, st: ProgramState, table: Table, te: p4r.TableEntry) -> None:
        """MODIFY of a const entry: only its direct resources (spec 9.1.3, Constant Tables)."""
        if te.HasField("action"):
            raise _const_denied(table, "MODIFY of the action in")
        self._modify_extras(st, table, te)

    def _modify_extras(self, st: ProgramState, table: Table, te: p4r.TableEntry) -> None:
        """A MODIFY without action: direct resources (and the cookie) of an existing entry."""
        entry = table.get(decode_matches(table, te), _priority(table, te))
        entities.check_entry_extras(table, te)
        entities.apply_entry_extras(table, te, entry, modify=True)
        entry.controller_metadata = te.controller_metadata
        _keep_metadata(st, entry, te.metadata)

    def _write_default(
        self, st: ProgramState, table: Table, pids: ParamIds, op: int, te: p4r.TableEntry
    ) -> None:
        if op != p4r.Update.MODIFY:
            raise invalid(f"table {table.name}: the default entry can only be MODIFYed")
        if te.match or te.priority:
            raise invalid(f"table {table.name}: a default entry has no match and no priority")
        if te.idle_timeout_ns or te.HasField("time_since_last_hit"):
            raise invalid(f"table {table.name}: a default entry has no idle timeout (spec 9.1.7)")
        if table.const_default:
            raise P4RTError(
                grpc.StatusCode.PERMISSION_DENIED, f"table {table.name}: default action is const"
            )
        # Spec 9.1.6: apart from these rules the default entry is a regular entry,
        # direct resources and cookie included; resetting it (no action) also
        # resets its cookie and direct-resource configuration.
        entities.check_entry_extras(table, te)
        entry = table.default_entry
        if te.HasField("action"):
            table.set_default(decode_action(table, pids, te, default=True))
            entities.apply_entry_extras(table, te, entry, modify=True)
            entry.controller_metadata = te.controller_metadata
            _keep_metadata(st, entry, te.metadata)
        else:
            table.reset_default()  # no action = back to the program's initial default
            entry.controller_metadata = 0
            _keep_metadata(st, entry, b"")
            entry.meter_config, entry.meter_state = None, []

    def read(self, req: p4r.ReadRequest) -> Iterator[p4r.Entity]:
        if req.device_id != self.device_id:
            raise not_found(f"no device with id {req.device_id}")
        with self.lock:
            pipe = self._require_pipeline()
            out: list[p4r.Entity] = []
            for ent in req.entities:
                if ent.WhichOneof("entity") is None:
                    # spec 11.2: the entity oneof must be set (no "read everything")
                    raise invalid("read request entity has no entity set")
                if ent.WhichOneof("entity") == "table_entry":
                    out.extend(self._read_tables(pipe, ent.table_entry))
                else:
                    out.extend(entities.read(pipe.program.state, ent))
        return iter(out)

    def _read_tables(self, pipe: Pipeline, te: p4r.TableEntry) -> Iterator[p4r.Entity]:
        st = pipe.program.state
        if te.table_id == 0 and te.match:
            raise invalid("a wildcard read over all tables (table_id 0) cannot filter on match")
        tables = (
            list(st.tables.values()) if te.table_id == 0 else [find_table(st.tables, te.table_id)]
        )
        for table in tables:
            with_counters = te.HasField("counter_data") and table.direct_counter is not None
            if te.is_default_action:
                found = [(table.default_entry, True)]
            elif te.match:
                matches = decode_matches(table, te)
                try:
                    found = [(table.get(matches, _priority(table, te)), False)]
                except StateError:
                    found = []
            else:
                found = [(e, False) for e in table.entries()]
            for e, is_default in found:
                if not _read_filter(table, te, e):
                    continue
                kept = st.entry_metadata.get(id(e), (e, b""))[1]
                if te.metadata and kept != te.metadata:
                    continue  # spec 9.1.4: a non-empty metadata filters the read
                msg = encode_entry(table, pipe.pids, e, default=is_default)
                msg.metadata = kept
                if with_counters:
                    msg.counter_data.packet_count, msg.counter_data.byte_count = e.packets, e.bytes
                yield p4r.Entity(table_entry=msg)

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


def _priority(table: Table, te: p4r.TableEntry) -> int:
    return te.priority if table.needs_priority else 0


def _keep_metadata(st: ProgramState, entry: TableEntry, metadata: bytes) -> None:
    """TableEntry.metadata is opaque to the target but read back with the entry (spec 9.1).

    Kept beside the state (keyed by the entry object, held so its id stays
    unique) because the engine's entries have no place for it.
    """
    if metadata:
        st.entry_metadata[id(entry)] = (entry, metadata)
    else:
        st.entry_metadata.pop(id(entry), None)


def _read_filter(table: Table, te: p4r.TableEntry, e: TableEntry) -> bool:
    """Spec 9.1.4 (Wildcard Reads): a non-default priority, controller_metadata or
    action_id in the request selects only the entries that have it."""
    if te.priority and e.priority != te.priority:
        return False
    if te.controller_metadata and e.controller_metadata != te.controller_metadata:
        return False
    if te.action.WhichOneof("type") == "action" and te.action.action.action_id:
        spec = table.actions.get(getattr(e.action, "action", ""))
        return spec is not None and spec.id == te.action.action.action_id
    return True


def _const_denied(table: Table, what: str) -> P4RTError:
    # P4Runtime spec 9.1.3 (Constant Tables): the only writes allowed on a
    # table with const entries are MODIFYs of direct resources and of a
    # non-const default action; anything else is PERMISSION_DENIED. Entries
    # marked const in a preinitialized table behave the same (9.1.4).
    return P4RTError(grpc.StatusCode.PERMISSION_DENIED, f"{what} table {table.name}: const entries")


def _is_const_entry(table: Table, te: p4r.TableEntry) -> bool:
    """Whether the entry this update names exists and is marked const."""
    try:
        return table.get(decode_matches(table, te), _priority(table, te)).is_const
    except StateError:
        return False
