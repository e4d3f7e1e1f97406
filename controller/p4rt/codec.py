"""Domain entities <-> ``p4.v1.Entity`` messages, driven by the P4Info schema.

``Codec.encode`` always produces canonical bytestrings, so an entity encodes to
the same bytes the switch returns on Read; ``Codec.decode`` is its inverse
(entities come back with ints, see ``entities``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from finsy.proto import p4r

from controller.p4rt import entities as e
from controller.p4rt.encoder import TableTemplate, entity_bytes, template
from controller.p4rt.errors import P4ValueError, SchemaError
from controller.p4rt.match import decode_match, encode_match, value_set_member, value_set_read
from controller.p4rt.schema import P4Schema, Table
from controller.p4rt.values import decode, encode, parse_int


class Codec:
    """Encoder/decoder for one pipeline's P4Info."""

    def __init__(self, schema: P4Schema) -> None:
        self.schema = schema
        self._templates: dict[str, TableTemplate | None] = {}

    def template(self, table: str) -> TableTemplate | None:
        """The write template of a table (encoder.py), None if it has none."""
        try:
            return self._templates[table]
        except KeyError:
            tmpl = self._templates[table] = template(self.schema, table)
            return tmpl

    # -- table entries -------------------------------------------------------------------

    def encode_table_entry(self, ent: e.TableEntry, *, for_read: bool = False) -> p4r.TableEntry:
        if for_read and ent.table in ("", "*"):
            return p4r.TableEntry()  # every table
        table = self.schema.tables[ent.table]
        what = f"table {table.short}"
        msg = p4r.TableEntry(table_id=table.id, metadata=ent.metadata)
        if ent.is_default:
            if ent.match:
                raise P4ValueError(f"{what}: a default entry has no match fields")
            msg.is_default_action = True
        else:
            msg.match.extend(encode_match(table.match_fields, ent.match, what, for_read=for_read))
        if table.needs_priority and not ent.is_default and not for_read and ent.priority <= 0:
            raise P4ValueError(f"{what}: entries need a priority > 0 (ternary/range/optional)")
        if not table.needs_priority and ent.priority:
            raise P4ValueError(f"{what}: priority must be 0 for tables without ternary/range")
        msg.priority = ent.priority
        if ent.action is not None:
            action = self._encode_action(table, ent.action, ent.params, ent.is_default)
            msg.action.action.CopyFrom(action)
        elif not for_read and not ent.is_default:
            raise P4ValueError(f"{what}: an entry needs an action")
        if ent.meter is not None:
            msg.meter_config.CopyFrom(_meter_msg(ent.meter))
        if ent.counter is not None:
            msg.counter_data.CopyFrom(_counter_msg(ent.counter))
        return msg

    def _encode_action(
        self, table: Table, name: str, params: Mapping[str, object], default: bool
    ) -> p4r.Action:
        act = self.schema.table_action(table, name, default=default)
        what = f"table {table.short} action {act.short}"
        known = {p.name for p in act.params}
        extra = set(params) - known
        if extra:
            raise SchemaError(f"{what}: no parameter(s) {', '.join(sorted(extra))}")
        msg = p4r.Action(action_id=act.id)
        for prm in act.params:
            if prm.name not in params:
                raise P4ValueError(f"{what}: parameter {prm.name} must be given")
            value = params[prm.name]
            if not isinstance(value, int | str | bytes):
                raise P4ValueError(f"{what}: parameter {prm.name} has bad value {value!r}")
            msg.params.add(param_id=prm.id, value=encode(value, prm.bitwidth, f"{what} {prm.name}"))
        return msg

    def decode_table_entry(self, msg: p4r.TableEntry) -> e.TableEntry:
        table = self.schema.tables[msg.table_id]
        what = f"table {table.short}"
        ent = e.TableEntry(
            table=table.short,
            match=decode_match(table.match_fields, msg.match, what),
            priority=msg.priority,
            is_default=msg.is_default_action,
            metadata=msg.metadata,
        )
        kind = msg.action.WhichOneof("type")
        if kind == "action":
            act = self.schema.actions[msg.action.action.action_id]
            ent.action = act.short
            for prm in msg.action.action.params:
                spec = next((p for p in act.params if p.id == prm.param_id), None)
                if spec is None:
                    raise SchemaError(f"{what} action {act.short}: unknown param id {prm.param_id}")
                ent.params[spec.name] = decode(prm.value, spec.bitwidth, f"{what} {spec.name}")
        elif kind is not None:
            raise SchemaError(f"{what}: action profiles are not supported ({kind})")
        if msg.HasField("counter_data"):
            ent.counter = e.CounterData(msg.counter_data.packet_count, msg.counter_data.byte_count)
        if msg.HasField("meter_config"):
            ent.meter = _meter_obj(msg.meter_config)
        return ent

    # -- all entities --------------------------------------------------------------------

    def encode(self, ent: e.Entity, *, for_read: bool = False) -> p4r.Entity:
        """The ``p4.v1.Entity`` for a domain entity (``for_read`` allows wildcards)."""
        if type(ent) is e.TableEntry and not for_read:
            # Most entries fit a template: bytes then parsed, 4x faster than field by field.
            tmpl = self.template(ent.table)
            data = tmpl.encode(ent) if tmpl is not None else None
            if data is not None:
                return p4r.Entity.FromString(entity_bytes(data))
        return self.encode_fields(ent, for_read=for_read)

    def encode_fields(self, ent: e.Entity, *, for_read: bool = False) -> p4r.Entity:
        """``encode`` field by field, checking every name and value (no template)."""
        out = p4r.Entity()
        s = self.schema
        if isinstance(ent, e.TableEntry):
            out.table_entry.CopyFrom(self.encode_table_entry(ent, for_read=for_read))
        elif isinstance(ent, e.CounterEntry):
            out.counter_entry.counter_id = s.counters[ent.counter].id if ent.counter else 0
            _set_index(
                out.counter_entry, ent.index, s.counters[ent.counter].size if ent.counter else 0
            )
            if ent.data is not None:
                out.counter_entry.data.CopyFrom(_counter_msg(ent.data))
        elif isinstance(ent, e.DirectCounterEntry):
            out.direct_counter_entry.table_entry.CopyFrom(
                self.encode_table_entry(ent.entry, for_read=True)
            )
            if ent.data is not None:
                out.direct_counter_entry.data.CopyFrom(_counter_msg(ent.data))
        elif isinstance(ent, e.RegisterEntry):
            reg = s.registers[ent.register]
            out.register_entry.register_id = reg.id
            _set_index(out.register_entry, ent.index, reg.size)
            if ent.value is not None:
                what = f"register {reg.short}"
                out.register_entry.data.bitstring = encode(ent.value, reg.bitwidth, what)
        elif isinstance(ent, e.MeterEntry):
            mtr = s.meters[ent.meter]
            out.meter_entry.meter_id = mtr.id
            _set_index(out.meter_entry, ent.index, mtr.size)
            if ent.config is not None:
                out.meter_entry.config.CopyFrom(_meter_msg(ent.config))
        elif isinstance(ent, e.DirectMeterEntry):
            out.direct_meter_entry.table_entry.CopyFrom(
                self.encode_table_entry(ent.entry, for_read=True)
            )
            if ent.config is not None:
                out.direct_meter_entry.config.CopyFrom(_meter_msg(ent.config))
        elif isinstance(ent, e.MulticastGroup):
            mg = out.packet_replication_engine_entry.multicast_group_entry
            mg.multicast_group_id = ent.group_id
            mg.replicas.extend(_replicas_msg(ent.replicas))
        elif isinstance(ent, e.CloneSession):
            cs = out.packet_replication_engine_entry.clone_session_entry
            cs.session_id = ent.session_id
            cs.replicas.extend(_replicas_msg(ent.replicas))
            cs.class_of_service = ent.class_of_service
            cs.packet_length_bytes = ent.packet_length_bytes
        elif isinstance(ent, e.ValueSetEntry):
            vs = s.value_sets[ent.value_set]
            out.value_set_entry.value_set_id = vs.id
            what = f"value set {vs.short}"
            for member in ent.members:
                match = value_set_member(vs, member, what)
                fields = encode_match(vs.match_fields, match, what, for_read=for_read)
                out.value_set_entry.members.add().match.extend(fields)
        else:
            raise SchemaError(f"cannot encode {type(ent).__name__}")
        return out

    def decode(self, msg: p4r.Entity) -> e.Entity:
        """The domain entity for a ``p4.v1.Entity``."""
        s = self.schema
        kind = msg.WhichOneof("entity")
        if kind == "table_entry":
            return self.decode_table_entry(msg.table_entry)
        if kind == "counter_entry":
            ce = msg.counter_entry
            data = e.CounterData(ce.data.packet_count, ce.data.byte_count)
            return e.CounterEntry(s.counters[ce.counter_id].short, ce.index.index, data)
        if kind == "direct_counter_entry":
            dc = msg.direct_counter_entry
            data = e.CounterData(dc.data.packet_count, dc.data.byte_count)
            return e.DirectCounterEntry(self.decode_table_entry(dc.table_entry), data)
        if kind == "register_entry":
            re_ = msg.register_entry
            reg = s.registers[re_.register_id]
            value = decode(re_.data.bitstring, reg.bitwidth, f"register {reg.short}")
            return e.RegisterEntry(reg.short, re_.index.index, value)
        if kind == "meter_entry":
            me = msg.meter_entry
            cfg = _meter_obj(me.config) if me.HasField("config") else None
            return e.MeterEntry(s.meters[me.meter_id].short, me.index.index, cfg)
        if kind == "direct_meter_entry":
            dm = msg.direct_meter_entry
            cfg = _meter_obj(dm.config) if dm.HasField("config") else None
            return e.DirectMeterEntry(self.decode_table_entry(dm.table_entry), cfg)
        if kind == "packet_replication_engine_entry":
            pre = msg.packet_replication_engine_entry
            if pre.WhichOneof("type") == "multicast_group_entry":
                mg = pre.multicast_group_entry
                return e.MulticastGroup(mg.multicast_group_id, _replicas_obj(mg.replicas))
            cs = pre.clone_session_entry
            return e.CloneSession(
                cs.session_id,
                _replicas_obj(cs.replicas),
                cs.class_of_service,
                cs.packet_length_bytes,
            )
        if kind == "value_set_entry":
            vse = msg.value_set_entry
            vs = s.value_sets[vse.value_set_id]
            what = f"value set {vs.short}"
            members = [
                value_set_read(vs, decode_match(vs.match_fields, m.match, what))
                for m in vse.members
            ]
            return e.ValueSetEntry(vs.short, members)
        raise SchemaError(f"cannot decode entity kind {kind!r}")

    # -- packet I/O ----------------------------------------------------------------------

    def encode_packet_out(self, pkt: e.PacketOut) -> p4r.PacketOut:
        meta = self.schema.packet_metadata["packet_out"]
        msg = p4r.PacketOut(payload=pkt.payload)
        for name, value in pkt.metadata.items():
            fld = meta.field(name)
            msg.metadata.add(
                metadata_id=fld.id, value=encode(value, fld.bitwidth, f"packet_out {name}")
            )
        return msg

    def decode_packet_in(self, msg: p4r.PacketIn) -> e.PacketIn:
        meta = self.schema.packet_metadata["packet_in"]
        out = e.PacketIn(payload=msg.payload)
        by_id = {f.id: f for f in meta.fields}
        for md in msg.metadata:
            fld = by_id.get(md.metadata_id)
            if fld is None:
                raise SchemaError(f"packet_in: unknown metadata id {md.metadata_id}")
            out.metadata[fld.name] = decode(md.value, fld.bitwidth, f"packet_in {fld.name}")
        return out


