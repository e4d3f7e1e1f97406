"""A bounds-checked cursor over bytes, so truncation becomes a BgpError, not an IndexError."""

from __future__ import annotations

from collections.abc import Callable

from controller.bgp.wire.errors import BgpError

ErrorFactory = Callable[[str], BgpError]


class Reader:
    """Consumes a bytes value front to back; ``short(reason)`` builds the error for truncation."""

    __slots__ = ("_data", "_pos", "_short")

    def __init__(self, data: bytes, short: ErrorFactory) -> None:
        self._data = data
        self._pos = 0
        self._short = short

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    @property
    def offset(self) -> int:
        return self._pos

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self._pos + n > len(self._data):
            raise self._short(f"{what} needs {n} octets, {self.remaining} left")
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def u8(self, what: str) -> int:
        return self.take(1, what)[0]

    def u16(self, what: str) -> int:
        return int.from_bytes(self.take(2, what), "big")

    def u32(self, what: str) -> int:
        return int.from_bytes(self.take(4, what), "big")

    def rest(self) -> bytes:
        chunk = self._data[self._pos :]
        self._pos = len(self._data)
        return chunk
