"""INSERTs of the common shape decoded straight from a WriteRequest's bytes.

A controller programming a FIB sends batches of INSERTs that all look alike:
``Update{type INSERT, entity{table_entry{table_id, match..., action{action{
action_id, params...}}}}}`` with every field once, in field-number order.
For each table whose entries can take that shape (exact/LPM keys, not const,
no action profile) one regular expression, compiled per pipeline, spells the
shape out byte by byte: tags, field ids, and every nested length, one
alternative per value length. The expression engine (C) then walks an update
in one call, and Python only turns the captured values into ints.

Every match is checked before it is believed: the three outer lengths
(Update, Entity, TableEntry) and the two of the action, which depend on the
value lengths, must be exactly the minimal varints of what was matched, so a
match covers one whole top-level field and nothing else; values must fit their
widths; LPM prefix lengths and host bits are checked as table_schema.py does.
Whatever does not match or pass -- another field order, padding beyond a
field's width, an unknown id, MODIFY, DELETE, a priority, metadata -- is
decoded from the parsed message the general way, which reports its error as
before. So this path only ever accepts what that path accepts, with the same
result (tests/targets/p4sim/runtime/test_wire_inserts.py compares them).

Values are matched in canonical form only (shortest bytes; padded ones go the
general way), so the TableEntry bytes of a matched request are what a Read
answers for the entry (table_schema.py's template): they are kept as its read
cache.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from targets.p4sim.runtime.errors import P4RTError
from targets.p4sim.runtime.table_schema import MAX_WIDTH, Schemas, TableSchema, varint
from targets.p4sim.state import ActionCall, MatchKind, StateError

_VARINT = rb"[\x80-\xff]*[\x00-\x7f]"
_UPDATES = 4  # p4.v1.WriteRequest field 4: repeated Update
SlowUpdate = Callable[[int], P4RTError | None]  # the general path for update i


def _choice(alternatives: list[bytes]) -> bytes:
    return b"(" + b"|".join(alternatives) + b")"


def _exact_head(fid: int, n: int) -> bytes:
    """FieldMatch{1 field_id, 2 Exact{1 value}} up to its n-byte value."""
    inner = b"\x08" + varint(fid) + b"\x12" + varint(n + 2) + b"\x0a" + varint(n)
    return b"\x12" + varint(len(inner) + n) + inner


def _lpm_head(fid: int, n: int) -> bytes:
    """FieldMatch{1 field_id, 4 LPM{1 value, 2 prefix_len}} up to its n-byte value
    (``0x10`` and a one-byte prefix length follow the value)."""
    inner = b"\x08" + varint(fid) + b"\x22" + varint(n + 4) + b"\x0a" + varint(n)
    return b"\x12" + varint(len(inner) + n + 2) + inner


def _param_head(pid: int, n: int) -> bytes:
    """Action.Param{2 param_id, 3 value} (Action field 4) up to its n-byte value."""
    inner = b"\x10" + varint(pid) + b"\x1a" + varint(n)
    return b"\x22" + varint(len(inner) + n) + inner


_LPM_TAIL = rb"\x10[\x01-\x7f]"  # LPM prefix_len 1..127 (larger ones are two bytes)


def _canonical(n: int) -> bytes:
    """An n-byte value in canonical form (spec 8.4: no leading zero byte but for 0 itself)."""
    return b"." if n == 1 else rb"[\x01-\xff]" + b".{%d}" % (n - 1)


def _values(head: Callable[[int, int], bytes], ident: int, width: int, tail: bytes) -> bytes:
    """One group: the field with its canonical value in each length up to ceil(width/8) bytes.

    The header length does not depend on the value's length (all lengths are
    one byte below MAX_WIDTH), so the value is always at the same offset.
    Padded values are left to the general path, so what matches is the read form.
    """
    return _choice(
        [re.escape(head(ident, n)) + _canonical(n) + tail for n in range(1, (width + 7) // 8 + 1)]
    )


class _Action:
    def __init__(self, name: str, group: int) -> None:
        self.name = name
        self.group = group  # the action body: action_id and params
        self.params: list[tuple[int, int, int]] = []  # (index in groups(), value start, _odd)


class _TableWire:
    """One table's part of the pattern, and where its groups are."""

    def __init__(self, schema: TableSchema, group: int) -> None:
        self.schema = schema
        self.table = schema.table
        self.group = group  # the TableEntry body
        g = group + 1
        parts = [re.escape(b"\x08" + varint(self.table.id))]
        # (index in Match.groups(), value start, value end, width if not a multiple of 8)
        self.keys: list[tuple[int, int, int | None, int]] = []
        self.lpm: tuple[int, int, int] | None = None  # (index in groups(), key position, width)
        for i, k in enumerate(self.table.keys):
            lpm = k.match_kind is MatchKind.LPM
            head = _lpm_head if lpm else _exact_head
            parts.append(_values(head, k.id, k.bitwidth, _LPM_TAIL if lpm else b""))
            self.keys.append((g - 1, len(head(k.id, 1)), -2 if lpm else None, _odd(k.bitwidth)))
            if lpm:
                self.lpm = (g - 1, i, k.bitwidth)
            g += 1
        g_keys_end = g - 1  # the last key's group
        choices = []
        self.actions: list[_Action] = []
        for action_id, spec in schema.actions.items():
            if not spec.table_ok:
                continue
            act = _Action(spec.name, g)
            g += 1
            body = [re.escape(b"\x08" + varint(action_id))]
            for pid, (_, width) in spec.params.items():
                body.append(_values(_param_head, pid, width, b""))
                act.params.append((g - 1, len(_param_head(pid, 1)), _odd(width)))
                g += 1
            self.actions.append(act)
            choices.append(b"(" + b"".join(body) + b")")
        # TableAction{1 Action{...}}: its two lengths are checked after the match
        parts.append(rb"\x1a" + _VARINT + rb"\x0a" + _VARINT + b"(?:" + b"|".join(choices) + b")")
        self.pattern = b"(" + b"".join(parts) + b")"
        self.next_group = g
        self.keys_end = g_keys_end


