"""Match-action tables: entries, default actions, lookup.

A table is keyed by the P4Info names/ids of its key fields and actions.
Entries hold plain ints. Priorities follow P4Runtime: a larger number wins.
Lookup picks a strategy once per table shape so the per-packet path is a
dict probe for exact tables and a few probes (one per prefix length in use)
for exact+LPM tables; ternary/range/optional tables scan entries in priority
order.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence

# the values a table holds, re-exported: callers import them from here
from targets.p4sim.state.entries import (
    ActionCall,
    ActionSpec,
    Exact,
    FieldMatch,
    KeyField,
    Lpm,
    MatchKind,
    Optional,
    Range,
    TableEntry,
    Ternary,
)
from targets.p4sim.state.errors import StateError

__all__ = [
    "ActionCall",
    "ActionSpec",
    "Exact",
    "FieldMatch",
    "KeyField",
    "Lpm",
    "MatchKind",
    "Optional",
    "Range",
    "Table",
    "TableEntry",
    "Ternary",
]


def _exact_lpm_slot(matches: Sequence[FieldMatch | None]) -> tuple[int, tuple[int, ...]]:
    """(prefix length, key values) of an exact/LPM entry: its lookup slot and identity."""
    vals = []
    plen = 0
    for m in matches:
        if isinstance(m, Lpm):
            plen = m.prefix_len
        assert isinstance(m, Exact | Lpm)
        vals.append(m.value)
    return plen, tuple(vals)


def _full_range(width: int) -> Range:
    return Range(0, (1 << width) - 1)


class Table:
    """A table instance with its entries and default action."""

    def __init__(
        self,
        name: str,
        id: int,
        keys: Sequence[KeyField],
        actions: Sequence[ActionSpec],
        default_action: ActionCall,
        *,
        const_default: bool = False,
        const_entries: bool = False,
        size: int = 1024,
        direct_counter: str | None = None,
        direct_meter: str | None = None,
    ) -> None:
        self.name = name
        self.id = id
        self.keys = tuple(keys)
        self.actions = {a.name: a for a in actions}
        self.size = size
        self.const_default = const_default
        self.const_entries = const_entries
        self.direct_counter = direct_counter
        self.direct_meter = direct_meter
        self.profile: object = None  # ActionProfile when the table has an implementation
        self._initial_default = default_action
        self.default_entry = TableEntry((), self._check_action(default_action, default=True))
        kinds = {k.match_kind for k in self.keys}
        self.needs_priority = bool(kinds & {MatchKind.TERNARY, MatchKind.RANGE, MatchKind.OPTIONAL})
        self._lpm_index = next(
            (i for i, k in enumerate(self.keys) if k.match_kind is MatchKind.LPM), -1
        )
        self._entries: dict[tuple[object, ...], TableEntry] = {}
        # Exact / exact+LPM index: prefix_len -> {masked key tuple: entry}.
        self._by_plen: dict[int, dict[tuple[int, ...], TableEntry]] = {}
        self._plens: list[int] = []
        self._plen_masks: dict[int, int] = {}
        # Ternary/range/optional: entries in match order, with their sort keys.
        self._scan_checks: list[tuple[TableEntry, tuple[tuple[int, int, int, int], ...]]] = []
        self._scan_order: list[tuple[int, int]] = []
        self._seq = 0

    # -- validation -----------------------------------------------------
    def _check_action(self, call: ActionCall, *, default: bool = False) -> ActionCall:
        if not isinstance(call, ActionCall):
            check_ref = getattr(self.profile, "check_ref", None)
            if check_ref is None or default:
                raise StateError(f"table {self.name}: entries need a direct action")
            check_ref(call)
            return call
        spec = self.actions.get(call.action)
        if spec is None:
            raise StateError(f"table {self.name}: action {call.action!r} is not in its actions")
        if default and spec.scope == "TABLE_ONLY":
            raise StateError(f"table {self.name}: action {call.action} is @tableonly")
        if not default and spec.scope == "DEFAULT_ONLY":
            raise StateError(f"table {self.name}: action {call.action} is @defaultonly")
        if len(call.args) != len(spec.params):
            raise StateError(
                f"table {self.name}: action {call.action} takes {len(spec.params)} "
                f"arguments, got {len(call.args)}"
            )
        for (pname, width), value in zip(spec.params, call.args, strict=True):
            if value < 0 or value >> width:
                raise StateError(
                    f"action {call.action}: value {value} does not fit param {pname} "
                    f"(bit<{width}>)",
                    "out_of_range",
                )
        return call

    def _normalise(self, matches: Sequence[FieldMatch | None]) -> tuple[FieldMatch, ...]:
        if len(matches) != len(self.keys):
            raise StateError(
                f"table {self.name}: {len(self.keys)} key fields, entry has {len(matches)}"
            )
        out: list[FieldMatch] = []
        for key, m in zip(self.keys, matches, strict=True):
            w, kind, top = key.bitwidth, key.match_kind, (1 << key.bitwidth) - 1
            where = f"table {self.name} field {key.name}"
            if m is None:
                if kind is MatchKind.EXACT:
                    raise StateError(f"{where}: exact field cannot be a wildcard")
                wild: dict[MatchKind, FieldMatch] = {
                    MatchKind.LPM: Lpm(0, 0),
                    MatchKind.TERNARY: Ternary(0, 0),
                    MatchKind.RANGE: _full_range(w),
                    MatchKind.OPTIONAL: Optional(None),
                }
                m = wild[kind]
            if kind is MatchKind.EXACT and isinstance(m, Exact):
                vals = [m.value]
            elif kind is MatchKind.LPM and isinstance(m, Lpm):
                if not 0 <= m.prefix_len <= w:
                    raise StateError(f"{where}: prefix length {m.prefix_len} > {w}")
                if m.value & (top >> m.prefix_len):
                    raise StateError(f"{where}: value has bits set beyond the prefix length")
                vals = [m.value]
            elif kind is MatchKind.TERNARY and isinstance(m, Ternary):
                if m.value & ~m.mask:
                    raise StateError(f"{where}: value has bits set outside the mask")
                vals = [m.value, m.mask]
            elif kind is MatchKind.RANGE and isinstance(m, Range):
                if m.low > m.high:
                    raise StateError(f"{where}: range low {m.low} > high {m.high}")
                vals = [m.low, m.high]
            elif kind is MatchKind.OPTIONAL and isinstance(m, Optional):
                vals = [] if m.value is None else [m.value]
            else:
                raise StateError(f"{where}: {type(m).__name__} match on a {kind} field")
            for v in vals:
                if v < 0 or v > top:
                    raise StateError(f"{where}: value {v} wider than bit<{w}>", "out_of_range")
            out.append(m)
        return tuple(out)

    def _identity(self, matches: tuple[FieldMatch, ...], priority: int) -> tuple[object, ...]:
        # Exact/LPM tables: the lookup slot (prefix length, values), plain ints
        # hashed in C; the others: the match objects with the priority.
        if not self.needs_priority:
            return _exact_lpm_slot(matches)
        return (matches, priority)

    # -- control-plane operations ----------------------------------------
    def insert(self, entry: TableEntry) -> None:
        """Add an entry; StateError(kind="already_exists") if its key is present."""
        if self.const_entries and not entry.is_const:
            raise StateError(f"table {self.name} has const entries", "invalid")
        entry.matches = self._normalise(entry.matches)
        self._check_action(entry.action)
        self.insert_checked(entry, self._identity(entry.matches, entry.priority))

    def insert_checked(self, entry: TableEntry, ident: tuple[object, ...]) -> None:
        """``insert`` for a caller that has already done its checks, as strictly.

        ``entry.matches`` is normalised (wildcards filled in), the action and
        const rules are checked, ``ident`` is ``identity(entry)``: the P4Runtime
        server's per-table decoder does all that while decoding a write.
        """
        if ident in self._entries:
            raise StateError(f"table {self.name}: entry already exists", "already_exists")
        if len(self._entries) >= self.size and not entry.is_const:
            raise StateError(f"table {self.name} is full ({self.size} entries)", "exhausted")
        self._entries[ident] = entry
        self._index_add(entry, ident)

    def identity(self, entry: TableEntry) -> tuple[object, ...]:
        """The key an entry is stored under (its matches must be normalised)."""
        return self._identity(entry.matches, entry.priority)  # type: ignore[arg-type]

    def _find(self, matches: Sequence[FieldMatch | None], priority: int) -> tuple[object, ...]:
        ident = self._identity(self._normalise(matches), priority)
        if ident not in self._entries:
            raise StateError(f"table {self.name}: no such entry", "not_found")
        return ident

    def modify(self, entry: TableEntry) -> None:
        """Replace action/metadata of an existing entry; direct counters are kept."""
        if self.const_entries:
            raise StateError(f"table {self.name} has const entries", "invalid")
        ident = self._find(entry.matches, entry.priority)
        old = self._entries[ident]
        old.action = self._check_action(entry.action)
        old.controller_metadata = entry.controller_metadata

    def delete(self, matches: Sequence[FieldMatch | None], priority: int = 0) -> None:
        if self.const_entries:
            raise StateError(f"table {self.name} has const entries", "invalid")
        self._index_remove(self._entries.pop(self._find(matches, priority)))

    def get(self, matches: Sequence[FieldMatch | None], priority: int = 0) -> TableEntry:
        return self._entries[self._find(matches, priority)]

    def entries(self) -> Iterator[TableEntry]:
        return iter(list(self._entries.values()))

    def clear(self) -> None:
        """Remove all non-const entries and restore the program's default action."""
        self._entries = {k: e for k, e in self._entries.items() if e.is_const}
        self._rebuild()
        self.default_entry = TableEntry((), self._initial_default)

    def set_default(self, call: ActionCall) -> None:
        if self.const_default:
            raise StateError(f"table {self.name}: default action is const", "invalid")
        self.default_entry.action = self._check_action(call, default=True)

    def reset_default(self) -> None:
        self.default_entry.action = self._initial_default

    def __len__(self) -> int:
        return len(self._entries)

    # -- data-plane lookup -------------------------------------------------
    # Lookup structures are updated per entry, so bulk writes of n entries cost
    # O(n log n) overall instead of a full rebuild per write.
    def _rebuild(self) -> None:
        self._by_plen = {}
        self._plens = []
        self._plen_masks = {}
        self._scan_checks = []
        self._scan_order = []
        for e in self._entries.values():
            self._index_add(e)

    def _set_plens(self) -> None:
        self._plens = sorted(self._by_plen, reverse=True)
        li = self._lpm_index
        if li >= 0:
            top = (1 << self.keys[li].bitwidth) - 1
            self._plen_masks = {p: top ^ (top >> p) for p in self._plens}

    def _scan_tests(self, e: TableEntry) -> tuple[tuple[int, int, int, int], ...]:
        tests: list[tuple[int, int, int, int]] = []  # (index, mode, a, b)
        for i, (k, m) in enumerate(zip(self.keys, e.matches, strict=True)):
            w = k.bitwidth
            if isinstance(m, Exact):
                tests.append((i, 0, (1 << w) - 1, m.value))
            elif isinstance(m, Lpm):
                if m.prefix_len:
                    mask = ((1 << w) - 1) ^ (((1 << w) - 1) >> m.prefix_len)
                    tests.append((i, 0, mask, m.value))
            elif isinstance(m, Ternary):
                if m.mask:
                    tests.append((i, 0, m.mask, m.value))
            elif isinstance(m, Range):
                if (m.low, m.high) != (0, (1 << w) - 1):
                    tests.append((i, 1, m.low, m.high))
            elif isinstance(m, Optional) and m.value is not None:
                tests.append((i, 0, (1 << w) - 1, m.value))
        return tuple(tests)

    def _index_add(self, e: TableEntry, ident: tuple[object, ...] | None = None) -> None:
        if not self.needs_priority:
            # ``ident`` is the entry's slot here (see _identity)
            slot: tuple[int, tuple[int, ...]] = ident or _exact_lpm_slot(e.matches)  # type: ignore[assignment]
            plen, vals = slot
            bucket = self._by_plen.get(plen)
            if bucket is None:
                bucket = self._by_plen[plen] = {}
                self._set_plens()
            bucket[vals] = e
            return
        # Higher priority first; equal priorities keep insertion order (first wins).
        self._seq += 1
        order = (-e.priority, self._seq)
        at = bisect.bisect(self._scan_order, order)
        self._scan_order.insert(at, order)
        self._scan_checks.insert(at, (e, self._scan_tests(e)))

    def _index_remove(self, e: TableEntry) -> None:
        if not self.needs_priority:
            plen, vals = _exact_lpm_slot(e.matches)
            bucket = self._by_plen[plen]
            del bucket[vals]
            if not bucket:
                del self._by_plen[plen]
                self._set_plens()
            return
        at = next(i for i, (x, _) in enumerate(self._scan_checks) if x is e)
        del self._scan_checks[at]
        del self._scan_order[at]

    def lookup(self, key: tuple[int, ...]) -> TableEntry | None:
        """The matching entry for these key values, or None (miss)."""
        if not self.needs_priority:
            li = self._lpm_index
            if li < 0:
                d = self._by_plen.get(0)
                return d.get(key) if d else None
            masks = self._plen_masks
            v = key[li]
            for plen in self._plens:
                k = list(key)
                k[li] = v & masks[plen]
                hit = self._by_plen[plen].get(tuple(k))
                if hit is not None:
                    return hit
            return None
        for e, tests in self._scan_checks:
            for i, mode, a, b in tests:
                x = key[i]
                if mode == 0:
                    if x & a != b:
                        break
                elif not a <= x <= b:
                    break
            else:
                return e
        return None
