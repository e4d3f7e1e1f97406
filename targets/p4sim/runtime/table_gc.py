"""The cyclic GC in a switch process whose table state grows a batch at a time.

A Write of 1,000 INSERTs leaves some 6,000 long-lived objects (entries, their
matches and actions) that never form cycles. CPython's collector still walks
them: once in the young generation right after the batch, once in the middle
one, and again in every full collection, which runs each time the old
generation has grown by a quarter. In the p4sim server that was a quarter to a
third of a write's CPU time (benchmarks/p4rt_rate.py with the GC off).

So the server process moves what a Write leaves into the permanent generation
(``gc.freeze``), where the collector does not look, and runs one full
collection (unfreeze, collect, freeze) whenever the objects frozen since the
last one outnumber those it kept: each object is then walked about twice in
all, whatever the table size. Cyclic garbage that happened to be young at a
freeze (a finished RPC's objects, say) is reclaimed by that next full
collection rather than the next young one, so the memory it holds stays below
the size of the state it rides along with. Only the switch process does this
(``sl3vpn p4sim run`` sets ``Device.after_write``, which runs at the end of
each Write while the collector is still paused); in-process users keep the
interpreter's own policy.
"""

from __future__ import annotations

import gc

BULK = 2_000  # objects a Write must leave to be frozen (some 300 INSERTs)
GROWTH = 3  # a full collection when the frozen objects have grown by this factor
MIN_FULL = 500_000  # frozen objects before the first full collection


class TableGc:
    """Freeze what each Write leaves; a full collection each time that doubles."""

    def __init__(self, min_full: int = MIN_FULL) -> None:
        self.min_full = min_full
        self.kept = 0  # objects frozen by the last full collection
        self.added = 0  # objects frozen since
        self.full_collections = 0

    def after_write(self) -> None:
        # The young generation's count (allocations less deallocations since its last
        # collection) stands for what the Write left: get_freeze_count() would walk
        # the whole permanent generation each time.
        young = gc.get_count()[0]
        if young < BULK:
            return  # a small Write: the collector's own pace
        self.added += young
        gc.freeze()
        if self.added > (GROWTH - 1) * max(self.kept, self.min_full):
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.kept, self.added = gc.get_freeze_count(), 0
            self.full_collections += 1
