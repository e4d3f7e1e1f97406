"""Per-table decoders and encoders compiled once per pipeline: the write and read fast paths.

A batch of 1,000 inserts spends most of its time asking, for every entry,
questions whose answers only depend on the table: which key field has this
id, how wide is it, which action has that id. :class:`TableSchema` answers
them from dicts built once, and decodes the common shape -- an exact/LPM
table, every field given once with a well-formed value, a direct action with
all its parameters -- without building error text or intermediate objects.

The fast path only ever accepts. Anything it does not recognise as valid
(an unknown id, a repeated field, a value too wide, a ternary table, ...)
makes it return ``None``, and the caller decodes the update the general way
(table_codec.py), which raises the error the spec asks for. So a fast path
can never be more lenient than the checks it skips, and every message and
code stays where it was.

Reads encode each stored entry to its canonical ``p4.v1.TableEntry`` bytes
(protobuf wire format, fields in number order) and keep them on the entry
until its action or controller metadata changes.
"""

from __future__ import annotations

from finsy.proto import p4r

from targets.p4sim.runtime.table_codec import ParamIds, encode_entry, find_table
from targets.p4sim.state import ActionCall, Exact, Lpm, MatchKind, Table, TableEntry

ENTITY_TABLE_ENTRY = 0x12  # p4.v1.Entity field 2 (table_entry), length-delimited
_NO_PRIORITY = frozenset({MatchKind.EXACT, MatchKind.LPM})
_FieldSpec = tuple[int, str, int]  # key position, FieldMatch oneof name, bitwidth


