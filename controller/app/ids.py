"""Small stable integer ids for P4 table keys (VRF, tunnel and next-hop ids).

The pipeline refers to tunnels and next hops by 16-bit ids. An id must stay the
same for as long as its object exists, so that a change elsewhere never rewrites
entries that are still right (reconciliation then writes nothing for them), and
an id is reused only after its object is gone.

Across a daemon restart that keeps the switch (``--keep-switch``) the ids the
switch already uses belong to the previous daemon's objects. ``adopt`` seeds a
pool from them: a key whose object the switch already has gets its old id back
(``hints``, or the caller's ``prefer``), and every other id seen there is
*blocked*, never handed to a new key, until ``settle`` (the switch then holds
only what we wrote). While adopting, released ids stay blocked too: their stale
entries may still be on the switch while deletes are held.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable


class IdPool:
    """Ids ``first..last`` handed out per key; released ids are reused lowest first."""

    def __init__(self, what: str, first: int = 1, last: int = 0xFFFF) -> None:
        self.what = what
        self.first, self.last = first, last
        self._by_key: dict[Hashable, int] = {}
        self._uses: dict[int, int] = {}  # id -> how many keys have it
        self._free: list[int] = []
        self._next = first
        self.hints: dict[Hashable, int] = {}  # key -> the id the switch has for it
        self._blocked: set[int] = set()  # ids the switch may still use for another object
        self._adopting = False

    def get(self, key: Hashable, prefer: int | None = None) -> int:
        """``key``'s id; a new key takes ``prefer`` (or its hint) if no other key has it."""
        found = self._by_key.get(key)
        if found is not None:
            return found
        hint = self.hints.pop(key, None)
        want = prefer if prefer is not None else hint
        if want is not None and self.first <= want <= self.last and want not in self._uses:
            self.reserve(key, want)
            return want
        value = self._take()
        self._bind(key, value)
        return value

    def _bind(self, key: Hashable, value: int) -> None:
        if self._by_key.get(key) == value:
            return
        old = self._by_key.pop(key, None)
        if old is not None and self._unuse(old):
            self._freed(old)
        self._by_key[key] = value
        self._uses[value] = self._uses.get(value, 0) + 1

    def _unuse(self, value: int) -> bool:
        """One key fewer has ``value``; True if none has it now."""
        self._uses[value] -= 1
        if self._uses[value]:
            return False
        del self._uses[value]
        return True

    def _take(self) -> int:
        self._free.sort()
        for i, value in enumerate(self._free):
            if value not in self._blocked:
                return self._free.pop(i)
        while self._next <= self.last:
            value = self._next
            self._next += 1
            if value not in self._blocked:
                return value
            self._free.append(value)  # for after settle()
        raise OverflowError(f"no free {self.what} id left ({self.first}-{self.last})")

    def adopt(self, seen: Iterable[int], hints: dict[Hashable, int] | None = None) -> None:
        """The switch uses ids ``seen``; ``hints`` tells which key each known one is for."""
        self._blocked.update(seen)
        self.hints.update(hints or {})
        self._adopting = True

    def settle(self) -> None:
        """The switch holds only entries written from this pool: every id is ours again."""
        self._blocked.clear()
        self.hints.clear()
        self._adopting = False

    def blocked(self) -> set[int]:
        return set(self._blocked)

    def reserve(self, key: Hashable, value: int) -> None:
        """Bind ``key`` to a fixed value (e.g. a configured VRF table id)."""
        self._bind(key, value)
        if value >= self._next:
            self._free.extend(v for v in range(self._next, value) if v not in self._free)
            self._next = value + 1
        elif value in self._free:
            self._free.remove(value)

    def release(self, key: Hashable) -> None:
        value = self._by_key.pop(key, None)
        if value is not None and self._unuse(value):
            self._freed(value)

    def _freed(self, value: int) -> None:
        self._free.append(value)
        if self._adopting:  # its stale entries may still be on the switch
            self._blocked.add(value)

    def rename(self, old: Hashable, new: Hashable) -> None:
        """``old``'s object is now known as ``new`` and keeps its id (if ``new`` had none)."""
        if old in self._by_key and new not in self._by_key:
            self._by_key[new] = self._by_key.pop(old)

    def peek(self, key: Hashable) -> int | None:
        return self._by_key.get(key)

    def held(self) -> list[Hashable]:
        return list(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)
