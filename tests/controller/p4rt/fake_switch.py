"""A strict in-test P4Runtime servicer: checks requests as the spec says a server must.

It is not a data plane. It validates IDs, widths, canonical bytes, LPM/ternary/
range rules and priorities, keeps entries, answers reads in canonical form,
reports per-update errors in google.rpc.Status details, arbitrates between
streams by election ID as spec 5.3 says (no backup is promoted when the primary
leaves) and echoes PacketOut back as PacketIn.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from finsy.proto import p4i, p4r, p4r_grpc, rpc_code, rpc_status


class Invalid(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _canon_int(data: bytes, width: int, what: str) -> int:
    if not data:
        raise Invalid(rpc_code.INVALID_ARGUMENT, f"{what}: empty bytestring")
    if len(data) > 1 and data[0] == 0:
        raise Invalid(rpc_code.INVALID_ARGUMENT, f"{what}: bytestring not canonical")
    value = int.from_bytes(data, "big")
    if value >> width:
        raise Invalid(rpc_code.OUT_OF_RANGE, f"{what}: value too wide for {width} bits")
    return value


class FakeSwitch(p4r_grpc.P4RuntimeServicer):
    def __init__(self, device_id: int = 1) -> None:
        self.device_id = device_id
        self.p4info: p4i.P4Info | None = None
        self.device_config = b""
        self.tables: dict[int, Any] = {}
        self.actions: dict[int, Any] = {}
        self.entries: dict[bytes, p4r.TableEntry] = {}
        self.defaults: dict[int, p4r.TableEntry] = {}
        self.mcast: dict[int, p4r.MulticastGroupEntry] = {}
        self.registers: dict[tuple[int, int], bytes] = {}
        self.streams: dict[int, tuple[int, asyncio.Queue[Any]]] = {}
        self.packet_outs: list[p4r.PacketOut] = []
        self.write_count = 0
        self._next_stream = 0
        self.primary_sid: int | None = None
        self.highest: int | None = None  # election_id_past: the highest id ever received

    # -- arbitration (P4Runtime spec 5.3/5.4, no promotion) ------------------------------

    def primary_election_id(self) -> int | None:
        if self.primary_sid is None:
            return None
        return self.streams[self.primary_sid][0]

    def _answer(self, sid: int) -> p4r.StreamMessageResponse:
        resp = p4r.StreamMessageResponse()
        arb = resp.arbitration
        arb.device_id = self.device_id
        if self.highest is not None:  # election_id_past; unset while never a primary
            arb.election_id.high = self.highest >> 64
            arb.election_id.low = self.highest & ((1 << 64) - 1)
        if self.primary_sid is None:
            arb.status.code = rpc_code.NOT_FOUND
        elif sid == self.primary_sid:
            arb.status.code = rpc_code.OK
        else:
            arb.status.code = rpc_code.ALREADY_EXISTS
        return resp

    def _notify_all(self) -> None:
        for sid, (_, queue) in self.streams.items():
            queue.put_nowait(self._answer(sid))

    def _arbitrate(self, sid: int, eid: int, queue: asyncio.Queue[Any]) -> None:
        if any(other != sid and e == eid for other, (e, _) in self.streams.items()):
            queue.put_nowait(Invalid(rpc_code.INVALID_ARGUMENT, f"election id {eid} in use"))
            return
        self.streams[sid] = (eid, queue)
        if self.highest is None or eid >= self.highest:
            self.highest, self.primary_sid = eid, sid
            self._notify_all()
        elif sid == self.primary_sid:  # the primary downgraded itself: nobody is
            self.primary_sid = None
            self._notify_all()
        else:
            queue.put_nowait(self._answer(sid))  # a new backup: only it is told

    def _leave(self, sid: int) -> None:
        if self.streams.pop(sid, None) is not None and sid == self.primary_sid:
            self.primary_sid = None  # no promotion: every backup hears NOT_FOUND
            self._notify_all()

    async def StreamChannel(self, request_iterator: Any, context: Any) -> Any:
        queue: asyncio.Queue[Any] = asyncio.Queue()
        sid = self._next_stream
        self._next_stream += 1

        async def reader() -> None:
            async for req in request_iterator:
                kind = req.WhichOneof("update")
                if kind == "arbitration":
                    eid = (req.arbitration.election_id.high << 64) | req.arbitration.election_id.low
                    self._arbitrate(sid, eid, queue)
                elif kind == "packet":
                    self.packet_outs.append(req.packet)
                    resp = p4r.StreamMessageResponse()
                    resp.packet.payload = req.packet.payload
                    for md in req.packet.metadata:
                        if md.metadata_id == 1:  # egress_port comes back as ingress_port
                            resp.packet.metadata.add(metadata_id=1, value=md.value)
                    resp.packet.metadata.add(metadata_id=2, value=b"\x07")
                    queue.put_nowait(resp)
            queue.put_nowait(None)

        task = asyncio.create_task(reader())
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                if isinstance(item, Invalid):
                    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(item))
                yield item
        finally:
            task.cancel()
            self._leave(sid)

    def kick_all_streams(self) -> None:
        """Simulate a switch restart of the stream side: every stream ends."""
        for _, queue in list(self.streams.values()):
            queue.put_nowait(None)

    def _check_primary(self, election: p4r.Uint128) -> None:
        eid = (election.high << 64) | election.low
        if eid != self.primary_election_id():
            raise Invalid(rpc_code.PERMISSION_DENIED, "not primary")

    # -- pipeline ------------------------------------------------------------------------

    async def SetForwardingPipelineConfig(self, request: Any, context: Any) -> Any:
        try:
            self._check_primary(request.election_id)
        except Invalid as exc:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, str(exc))
        self.p4info = request.config.p4info
        self.device_config = request.config.p4_device_config
        self.tables = {t.preamble.id: t for t in self.p4info.tables}
        self.actions = {a.preamble.id: a for a in self.p4info.actions}
        self.entries.clear()
        self.defaults.clear()
        return p4r.SetForwardingPipelineConfigResponse()

    async def GetForwardingPipelineConfig(self, request: Any, context: Any) -> Any:
        resp = p4r.GetForwardingPipelineConfigResponse()
        if self.p4info is not None:
            resp.config.p4info.CopyFrom(self.p4info)
            resp.config.p4_device_config = self.device_config
        return resp

    async def Capabilities(self, request: Any, context: Any) -> Any:
        return p4r.CapabilitiesResponse(p4runtime_api_version="1.4.0")

    # -- validation ----------------------------------------------------------------------

    def _check_table_entry(self, te: p4r.TableEntry, update_type: int) -> bytes:
        table = self.tables.get(te.table_id)
        if table is None:
            raise Invalid(rpc_code.NOT_FOUND, f"table id {te.table_id} unknown")
        fields = {m.id: m for m in table.match_fields}
        seen: set[int] = set()
        needs_prio = False
        for mf in table.match_fields:
            if mf.match_type in (
                p4i.MatchField.TERNARY,
                p4i.MatchField.RANGE,
                p4i.MatchField.OPTIONAL,
            ):
                needs_prio = True
        for fm in te.match:
            spec = fields.get(fm.field_id)
            if spec is None:
                raise Invalid(rpc_code.INVALID_ARGUMENT, f"field id {fm.field_id} unknown")
            if fm.field_id in seen:
                raise Invalid(rpc_code.INVALID_ARGUMENT, "duplicate field")
            seen.add(fm.field_id)
            w = spec.bitwidth
            kind = fm.WhichOneof("field_match_type")
            expected = {
                p4i.MatchField.EXACT: "exact",
                p4i.MatchField.LPM: "lpm",
                p4i.MatchField.TERNARY: "ternary",
                p4i.MatchField.RANGE: "range",
                p4i.MatchField.OPTIONAL: "optional",
            }[spec.match_type]
            if kind != expected:
                raise Invalid(rpc_code.INVALID_ARGUMENT, f"{spec.name}: {kind} for {expected}")
            if kind == "exact":
                _canon_int(fm.exact.value, w, spec.name)
            elif kind == "optional":
                _canon_int(fm.optional.value, w, spec.name)
            elif kind == "lpm":
                v = _canon_int(fm.lpm.value, w, spec.name)
                plen = fm.lpm.prefix_len
                if not 0 < plen <= w:
                    raise Invalid(rpc_code.INVALID_ARGUMENT, f"{spec.name}: bad prefix_len")
                if v & ((1 << (w - plen)) - 1):
                    raise Invalid(rpc_code.INVALID_ARGUMENT, f"{spec.name}: bits past prefix")
            elif kind == "ternary":
                v = _canon_int(fm.ternary.value, w, spec.name)
                m = _canon_int(fm.ternary.mask, w, spec.name)
                if m == 0 or v & ~m:
                    raise Invalid(rpc_code.INVALID_ARGUMENT, f"{spec.name}: bad ternary")
            elif kind == "range":
                lo = _canon_int(fm.range.low, w, spec.name)
                hi = _canon_int(fm.range.high, w, spec.name)
                if lo > hi or (lo == 0 and hi == (1 << w) - 1):
                    raise Invalid(rpc_code.INVALID_ARGUMENT, f"{spec.name}: bad range")
        if te.is_default_action:
            if te.match or update_type != p4r.Update.MODIFY:
                raise Invalid(rpc_code.INVALID_ARGUMENT, "default entry: MODIFY without match")
        else:
            for mf in table.match_fields:
                if mf.match_type == p4i.MatchField.EXACT and mf.id not in seen:
                    raise Invalid(rpc_code.INVALID_ARGUMENT, f"{mf.name}: exact field missing")
            if needs_prio and te.priority <= 0:
                raise Invalid(rpc_code.INVALID_ARGUMENT, "priority required")
            if not needs_prio and te.priority != 0:
                raise Invalid(rpc_code.INVALID_ARGUMENT, "priority must be 0")
        if update_type != p4r.Update.DELETE and te.HasField("action"):
            act = te.action.action
            if act.action_id not in {r.id for r in table.action_refs}:
                raise Invalid(rpc_code.INVALID_ARGUMENT, f"action {act.action_id} not in table")
            spec_params = {p.id: p for p in self.actions[act.action_id].params}
            if sorted(p.param_id for p in act.params) != sorted(spec_params):
                raise Invalid(rpc_code.INVALID_ARGUMENT, "action params mismatch")
            for prm in act.params:
                _canon_int(prm.value, spec_params[prm.param_id].bitwidth, "param")
        elif update_type == p4r.Update.INSERT:
            raise Invalid(rpc_code.INVALID_ARGUMENT, "INSERT needs an action")
        key = p4r.TableEntry(table_id=te.table_id, priority=te.priority)
        key.match.extend(sorted(te.match, key=lambda m: m.field_id))
        return key.SerializeToString(deterministic=True)

    def _apply(self, upd: p4r.Update) -> None:
        ent = upd.entity
        kind = ent.WhichOneof("entity")
        if kind == "table_entry":
            te = ent.table_entry
            if te.table_id in self.tables and self.tables[te.table_id].is_const_table:
                raise Invalid(rpc_code.PERMISSION_DENIED, "const table")
            key = self._check_table_entry(te, upd.type)
            if te.is_default_action:
                self.defaults[te.table_id] = te
                return
            if upd.type == p4r.Update.INSERT:
                if key in self.entries:
                    raise Invalid(rpc_code.ALREADY_EXISTS, "entry exists")
                self.entries[key] = te
            elif upd.type == p4r.Update.MODIFY:
                if key not in self.entries:
                    raise Invalid(rpc_code.NOT_FOUND, "no such entry")
                self.entries[key] = te
            elif upd.type == p4r.Update.DELETE:
                if key not in self.entries:
                    raise Invalid(rpc_code.NOT_FOUND, "no such entry")
                del self.entries[key]
            else:
                raise Invalid(rpc_code.INVALID_ARGUMENT, "update type unspecified")
        elif kind == "packet_replication_engine_entry":
            mg = ent.packet_replication_engine_entry.multicast_group_entry
            exists = mg.multicast_group_id in self.mcast
            if upd.type == p4r.Update.INSERT and exists:
                raise Invalid(rpc_code.ALREADY_EXISTS, "group exists")
            if upd.type != p4r.Update.INSERT and not exists:
                raise Invalid(rpc_code.NOT_FOUND, "no such group")
            if upd.type == p4r.Update.DELETE:
                del self.mcast[mg.multicast_group_id]
            else:
                self.mcast[mg.multicast_group_id] = mg
        elif kind == "register_entry":
            reg = ent.register_entry
            if upd.type != p4r.Update.MODIFY:
                raise Invalid(rpc_code.INVALID_ARGUMENT, "registers are only modified")
            spec = next(r for r in self.p4info.registers if r.preamble.id == reg.register_id)  # type: ignore[union-attr]
            _canon_int(reg.data.bitstring, spec.type_spec.bitstring.bit.bitwidth, "register")
            self.registers[(reg.register_id, reg.index.index)] = reg.data.bitstring
        else:
            raise Invalid(rpc_code.UNIMPLEMENTED, f"{kind} not supported by the fake")

    async def Write(self, request: Any, context: Any) -> Any:
        eid = (request.election_id.high << 64) | request.election_id.low
        if eid != self.primary_election_id():
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "not primary")
        if self.p4info is None:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "no pipeline")
        self.write_count += 1
        errors: list[p4r.Error] = []
        failed = False
        for upd in request.updates:
            try:
                self._apply(upd)
                errors.append(p4r.Error(canonical_code=rpc_code.OK))
            except Invalid as exc:
                failed = True
                errors.append(p4r.Error(canonical_code=exc.code, message=str(exc)))
        if failed:
            status = rpc_status.Status(code=rpc_code.UNKNOWN, message="write failed")
            for err in errors:
                status.details.add().Pack(err)
            await context.abort(
                grpc.StatusCode.UNKNOWN,
                "write failed",
                trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),),
            )
        return p4r.WriteResponse()

    async def Read(self, request: Any, context: Any) -> Any:
        out = p4r.ReadResponse()
        for ent in request.entities:
            kind = ent.WhichOneof("entity")
            if kind == "table_entry":
                te = ent.table_entry
                if te.is_default_action:
                    if te.table_id in self.defaults:
                        out.entities.add().table_entry.CopyFrom(self.defaults[te.table_id])
                    continue
                for stored in self.entries.values():
                    if te.table_id and stored.table_id != te.table_id:
                        continue
                    if te.match:
                        want = sorted(m.SerializeToString() for m in te.match)
                        have = sorted(m.SerializeToString() for m in stored.match)
                        if want != have:
                            continue
                    out.entities.add().table_entry.CopyFrom(stored)
            elif kind == "packet_replication_engine_entry":
                for mg in self.mcast.values():
                    out.entities.add().packet_replication_engine_entry.multicast_group_entry.CopyFrom(
                        mg
                    )
            elif kind == "register_entry":
                reg = ent.register_entry
                for (rid, idx), data in sorted(self.registers.items()):
                    if rid == reg.register_id and (
                        not reg.HasField("index") or reg.index.index == idx
                    ):
                        r = out.entities.add().register_entry
                        r.register_id, r.index.index, r.data.bitstring = rid, idx, data
            else:
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"read {kind}")
        yield out


async def start_fake(
    switch: FakeSwitch, address: str = "127.0.0.1:0"
) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server()
    p4r_grpc.add_P4RuntimeServicer_to_server(switch, server)
    port = server.add_insecure_port(address)
    await server.start()
    return server, f"127.0.0.1:{port}"
