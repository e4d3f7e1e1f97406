"""Desired table entries kept by key, with the keys changed since they were last taken.

An entry's key is what P4Runtime addresses it by: table, match, priority (and
whether it is the default entry). Each part of the desired state (ports, black
routing, tunnels, VPN routes, ...) owns a *section* of the store. When two
sections want an entry under the same key, the section listed first wins (a
connected subnet beats a BGP route for the same prefix), in the store exactly
as in the full rebuild (:func:`first_wins`), so both agree.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from controller.p4rt import TableEntry

Key = Hashable


def entry_key(e: TableEntry) -> Key:
    """The switch's identity of an entry: two entries with one key cannot both be written."""
    match = tuple(sorted((k, repr(v)) for k, v in e.match.items()))
    return (e.table, match, e.priority, e.is_default)


def first_wins(parts: Iterable[Iterable[TableEntry]]) -> dict[Key, TableEntry]:
    """Entries by key; for a key wanted twice, the earlier part (and entry) wins."""
    out: dict[Key, TableEntry] = {}
    for part in parts:
        for e in part:
            out.setdefault(entry_key(e), e)
    return out


class EntryStore:
    """Entries per section; ``take()`` hands out what changed under each key since the last."""

    def __init__(self, sections: Iterable[str]) -> None:
        self._sections: dict[str, dict[Key, TableEntry]] = {name: {} for name in sections}
        self._dirty: set[Key] = set()

    def put(self, section: str, key: Key, entry: TableEntry) -> None:
        part = self._sections[section]
        if part.get(key) != entry:
            part[key] = entry
            self._dirty.add(key)

    def drop(self, section: str, key: Key) -> None:
        if self._sections[section].pop(key, None) is not None:
            self._dirty.add(key)

    def replace(self, section: str, entries: dict[Key, TableEntry]) -> None:
        """Make ``entries`` the whole section; only keys whose entry changed become dirty."""
        old = self._sections[section]
        self._dirty.update(k for k in old if k not in entries)
        self._dirty.update(k for k, e in entries.items() if old.get(k) != e)
        self._sections[section] = dict(entries)

    def touch(self, keys: Iterable[Key]) -> None:
        """Report these keys at the next take, changed or not."""
        self._dirty.update(keys)

    def pending(self) -> set[Key]:
        """The keys the next take would report."""
        return set(self._dirty)

    def backlog(self) -> int:
        """How many keys the next take would report."""
        return len(self._dirty)

    def get(self, key: Key) -> TableEntry | None:
        for part in self._sections.values():
            found = part.get(key)
            if found is not None:
                return found
        return None

    def take(self) -> dict[Key, TableEntry | None]:
        """Each key changed since the last take, with the entry it now has (None: gone)."""
        out = {k: self.get(k) for k in self._dirty}
        self._dirty.clear()
        return out

    def view(self) -> dict[Key, TableEntry]:
        """Everything the store holds, the first section winning each key."""
        out: dict[Key, TableEntry] = {}
        for part in self._sections.values():
            for k, e in part.items():
                out.setdefault(k, e)
        return out

    def __len__(self) -> int:
        return len(self.view())
