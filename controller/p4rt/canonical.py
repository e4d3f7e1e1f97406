"""Canonical readable strings for switch state.

One line per entity, stable for a given entry whatever form its values were
given in, e.g.::

    vrf_fib vrf=2 dst=10.1.0.0/16 -> push_label(label=100, tunnel=3)
    acl prio=10 proto=6&&&0xff dport=179..179 -> punt()
    vrf_fib default -> drop()

Tests assert switch state with these, and ``sl3vpn show tables`` prints them.
Match fields appear in P4Info order, parameters in action order; addresses
print as addresses (see ``values.format_value``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from finsy.proto import p4r

from controller.p4rt import entities as e
from controller.p4rt.codec import Codec
from controller.p4rt.errors import P4RuntimeClientError
from controller.p4rt.schema import Field
from controller.p4rt.values import format_value


def _fmt_match(fld: Field, value: Any) -> str:
    w = fld.bitwidth
    kind = fld.match_type
    if kind == "lpm":
        number, length = value
        return f"{fld.name}={format_addr(number, w, fld.name, True)}/{length}"
    if kind == "ternary":
        number, mask = value
        # Address masks read best as addresses (255.255.0.0); other masks in hex.
        shown = format_addr(mask, w, fld.name)
        mask_text = shown if not shown.isdigit() else f"0x{mask:x}"
        return f"{fld.name}={format_addr(number, w, fld.name)}&&&{mask_text}"
    if kind == "range":
        low, high = value
        return f"{fld.name}={low}..{high}"
    return f"{fld.name}={format_addr(value, w, fld.name)}"


def format_addr(number: int, width: int, name: str, address: bool = False) -> str:
    return format_value(number, width, name, address=address)


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def table_entry_string(codec: Codec, ent: e.TableEntry) -> str:
    """Canonical string of one table entry (its values may be in any input form)."""
    norm = codec.decode_table_entry(codec.encode_table_entry(ent, for_read=True))
    table = codec.schema.tables[norm.table]
    parts = [_short(table.short)]
    if norm.is_default:
        parts.append("default")
    if norm.priority:
        parts.append(f"prio={norm.priority}")
    for fld in table.match_fields:
        if fld.name in norm.match:
            parts.append(_fmt_match(fld, norm.match[fld.name]))
    if norm.action is not None:
        act = codec.schema.actions[norm.action]
        args = ", ".join(
            f"{p.name}={format_addr(int(norm.params[p.name]), p.bitwidth, p.name)}"
            for p in act.params
            if p.name in norm.params
        )
        parts.append(f"-> {_short(act.short)}({args})")
    return " ".join(parts)


def entity_string(codec: Codec, ent: e.Entity) -> str:
    """Canonical string of any entity."""
    if isinstance(ent, e.TableEntry):
        return table_entry_string(codec, ent)
    if isinstance(ent, e.CounterEntry | e.DirectCounterEntry):
        if isinstance(ent, e.CounterEntry):
            head = f"counter {_short(ent.counter)}[{ent.index}]"
        else:
            head = f"direct_counter [{table_entry_string(codec, ent.entry)}]"
        data = ent.data or e.CounterData()
        return f"{head} packets={data.packets} bytes={data.bytes}"
    if isinstance(ent, e.RegisterEntry):
        norm = codec.decode(codec.encode(ent)) if ent.value is not None else ent
        assert isinstance(norm, e.RegisterEntry)
        return f"register {_short(ent.register)}[{ent.index}] = {norm.value!s}"
    if isinstance(ent, e.MeterEntry | e.DirectMeterEntry):
        if isinstance(ent, e.MeterEntry):
            head = f"meter {_short(ent.meter)}[{ent.index}]"
        else:
            head = f"direct_meter [{table_entry_string(codec, ent.entry)}]"
        cfg = ent.config
        if cfg is None:
            return f"{head} unset"
        return f"{head} cir={cfg.cir} cburst={cfg.cburst} pir={cfg.pir} pburst={cfg.pburst}"
    if isinstance(ent, e.MulticastGroup | e.CloneSession):
        reps = ", ".join(
            f"{r.port}#{r.instance}" if r.instance else str(r.port) for r in ent.replicas
        )
        if isinstance(ent, e.MulticastGroup):
            return f"multicast_group {ent.group_id} -> [{reps}]"
        extra = f" cos={ent.class_of_service}" if ent.class_of_service else ""
        if ent.packet_length_bytes:
            extra += f" truncate={ent.packet_length_bytes}"
        return f"clone_session {ent.session_id} -> [{reps}]{extra}"
    if isinstance(ent, e.ValueSetEntry):
        vs = codec.schema.value_sets[ent.value_set]
        members = []
        for member in ent.members:
            norm = codec.decode(codec.encode(e.ValueSetEntry(ent.value_set, [member])))
            assert isinstance(norm, e.ValueSetEntry)
            # Decoded members are keyed by field.short: an unnamed bit<W> field
            # (spec 8.3) by the set's own name.
            fields = [
                _fmt_match(replace(f, name=f.short), norm.members[0][f.short])
                for f in vs.match_fields
                if f.short in norm.members[0]
            ]
            members.append(" ".join(fields))
        return f"value_set {_short(vs.short)} {{{'; '.join(members)}}}"
    raise TypeError(f"no canonical form for {type(ent).__name__}")


def describe(codec: Codec | None, entity: p4r.Entity) -> str:
    """The canonical string of an encoded entity, or its kind when it cannot be decoded."""
    if codec is not None:
        try:
            return entity_string(codec, codec.decode(entity))
        except (P4RuntimeClientError, TypeError, ValueError):
            pass
    return str(entity.WhichOneof("entity"))
