"""Desired state in, minimal P4Runtime writes out, touching only what changed.

Three kinds of write round:

* **full** -- after a (re)connection, a failed write, or while deletes are held:
  read the switch and diff the whole rebuilt desired state against it
  (``p4rt.diff``). That is what makes a restarted daemon write only the
  difference, and a switch that may hold anything end up right.
* **incremental** -- otherwise: only the keys the desired state reports as
  changed (``DesiredState.changes()``) are encoded and diffed against what was
  last written under those keys. With 10,000 routes one route change costs one
  entry, not a rebuild of 10,000.
* **check** -- every ``check_every`` seconds instead of an incremental round
  (``check_due()``; the daemon writes a round for it even when idle):
  rebuild in full, compare with the incremental path (a difference is a bug,
  logged as drift and repaired) and write whatever differs from what was last
  written. The switch is not read: it only changes through us while connected.

``p4rt.diff`` decides INSERT/MODIFY/DELETE and their dependency order
(``desired.TABLE_ORDER``) in every kind. ``hold_deletes`` keeps entries the
desired state no longer has (a restarted daemon reconverging).

The first read of a switch also seeds the state's id pools from what it holds
(``DesiredState.adopt_ids``), so a restarted daemon keeps the previous one's
tunnel and next-hop ids and gives no new object an id a stale entry still
uses; once a full round leaves nothing stale, ``settle_ids`` frees them all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from finsy.proto import p4r

from controller.app.desired import DesiredState, Key
from controller.p4rt import Codec, P4RuntimeClient, P4RuntimeClientError, TableEntry, diff
from controller.p4rt.reconcile import plan_changes

_WRITES = {
    p4r.Update.INSERT: P4RuntimeClient.insert,
    p4r.Update.MODIFY: P4RuntimeClient.modify,
    p4r.Update.DELETE: P4RuntimeClient.delete,
}

log = logging.getLogger("sl3vpn.writer")

CHECK_EVERY = 60.0  # seconds between full rebuilds checking the incremental path


class SwitchWriter:
    def __init__(
        self,
        order: tuple[str, ...],
        check_every: float = CHECK_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.order = order
        self.check_every = check_every
        self.clock = clock
        self.last: dict[Key, TableEntry] | None = None  # None: read the switch first
        self._adopt = True  # the next read seeds the id pools (a new switch or daemon)
        self.next_check = 0.0
        self.totals = {
            "insert": 0,
            "modify": 0,
            "delete": 0,
            "rounds": 0,
            "held_rounds": 0,
            "full_rounds": 0,
            "checks": 0,
            "drift": 0,
        }
        self.rpc_seconds = 0.0  # time spent in Read/Write RPCs (the switch's share)

    def forget(self) -> None:
        """The switch may hold anything (new connection, failed write): read it next time."""
        self.last = None
        self._adopt = True

    def check_due(self) -> bool:
        """A check round is due (the daemon writes then even without news)."""
        return self.last is not None and self.clock() >= self.next_check

    async def write(
        self, client: P4RuntimeClient, state: DesiredState, hold_deletes: bool = False
    ) -> dict[str, int]:
        try:
            return await self._write(client, state, hold_deletes)
        except Exception:
            # Changes taken from the state may not have reached the switch: next time,
            # read the switch and rebuild in full.
            self.last = None
            raise

    async def _write(
        self, client: P4RuntimeClient, state: DesiredState, hold_deletes: bool
    ) -> dict[str, int]:
        if self.last is None or hold_deletes:
            counts = await self._full_round(client, state, hold_deletes)
        else:
            counts = await self._incremental_round(client, state, self.last)
        if not hold_deletes:  # the switch holds exactly what we wrote, nothing stale
            state.settle_ids()
        self.totals["rounds"] += 1
        for k, v in counts.items():
            self.totals[k] += v
        return counts

    async def _full_round(
        self, client: P4RuntimeClient, state: DesiredState, hold_deletes: bool
    ) -> dict[str, int]:
        """Read the switch, rebuild everything, write the protobuf diff."""
        codec = client.codec
        assert codec is not None, "no pipeline"
        scope = [codec.encode(TableEntry("*"), for_read=True)]
        t0 = time.perf_counter()
        current = await client.read_raw(scope)
        self.rpc_seconds += time.perf_counter() - t0
        if self._adopt:  # before any id is chosen from the entries below
            state.adopt_ids(_table_entries(codec, current))
            self._adopt = False
        keyed = state.keyed()
        state.changes()  # the incremental path catches up; the rebuild covers it
        desired = [codec.encode(e) for e in keyed.values()]
        self.totals["full_rounds"] += 1
        self.next_check = self.clock() + self.check_every
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
        finally:
            self.rpc_seconds += time.perf_counter() - t0
        self.last = None if held else keyed
        if held:
            counts["delete"] = 0
            self.totals["held_rounds"] += 1
        return counts

    async def _incremental_round(
        self, client: P4RuntimeClient, state: DesiredState, old: dict[Key, TableEntry]
    ) -> dict[str, int]:
        """Write what changed under each key against what we last wrote there.

        ``old`` is what the switch holds, so the plan comes from the entries
        themselves (``plan_changes``): nothing is encoded to be compared, and
        the client encodes each batch while the one before is in flight.
        """
        codec = client.codec
        assert codec is not None, "no pipeline"
        if self.check_due():
            keyed, drift = state.check()
            self._report_drift(drift)
            changes: dict[Key, TableEntry | None] = {k: keyed.get(k) for k in old}
            changes.update(keyed)
            self.next_check = self.clock() + self.check_every
        else:
            changes = state.changes()
        changed = {k: e for k, e in changes.items() if old.get(k) != e}
        plan = plan_changes(codec, [(old.get(k), e) for k, e in changed.items()], order=self.order)
        t0 = time.perf_counter()
        try:
            for kind, entries in plan.phases:
                await _WRITES[kind](client, entries)
        finally:
            self.rpc_seconds += time.perf_counter() - t0
        for k, e in changed.items():
            if e is None:
                old.pop(k, None)
            else:
                old[k] = e
        return plan.counts

    def _report_drift(self, drift: list[Key]) -> None:
        self.totals["checks"] += 1
        if drift:
            self.totals["drift"] += len(drift)
            log.warning(
                "desired state: the incremental path differed from a full rebuild in %d "
                "entries (e.g. %s); rebuilt it",
                len(drift),
                drift[0],
            )


def _table_entries(codec: Codec, msgs: list[p4r.Entity]) -> list[TableEntry]:
    """The table entries among ``msgs``; one that does not decode is skipped with a warning."""
    out: list[TableEntry] = []
    for msg in msgs:
        try:
            ent = codec.decode(msg)
        except P4RuntimeClientError as exc:
            log.warning(
                "switch: an entry read back does not decode (%s); its ids are not known", exc
            )
            continue
        if isinstance(ent, TableEntry):
            out.append(ent)
    return out
