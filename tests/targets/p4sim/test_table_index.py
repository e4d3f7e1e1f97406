"""Tables update their lookup index per write: check it against a naive model."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from targets.p4sim.state.tables import (
    ActionCall,
    ActionSpec,
    Exact,
    KeyField,
    Lpm,
    MatchKind,
    Table,
    TableEntry,
    Ternary,
)

pytestmark = pytest.mark.unit

ACTIONS = [ActionSpec("fwd", 1, (("port", 9),)), ActionSpec("drop", 2, ())]


def lpm_table() -> Table:
    keys = [KeyField("vrf", 1, MatchKind.EXACT, 2), KeyField("dst", 2, MatchKind.LPM, 8)]
    return Table("fib", 1, keys, ACTIONS, ActionCall("drop"), size=10_000)


def ternary_table() -> Table:
    keys = [KeyField("a", 1, MatchKind.TERNARY, 8)]
    return Table("acl", 2, keys, ACTIONS, ActionCall("drop"), size=10_000)


lpm_ops = st.lists(
    st.tuples(st.booleans(), st.integers(0, 3), st.integers(0, 8), st.integers(0, 255)),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(lpm_ops, st.lists(st.tuples(st.integers(0, 3), st.integers(0, 255)), max_size=20))
def test_lpm_index_matches_longest_prefix_model(ops, probes) -> None:
    t, model = lpm_table(), {}
    for n, (insert, vrf, plen, raw) in enumerate(ops):
        value = raw & (0xFF ^ (0xFF >> plen))
        key = (vrf, value, plen)
        if insert and key not in model:
            t.insert(TableEntry((Exact(vrf), Lpm(value, plen)), ActionCall("fwd", (n,))))
            model[key] = n
        elif not insert and key in model:
            t.delete((Exact(vrf), Lpm(value, plen)))
            del model[key]
    for vrf, dst in probes:
        best = max(
            (
                (p, port)
                for (v, val, p), port in model.items()
                if v == vrf and dst & (0xFF ^ (0xFF >> p)) == val
            ),
            default=None,
        )
        hit = t.lookup((vrf, dst))
        assert (hit.action.args[0] if hit else None) == (best[1] if best else None)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 15), st.integers(0, 15), st.integers(1, 4)),
        max_size=50,
    ),
    st.lists(st.integers(0, 255), max_size=20),
)
def test_ternary_index_keeps_priority_then_insertion_order(ops, probes) -> None:
    t, model = ternary_table(), []  # model: [(value, mask, priority, port)] in insertion order
    for n, (insert, v, m, prio) in enumerate(ops):
        value, mask = v & m, m
        present = [e for e in model if e[:3] == (value, mask, prio)]
        if insert and not present:
            t.insert(TableEntry((Ternary(value, mask),), ActionCall("fwd", (n,)), priority=prio))
            model.append((value, mask, prio, n))
        elif not insert and present:
            t.delete((Ternary(value, mask),), prio)
            model.remove(present[0])
    for x in probes:
        matching = [e for e in model if x & e[1] == e[0]]
        # Highest priority wins; among equals the earliest inserted.
        want = max(matching, key=lambda e: e[2], default=None)
        hit = t.lookup((x,))
        assert (hit.action.args[0] if hit else None) == (want[3] if want else None)