def _odd(width: int) -> int:
    """The width to check values against, or 0 where a canonical value of at most
    width/8 bytes always fits (width a multiple of 8)."""
    return width if width % 8 else 0


def eligible(schema: TableSchema) -> bool:
    """Whether a table's INSERTs can be decoded from their bytes."""
    table = schema.table
    widths = [k.bitwidth for k in table.keys]
    widths += [w for a in table.actions.values() for _, w in a.params]
    return (
        schema.plain
        and not table.const_entries
        and table.profile is None
        and all(0 < w <= MAX_WIDTH for w in widths)
        and any(a.table_ok for a in schema.actions.values())
    )


def _envelope(te_len: int) -> bytes:
    """WriteRequest field 4 up to a TableEntry body of ``te_len`` bytes:
    Update{1 type INSERT, 2 Entity{2 TableEntry{...}}}."""
    entity = b"\x12" + varint(te_len)
    update = b"\x08\x01\x12" + varint(len(entity) + te_len) + entity
    return b"\x22" + varint(len(update) + te_len) + update


def _action_head(body_len: int) -> bytes:
    """TableEntry field 3 up to an Action body of ``body_len`` bytes: TableAction{1 Action}."""
    inner = b"\x0a" + varint(body_len)
    return b"\x1a" + varint(len(inner) + body_len) + inner


def _field_end(data: bytes, pos: int) -> tuple[int, int] | None:
    """(tag, end) of the protobuf field at ``pos``; None for a group or a broken field."""
    tag, pos = _read_varint(data, pos)
    kind = tag & 7
    if kind == 0:
        _, pos = _read_varint(data, pos)
    elif kind == 1:
        pos += 8
    elif kind == 2:
        size, pos = _read_varint(data, pos)
        pos += size
    elif kind == 5:
        pos += 4
    else:
        return None  # groups (deprecated): let the parsed message say what they hold
    return (tag, pos) if 0 < pos <= len(data) else None


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data):
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if byte < 0x80:
            return value, pos
        shift += 7
    return -1, len(data) + 1  # truncated: _field_end refuses it


