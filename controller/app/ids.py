"""Small stable integer ids for P4 table keys (VRF, tunnel and next-hop ids).

The pipeline refers to tunnels and next hops by 16-bit ids. An id must stay the
same for as long as its object exists, so that a change elsewhere never rewrites
entries that are still right (reconciliation then writes nothing for them), and
an id is reused only after its object is gone.
"""

from __future__ import annotations

from collections.abc import Hashable


class IdPool:
    """Ids ``first..last`` handed out per key; released ids are reused lowest first."""

    def __init__(self, what: str, first: int = 1, last: int = 0xFFFF) -> None:
        self.what = what
        self.first, self.last = first, last
        self._by_key: dict[Hashable, int] = {}
        self._free: list[int] = []
        self._next = first

    def get(self, key: Hashable) -> int:
        found = self._by_key.get(key)
        if found is not None:
            return found
        if self._free:
            self._free.sort()
            value = self._free.pop(0)
        elif self._next <= self.last:
            value = self._next
            self._next += 1
        else:
            raise OverflowError(f"no free {self.what} id left ({self.first}-{self.last})")
        self._by_key[key] = value
        return value

    def reserve(self, key: Hashable, value: int) -> None:
        """Bind ``key`` to a fixed value (e.g. a configured VRF table id)."""
        self._by_key[key] = value
        if value >= self._next:
            self._free.extend(v for v in range(self._next, value) if v not in self._free)
            self._next = value + 1
        elif value in self._free:
            self._free.remove(value)

    def release(self, key: Hashable) -> None:
        value = self._by_key.pop(key, None)
        if value is not None and value not in self._by_key.values():
            self._free.append(value)

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
