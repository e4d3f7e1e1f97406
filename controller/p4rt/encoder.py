"""Write requests as protobuf bytes, from per-table templates compiled once from the P4Info.

Building a ``p4.v1.Entity`` message field by field, checking every name and
value on the way (``Codec.encode_fields``), costs ~20-50 us per entry here. For a table entry
of the common shape -- exact and LPM fields given as ints, (int, length)
tuples or IPv4 text, a direct action with int or IPv4 parameters -- almost
all of the wire bytes depend only on the table, the action and the lengths of
the values, so :class:`TableTemplate` precomputes them and an entry costs a
few concatenations.

The templates only ever accept: any entry they do not recognise as valid
(another kind of value, a name they do not know, a value too wide, host bits
set, a default entry, counters...) is encoded field by field (``Codec.encode_fields``),
which gives the same bytes for valid entries and raises the usual one-line
error for bad ones. ``tests/controller/p4rt/test_encoder.py`` checks that both
agree. ``Codec.encode`` takes the template too, and parses its bytes.

Wire format (protobuf, fields in number order as upb writes them): Update
{1 type, 2 Entity {2 TableEntry {1 table_id, 2 FieldMatch {1 field_id,
2 Exact {1 value} | 4 LPM {1 value, 2 prefix_len}}, 3 TableAction {1 Action
{1 action_id, 4 Param {2 param_id, 3 value}}}}}}; WriteRequest {1 device_id,
3 election_id {1 high, 2 low}, 4 updates, 6 role}.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from controller.p4rt import entities as e
from controller.p4rt.schema import P4Schema, Table


def _varint(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n > 0x7F:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    out.append(n)
    return bytes(out)


def _delimited(tag: int, payload: bytes) -> bytes:
    size = len(payload)
    if size < 0x80:  # most of a table entry's parts: tag and length in one step
        return bytes((tag, size)) + payload
    return bytes((tag,)) + _varint(size) + payload


def _ipv4(text: str) -> int | None:
    """A dotted-quad IPv4 address as an int; None for anything else (left to Codec).

    inet_pton takes exactly the four-decimal-octet form (no leading zeros,
    nothing around it), all of which ``ipaddress`` reads the same way.
    """
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except (OSError, UnicodeError, ValueError):
        return None


def _number(value: Any, width: int) -> int | None:
    """``value`` as an int that fits ``width`` bits, if it is an int or IPv4 text."""
    if type(value) is int:  # not bool
        number = value
    elif type(value) is str and width == 32:
        found = _ipv4(value)
        if found is None:
            return None
        number = found
    else:
        return None
    if number < 0 or number >> width or not width:
        return None
    return number


def _prefix(value: Any, width: int) -> tuple[int, int] | None:
    """An LPM value (tuple, "a.b.c.d/len" or bare) as (number, length), if plainly valid."""
    if type(value) is tuple and len(value) == 2 and type(value[1]) is int:
        number, length = _number(value[0], width), value[1]
    elif type(value) is str and "/" in value:
        base, _, text = value.partition("/")
        if not (text.isascii() and text.isdigit()):
            return None
        number, length = _number(base, width), int(text)
    else:
        number, length = _number(value, width), width
    if number is None or not 0 <= length <= width or number & ((1 << (width - length)) - 1):
        return None
    return number, length


def _canonical(number: int) -> bytes:
    return number.to_bytes((number.bit_length() + 7) // 8 or 1, "big")


class _Action:
    def __init__(self, action_id: int, params: Sequence[tuple[str, int, int]]) -> None:
        self.head = b"\x08" + _varint(action_id)
        self.count = len(params)
        # name -> (position, width, Param bytes before the value by value length)
        self.params: dict[str, tuple[int, int, list[bytes]]] = {}
        for i, (name, pid, width) in enumerate(params):
            body = b"\x10" + _varint(pid) + b"\x1a"
            heads = [
                b"\x22" + _varint(len(body) + 1 + n) + body + bytes((n,))
                for n in range(1 + (width + 7) // 8)
            ]
            self.params[name] = (i, width, heads)

    def encode(self, params: dict[str, Any]) -> bytes | None:
        if len(params) != self.count:
            return None
        out: list[bytes] = [b""] * self.count
        for name, value in params.items():
            spec = self.params.get(name)
            if spec is None:
                return None
            number = _number(value, spec[1])
            if number is None:
                return None
            data = _canonical(number)
            out[spec[0]] = spec[2][len(data)] + data
        action = self.head + b"".join(out)
        return _delimited(0x1A, _delimited(0x0A, action))


class TableTemplate:
    """The precomputed bytes of one exact/LPM table's entries."""

    def __init__(self, schema: P4Schema, table: Table) -> None:
        self.head = b"\x08" + _varint(table.id)
        self.count = len(table.match_fields)
        self.exact_count = sum(f.match_type == "exact" for f in table.match_fields)
        # match name (full and alias) -> (position, is_lpm, width, FieldMatch head by length)
        self.fields: dict[str, tuple[int, bool, int, list[bytes]]] = {}
        for i, f in enumerate(table.match_fields):
            fid = b"\x08" + _varint(f.id)
            lpm = f.match_type == "lpm"
            heads = []
            for n in range(1 + (f.bitwidth + 7) // 8):
                # Lengths fit one byte: templates are only made for fields up to MAX_WIDTH.
                if lpm:  # + value + 0x10 prefix_len (one byte: lengths up to 127)
                    inner = fid + b"\x22" + bytes((n + 4,)) + b"\x0a" + bytes((n,))
                    heads.append(b"\x12" + bytes((len(inner) + n + 2,)) + inner)
                else:
                    inner = fid + b"\x12" + bytes((n + 2,)) + b"\x0a" + bytes((n,))
                    heads.append(b"\x12" + bytes((len(inner) + n,)) + inner)
            for name in {f.name, f.alias} - {""}:
                self.fields[name] = (i, lpm, f.bitwidth, heads)
        self.actions: dict[str, _Action] = {}
        for aid in table.action_ids:
            if aid in table.default_only_ids:
                continue
            act = schema.actions[aid]
            tmpl = _Action(act.id, [(p.name, p.id, p.bitwidth) for p in act.params])
            for name in {act.name, act.alias} - {""}:
                self.actions[name] = tmpl

    def encode(self, ent: e.TableEntry) -> bytes | None:
        """The TableEntry bytes, or None when this entry is not for the template."""
        if ent.is_default or ent.priority or ent.metadata or ent.counter or ent.meter:
            return None
        act = self.actions.get(ent.action) if ent.action is not None else None
        if act is None or len(ent.match) > self.count:
            return None
        out: list[bytes] = [b""] * self.count
        given = 0
        for name, value in ent.match.items():
            spec = self.fields.get(name)
            if spec is None or out[spec[0]]:
                return None
            pos, lpm, width, heads = spec
            if lpm:
                found = _prefix(value, width)
                if found is None:
                    return None
                if found[1] > 127:
                    return None
                if found[1]:  # a /0 is the wildcard: omitted
                    data = _canonical(found[0])
                    out[pos] = heads[len(data)] + data + b"\x10" + bytes((found[1],))
            else:
                number = _number(value, width)
                if number is None:
                    return None
                data = _canonical(number)
                out[pos] = heads[len(data)] + data
                given += 1
        if given != self.exact_count:
            return None
        action = act.encode(ent.params)
        return None if action is None else self.head + b"".join(out) + action


MAX_WIDTH = 512  # bits of a field or parameter a template handles (one-byte lengths)


def template(schema: P4Schema, name: str) -> TableTemplate | None:
    """The template of the table ``name``, if it is an exact/LPM table (one LPM field
    at most) whose widths the templates handle."""
    table = schema.tables.by_name.get(name)
    if table is None:
        return None
    fields = table.match_fields
    params = [p for aid in table.action_ids for p in schema.actions[aid].params]
    plain = (
        bool(fields)
        and all(f.match_type in ("exact", "lpm") for f in fields)
        and sum(f.match_type == "lpm" for f in fields) <= 1
        and all(0 < x.bitwidth <= MAX_WIDTH for x in (*fields, *params))
    )
    return TableTemplate(schema, table) if plain else None


class Message(Protocol):
    def SerializeToString(self) -> bytes: ...  # protobuf's name


class FieldCodec(Protocol):
    """What the encoder needs of ``codec.Codec`` (which imports this module)."""

    def template(self, table: str) -> TableTemplate | None: ...

    def encode_fields(self, ent: e.Entity) -> Message: ...


class WriteEncoder:
    """Serialized Updates: by template when the entry fits one, else by Codec."""

    def __init__(self, codec: FieldCodec) -> None:
        self.codec = codec

    def entity(self, ent: e.Entity) -> bytes:
        """One Entity's bytes."""
        if type(ent) is e.TableEntry:
            tmpl = self.codec.template(ent.table)
            data = tmpl.encode(ent) if tmpl is not None else None
            if data is not None:
                return _delimited(0x12, data)
        return bytes(self.codec.encode_fields(ent).SerializeToString())

    def updates(self, kind: int, ents: Iterable[e.Entity]) -> list[bytes]:
        """Serialized Updates of one type."""
        head = b"\x08" + _varint(kind)
        return [head + _delimited(0x12, self.entity(ent)) for ent in ents]


def entity_bytes(data: bytes) -> bytes:
    """A p4.v1.Entity holding the TableEntry ``data``."""
    return _delimited(0x12, data)


def request(device_id: int, election_id: int, role: str, updates: Iterable[bytes]) -> bytes:
    """A WriteRequest (CONTINUE_ON_ERROR) from serialized Updates."""
    eid = b""
    if election_id >> 64:
        eid += b"\x08" + _varint(election_id >> 64)
    if election_id & ((1 << 64) - 1):
        eid += b"\x10" + _varint(election_id & ((1 << 64) - 1))
    out = [(b"\x08" + _varint(device_id)) if device_id else b"", _delimited(0x1A, eid)]
    out += [_delimited(0x22, u) for u in updates]
    if role:
        out.append(_delimited(0x32, role.encode()))
    return b"".join(out)