def _set_index(
    msg: p4r.CounterEntry | p4r.RegisterEntry | p4r.MeterEntry, index: int | None, size: int
) -> None:
    if index is None:
        return  # wildcard: every cell
    if not 0 <= index < size:
        raise P4ValueError(f"index {index} outside 0..{size - 1}")
    msg.index.index = index


def _counter_msg(data: e.CounterData) -> p4r.CounterData:
    return p4r.CounterData(packet_count=data.packets, byte_count=data.bytes)


def _meter_msg(cfg: e.MeterConfig) -> p4r.MeterConfig:
    return p4r.MeterConfig(cir=cfg.cir, cburst=cfg.cburst, pir=cfg.pir, pburst=cfg.pburst)


def _meter_obj(msg: p4r.MeterConfig) -> e.MeterConfig:
    return e.MeterConfig(msg.cir, msg.cburst, msg.pir, msg.pburst)


def _replicas_msg(replicas: list[e.Replica]) -> list[p4r.Replica]:
    # BMv2's P4Runtime server reads the deprecated uint32 egress_port; we decode both forms.
    return [
        p4r.Replica(egress_port=parse_int(r.port, 32, "replica port"), instance=r.instance)
        for r in replicas
    ]


def _replicas_obj(replicas: Iterable[p4r.Replica]) -> list[e.Replica]:
    out = []
    for r in replicas:
        port = (
            r.egress_port
            if r.WhichOneof("port_kind") == "egress_port"
            else (int.from_bytes(r.port, "big") if r.port else 0)
        )
        out.append(e.Replica(port, r.instance))
    return out


__all__ = ["Codec"]