def varint(n: int) -> bytes:
    """Protobuf base-128 varint of a non-negative int."""
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field: tag byte, length, payload."""
    return bytes((tag,)) + varint(len(payload)) + payload


def _value(data: bytes, width: int) -> int | None:
    """The int a bytestring carries if it is acceptable for ``width`` bits, else None."""
    value = int.from_bytes(data, "big")
    if not data or (width and value >> width):
        return None
    return value


class _Action:
    def __init__(
        self, action_id: int, name: str, ids: tuple[int, ...], widths: tuple[int, ...], scope: str
    ) -> None:
        self.name = name
        self.params = {pid: (i, w) for i, (pid, w) in enumerate(zip(ids, widths, strict=True))}
        self.count = len(ids)
        self.table_ok = scope != "DEFAULT_ONLY"
        # Read form: Action {1 action_id, 4 Param {2 param_id, 3 value}}, the bytes
        # before each value precomputed by value length.
        self.head = b"\x08" + varint(action_id)
        self.param_heads = [_param_heads(pid, w) for pid, w in zip(ids, widths, strict=True)]

    def encoded(self, args: tuple[int, ...]) -> bytes:
        out = [self.head]
        for heads, value in zip(self.param_heads, args, strict=True):
            data = _canonical(value)
            out.append(heads[len(data)] + data)
        return field(0x1A, field(0x0A, b"".join(out)))


SHARED_BELOW = 1 << 16  # exact values shared between entries (Exact is immutable)
MAX_WIDTH = 512  # bits: up to here every length in a template is one byte


def _short(tag: int, head: bytes, n: int) -> bytes:
    """Tag and one-byte length of a field whose payload is ``head`` plus ``n`` more bytes."""
    return bytes((tag, len(head) + n)) + head


def _lengths(width: int) -> range:
    """Every length a canonical value of ``width`` bits can have (index 0 unused)."""
    return range((width + 7) // 8 + 1)


def _param_heads(pid: int, width: int) -> list[bytes]:
    body = b"\x10" + varint(pid) + b"\x1a"  # Param {2 param_id, 3 value}
    return [_short(0x22, body + bytes((n,)), n) for n in _lengths(width)]


def _key_heads(fid: int, width: int, lpm: bool) -> list[bytes]:
    f = b"\x08" + varint(fid)  # FieldMatch {1 field_id, 2 Exact {1 value} | 4 LPM {...}}
    if lpm:  # LPM {1 value, 2 prefix_len}: the value, then 0x10 and the length, follow
        return [
            _short(0x12, f + _short(0x22, b"\x0a" + bytes((n,)), n + 2), n + 2)
            for n in _lengths(width)
        ]
    return [_short(0x12, f + _short(0x12, b"\x0a" + bytes((n,)), n), n) for n in _lengths(width)]


def _canonical(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")


class TableSchema:
    """What the P4Runtime server needs to know about one table, by P4Info id."""

    def __init__(self, table: Table, pids: ParamIds) -> None:
        self.table = table
        self.pids = pids
        keys = table.keys
        # Exact/LPM tables (at most one LPM field): the shape the fast path decodes.
        self.plain = (
            bool(keys)
            and all(k.match_kind in _NO_PRIORITY for k in keys)
            and sum(k.match_kind is MatchKind.LPM for k in keys) <= 1
        )
        self.fields: dict[int, _FieldSpec] = {
            k.id: (i, str(k.match_kind), k.bitwidth) for i, k in enumerate(keys)
        }
        self.lpm_pos = next((i for i, k in enumerate(keys) if k.match_kind is MatchKind.LPM), -1)
        self.exact_count = sum(k.match_kind is MatchKind.EXACT for k in keys)
        self.actions: dict[int, _Action] = {}
        for spec in table.actions.values():
            ids = pids.get(spec.name) or tuple(range(1, len(spec.params) + 1))
            widths = tuple(w for _, w in spec.params)
            self.actions[spec.id] = _Action(spec.id, spec.name, ids, widths, spec.scope)
        self.by_name = {a.name: a for a in self.actions.values()}
        # Read form of a plain table's entries: the bytes before each value, by length.
        sizes = [k.bitwidth for k in keys] + [
            w for a in table.actions.values() for _, w in a.params
        ]
        self.templated = self.plain and all(0 < w <= MAX_WIDTH for w in sizes)
        self.key_heads = [
            _key_heads(k.id, k.bitwidth, i == self.lpm_pos) for i, k in enumerate(keys)
        ]
        self.head = b"\x08" + varint(table.id)
        self.shared: dict[int, Exact] = {}

    # -- writes ------------------------------------------------------------
    def decode(self, te: p4r.TableEntry) -> tuple[TableEntry, tuple[int, tuple[int, ...]]] | None:
        """A valid non-default entry of a plain table and its identity, or None (go slow).

        Entries with direct-resource data or idle-timeout fields go slow too.
        """
        if not self.plain or te.priority or te.idle_timeout_ns:
            return None
        has = te.HasField
        if has("counter_data") or has("meter_config") or has("meter_counter_data"):
            return None
        if has("time_since_last_hit"):
            return None
        n = len(self.table.keys)
        vals: list[int | None] = [None] * n
        plen = 0
        exact = 0
        fields = self.fields
        # A FieldMatch of another kind than the key's reads as an empty value here
        # (the oneof's other members are unset), which declines: no WhichOneof needed.
        from_bytes = int.from_bytes
        for fm in te.match:
            spec = fields.get(fm.field_id)
            if spec is None:
                return None
            i, kind, width = spec
            if vals[i] is not None:
                return None
            if kind == "exact":
                data = fm.exact.value
                value = from_bytes(data, "big")
                if not data or value >> width:
                    return None
                exact += 1
            else:
                lpm = fm.lpm
                data = lpm.value
                value = from_bytes(data, "big")
                plen = lpm.prefix_len
                if not data or value >> width or not 0 < plen <= width:
                    return None
                if value & ((1 << width - plen) - 1):
                    return None
            vals[i] = value
        if exact != self.exact_count:
            return None
        call = self.decode_action(te)
        if call is None:
            return None
        li = self.lpm_pos
        if li >= 0 and vals[li] is None:
            vals[li] = 0  # an omitted LPM field is the /0 wildcard
        entry, ident = self.new_entry(vals, plen, call)  # type: ignore[arg-type]
        entry.controller_metadata = te.controller_metadata
        return entry, ident

    def new_entry(
        self, key: list[int], plen: int, call: ActionCall
    ) -> tuple[TableEntry, tuple[int, tuple[int, ...]]]:
        """An entry of this plain table from checked key values, and its identity."""
        li = self.lpm_pos
        values = tuple(key)
        shared = self.shared  # small values repeat (VRF ids, ports): one Exact each
        matches: list[Exact | Lpm] = []
        for i, v in enumerate(values):
            if i == li:
                matches.append(Lpm(v, plen))
                continue
            m = shared.get(v)
            if m is None:
                m = Exact(v)
                if v < SHARED_BELOW:
                    shared[v] = m
            matches.append(m)
        return TableEntry(tuple(matches), call, 0), (plen, values)

    def decode_action(self, te: p4r.TableEntry) -> ActionCall | None:
        """The direct action of a non-default entry if it is valid as given, else None."""
        act = te.action.action  # unset (action id 0) when the entry names a profile
        spec = self.actions.get(act.action_id)
        if spec is None or not spec.table_ok:
            return None
        args: list[int | None] = [None] * spec.count
        params = spec.params
        for p in act.params:
            where = params.get(p.param_id)
            if where is None or args[where[0]] is not None:
                return None
            args[where[0]] = _value(p.value, where[1])
        if None in args:
            return None
        return ActionCall(spec.name, tuple(args))  # type: ignore[arg-type]

    # -- reads -------------------------------------------------------------
    def encoded(self, entry: TableEntry, *, default: bool = False) -> bytes:
        """The entry's canonical TableEntry bytes, as a Read answers them (cached)."""
        cached = entry.wire
        if (
            isinstance(cached, tuple)
            and cached[0] is entry.action
            and cached[1] == entry.controller_metadata
        ):
            return bytes(cached[2])
        data = None if default else self._from_template(entry)
        if data is None:
            data = encode_entry(self.table, self.pids, entry, default=default).SerializeToString()
        entry.wire = (entry.action, entry.controller_metadata, data)
        return data

    def _from_template(self, entry: TableEntry) -> bytes | None:
        """The read form of a plain entry from the templates (None: not one)."""
        call = entry.action
        act = self.by_name.get(call.action) if isinstance(call, ActionCall) else None
        if not self.templated or act is None or entry.controller_metadata or entry.is_const:
            return None
        out = [self.head]
        for heads, m in zip(self.key_heads, entry.matches, strict=True):
            if isinstance(m, Lpm):
                if not m.prefix_len:
                    continue  # the /0 wildcard is omitted
                if m.prefix_len > 127:
                    return None
                data = _canonical(m.value)
                out.append(heads[len(data)] + data + b"\x10" + bytes((m.prefix_len,)))
            elif isinstance(m, Exact):
                data = _canonical(m.value)
                out.append(heads[len(data)] + data)
            else:
                return None
        out.append(act.encoded(call.args))
        return b"".join(out)


class Schemas(dict[int, TableSchema]):
    """The pipeline's table schemas by table id, each built when first used.

    An id the P4Info does not define raises like ``find_table`` (INVALID_ARGUMENT).
    """

    def __init__(self, tables: dict[int, Table], pids: ParamIds) -> None:
        super().__init__()
        self.tables = tables
        self.pids = pids

    def __missing__(self, table_id: int) -> TableSchema:
        schema = self[table_id] = TableSchema(find_table(self.tables, table_id), self.pids)
        return schema
