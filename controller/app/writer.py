"""Desired state in, minimal P4Runtime writes out, without re-encoding what did not change.

The first round after a (re)connection reads the switch and diffs the whole
desired state against it (``p4rt.diff``): that is what makes a restarted daemon
write only the difference. Later rounds compare the desired entries with the
ones last written, by key (table, match, priority), and hand only the changed
ones to ``p4rt.diff``, which still decides INSERT/MODIFY/DELETE and their
dependency order. With 10,000 routes a single route change then costs a few
dict lookups per entry instead of encoding and diffing every entry again.

``hold_deletes`` keeps entries the desired state no longer has (used while a
restarted daemon reconverges): those rounds always re-read the switch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable

from finsy.proto import p4r

from controller.p4rt import P4RuntimeClient, TableEntry, diff

log = logging.getLogger("sl3vpn.writer")


def entry_key(e: TableEntry) -> Hashable:
    match = tuple(sorted((k, repr(v)) for k, v in e.match.items()))
    return (e.table, match, e.priority, e.is_default)


class SwitchWriter:
    def __init__(self, order: tuple[str, ...]) -> None:
        self.order = order
        self.last: dict[Hashable, TableEntry] | None = None  # None: read the switch first
        self.totals = {"insert": 0, "modify": 0, "delete": 0, "rounds": 0, "held_rounds": 0}
        self.rpc_seconds = 0.0  # time spent in Read/Write RPCs (the switch's share)

    def forget(self) -> None:
        """The switch may hold anything (new connection, failed write): read it next time."""
        self.last = None

    async def write(
        self, client: P4RuntimeClient, entries: list[TableEntry], hold_deletes: bool = False
    ) -> dict[str, int]:
        codec = client.codec
        assert codec is not None, "no pipeline"
        keyed = {entry_key(e): e for e in entries}
        if self.last is None or hold_deletes:
            scope = [codec.encode(TableEntry("*"), for_read=True)]
            t0 = time.perf_counter()
            current = await client.read_raw(scope)
            self.rpc_seconds += time.perf_counter() - t0
            desired = [codec.encode(e) for e in keyed.values()]
        else:
            old = self.last
            changed = [k for k, e in keyed.items() if old.get(k) != e]
            gone = [k for k in old if k not in keyed]
            desired = [codec.encode(keyed[k]) for k in changed]
            current = [codec.encode(old[k]) for k in changed if k in old]
            current += [codec.encode(old[k]) for k in gone]
        plan = diff(codec, desired, current, order=self.order)
        counts = plan.counts
        held = hold_deletes and counts["delete"] > 0
        t0 = time.perf_counter()
        try:
            for phase in plan.phases:
                if held:
                    phase = [u for u in phase if u.type != p4r.Update.DELETE]
                if phase:
                    await client.write(phase)
        except Exception:
            self.last = None
            raise
        finally:
            self.rpc_seconds += time.perf_counter() - t0
        self.last = None if held else keyed
        if held:
            counts["delete"] = 0
            self.totals["held_rounds"] += 1
        self.totals["rounds"] += 1
        for k, v in counts.items():
            self.totals[k] += v
        return counts
