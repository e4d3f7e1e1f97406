"""The cyclic garbage collector's settings for the daemon: a large heap that lives long.

A full table is a few million objects (RIB paths, desired entries, what was
written), almost none of them in reference cycles, which reference counting
frees anyway. With CPython's default thresholds (700, 10, 10) the collector
walks the whole heap again each time it has grown by a quarter: while 100,000
routes arrive that is several walks of an ever larger heap, about a fifth of
the daemon's CPU for the burst. Here young collections come every 10,000 net
allocations (objects that die young are still reclaimed, with fewer calls) and
a full one at most every 100 middle-generation collections (10 million net
allocations), so a burst is not walked over and over; what start-up built
(code, configuration, the P4Info) is frozen out of the collector's sight.
"""

from __future__ import annotations

import gc

THRESHOLDS = (10_000, 10, 100)


def settle_after_start() -> None:
    """Collect what start-up left, freeze the rest, and set the daemon's thresholds."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
