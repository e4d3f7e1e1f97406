"""A blocking facade over the controller's asyncio P4Runtime client.

Packet tests are synchronous (PTF's dataplane is threaded and blocking), and
the target outlives a single test, so the client runs on its own event loop in
a background thread and every call here waits for its result.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

from finsy.proto import p4i

from controller.p4rt import (
    CounterEntry,
    P4RuntimeClient,
    PacketIn,
    PacketOut,
    TableEntry,
)

T = TypeVar("T")


class SyncP4Runtime:
    """One primary P4Runtime session, driven from synchronous test code."""

    def __init__(self, address: str, device_id: int = 1) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.client = P4RuntimeClient(address, device_id=device_id, election_id=1)

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def connect(self, timeout: float = 10.0) -> None:
        self._run(self.client.connect(timeout), timeout + 5)

    def set_pipeline(self, p4info: p4i.P4Info, device_config: bytes) -> None:
        self._run(self.client.set_pipeline(p4info, device_config), 120)

    def insert(self, entries: Iterable[TableEntry]) -> None:
        self._run(self.client.insert(list(entries)))

    def modify(self, entries: Iterable[TableEntry]) -> None:
        self._run(self.client.modify(list(entries)))

    def delete(self, entries: Iterable[TableEntry]) -> None:
        self._run(self.client.delete(list(entries)))

    def read_table(self, table: str) -> list[TableEntry]:
        got = self._run(self.client.read([TableEntry(table)]))
        return [ent for ent in got if isinstance(ent, TableEntry)]

    def counter(self, name: str, index: int) -> tuple[int, int]:
        """(packets, bytes) of one indexed counter cell."""
        got = self._run(self.client.read([CounterEntry(name, index)]))
        for ent in got:
            if isinstance(ent, CounterEntry) and ent.index == index and ent.data is not None:
                return ent.data.packets, ent.data.bytes
        raise AssertionError(f"counter {name}[{index}] not returned by the switch")

    def counter_cells(self, *names: str) -> dict[str, dict[int, tuple[int, int]]]:
        """(packets, bytes) of every cell of the named counters, read in one request."""
        got = self._run(self.client.read([CounterEntry(name) for name in names]))
        cells: dict[str, dict[int, tuple[int, int]]] = {name: {} for name in names}
        for ent in got:
            if isinstance(ent, CounterEntry) and ent.index is not None and ent.data is not None:
                cells[ent.counter][ent.index] = (ent.data.packets, ent.data.bytes)
        return cells

    def entry_string(self, entry: TableEntry) -> str:
        return self.client.entry_string(entry)

    def packet_out(self, frame: bytes, *, egress_port: int = 0, do_forward: bool) -> None:
        meta = {"egress_port": egress_port, "do_forward": int(do_forward), "pad": 0}
        self._run(self.client.packet_out(PacketOut(frame, meta)))

    def packet_in(self, timeout: float = 2.0) -> PacketIn | None:
        try:
            return self._run(self.client.packet_in(timeout), timeout + 5)
        except TimeoutError:
            return None

    def drain_packet_ins(self) -> int:
        """Discard queued packet-ins (on the client's loop: asyncio queues are not thread-safe)."""

        async def drain() -> int:
            n = 0
            while not self.client.packet_ins.empty():
                self.client.packet_ins.get_nowait()
                n += 1
            return n

        return self._run(drain())

    def close(self) -> None:
        try:
            self._run(self.client.close(), 10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