_DECLINED = object()


class WireInserts:
    """The wire decoder for one pipeline's tables."""

    def __init__(self, schemas: Schemas) -> None:
        self.tables: dict[int, _TableWire] = {}  # by the group of the TableEntry body
        parts = []
        group = 1
        for tid in schemas.tables:
            schema = schemas[tid]
            if eligible(schema):
                tw = _TableWire(schema, group)
                self.tables[group] = tw
                parts.append(tw.pattern)
                group = tw.next_group
        self.pattern = None
        if parts:
            envelope = rb"\x22" + _VARINT + rb"\x08\x01\x12" + _VARINT + rb"\x12" + _VARINT
            self.pattern = re.compile(envelope + b"(?:" + b"|".join(parts) + b")", re.DOTALL)
        self._envelopes: dict[int, bytes] = {}
        self._action_heads: dict[int, bytes] = {}

    def write(self, data: bytes, count: int, slow: SlowUpdate) -> list[P4RTError | None]:
        """Apply the ``count`` updates of the WriteRequest ``data``; one result each.

        Updates that match are inserted here; ``slow(i)`` applies update ``i``
        from the parsed message. Should the bytes stop making sense as fields,
        the rest go to ``slow`` too.
        """
        results: list[P4RTError | None] = []
        match = self.pattern.match if self.pattern is not None else None
        pos, end, i = 0, len(data), 0
        while pos < end and i < count:
            m = match(data, pos) if match is not None else None
            if m is not None:
                result = self._insert(m, data, pos)
                if result is not _DECLINED:
                    results.append(result)  # type: ignore[arg-type]
                    i += 1
                    pos = m.end()
                    continue
            found = _field_end(data, pos)
            if found is None:
                break
            tag, pos = found
            if tag == _UPDATES << 3 | 2:
                results.append(slow(i))
                i += 1
        results.extend(slow(j) for j in range(i, count))
        return results

    def _insert(self, m: re.Match[bytes], whole: bytes, pos: int) -> object:
        """Insert a matched update: None, its error, or _DECLINED (decode it the general way)."""
        tw = self.tables[m.lastindex]  # type: ignore[index]  # the outermost group closes last
        start, end = m.span(tw.group)
        envelope = self._envelopes.get(end - start)
        if envelope is None:
            envelope = self._envelopes[end - start] = _envelope(end - start)
        if whole[pos:start] != envelope:
            return _DECLINED
        for act in tw.actions:
            body = m.start(act.group)
            if body >= 0:
                break
        head = self._action_heads.get(end - body)
        if head is None:
            head = self._action_heads[end - body] = _action_head(end - body)
        if whole[m.end(tw.keys_end) : body] != head:
            return _DECLINED
        groups = m.groups()
        from_bytes = int.from_bytes
        key = []
        for g, at, stop, odd in tw.keys:
            value = from_bytes(groups[g][at:stop], "big")
            if odd and value >> odd:
                return _DECLINED
            key.append(value)
        plen = 0
        if tw.lpm is not None:
            g, i, width = tw.lpm
            plen = groups[g][-1]
            if plen > width or key[i] & ((1 << width - plen) - 1):
                return _DECLINED
        args = []
        for g, at, odd in act.params:
            value = from_bytes(groups[g][at:], "big")
            if odd and value >> odd:
                return _DECLINED
            args.append(value)
        entry, ident = tw.schema.new_entry(key, plen, ActionCall(act.name, tuple(args)))
        try:
            tw.table.insert_checked(entry, ident)
        except StateError as exc:
            return P4RTError.from_state(exc)
        entry.wire = (entry.action, 0, whole[start:end])  # the read form: see the module doc
        return None
