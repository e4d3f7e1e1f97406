"""table_gc.py: what a bulk Write leaves is frozen, small Writes are left alone, and
cyclic garbage frozen along the way is reclaimed by the next full collection."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from targets.p4sim.runtime.table_gc import BULK, TableGc

pytestmark = pytest.mark.unit


class Node:
    pass


def cycle() -> weakref.ref[Node]:
    """A young cycle that is garbage at once, and a way to see whether it was reclaimed."""
    node = Node()
    node.me = node  # type: ignore[attr-defined]
    return weakref.ref(node)


@pytest.fixture
def paused() -> Iterator[None]:
    """The collector paused as Device.write pauses it; everything thawed afterwards."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.enable()
        gc.collect()


def test_bulk_writes_are_frozen_and_cycles_reclaimed(paused: None) -> None:
    policy = TableGc(min_full=10)
    garbage = cycle()
    state = [Node() for _ in range(BULK + 500)]  # what a bulk Write leaves
    policy.after_write()  # the first growth past min_full: one full collection
    assert policy.full_collections == 1 and garbage() is None
    frozen = gc.get_freeze_count()
    assert frozen >= len(state)

    garbage = cycle()
    state += [Node() for _ in range(BULK + 500)]
    policy.after_write()  # not yet tripled: frozen, no collection
    assert policy.full_collections == 1
    assert gc.get_freeze_count() >= frozen + BULK and garbage() is not None

    gc.collect()  # the collector's own passes do not look at frozen objects
    assert garbage() is not None
    policy.added = 2 * policy.kept  # as if the state had tripled meanwhile
    state += [Node() for _ in range(BULK)]
    policy.after_write()
    assert policy.full_collections == 2 and garbage() is None


def test_small_writes_keep_the_interpreters_pace(paused: None) -> None:
    policy = TableGc(min_full=10)
    gc.collect()  # resets the young generation's count
    frozen = gc.get_freeze_count()
    state = [Node() for _ in range(10)]
    policy.after_write()
    assert gc.get_freeze_count() == frozen and policy.added == 0 and state
