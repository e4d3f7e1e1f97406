"""plan_changes: the writer's plan from known (was, now) pairs agrees with the protobuf diff."""

from __future__ import annotations

import pytest
from finsy.proto import p4r
from hypothesis import given, settings

from controller.p4rt import Codec, TableEntry, diff
from controller.p4rt.reconcile import plan_changes

from .test_reconcile import route, routes, tunnel

pytestmark = pytest.mark.unit


def by_key(ents: list[TableEntry]) -> dict[tuple[str, str], TableEntry]:
    return {(e.table, repr(sorted(e.match.items()))): e for e in ents}


def pairs(
    current: list[TableEntry], desired: list[TableEntry]
) -> list[tuple[TableEntry | None, TableEntry | None]]:
    have, want = by_key(current), by_key(desired)
    return [(have.get(k), want.get(k)) for k in have.keys() | want.keys()]


def as_diff(codec: Codec, current: list[TableEntry], desired: list[TableEntry]) -> list[str]:
    """diff's updates as (type, bytes), phase by phase, each phase sorted (order within a
    phase is free: a server may apply one Write's updates in any order)."""
    plan = diff(
        codec,
        [codec.encode(x) for x in desired],
        [codec.encode(x) for x in current],
        order=["tunnel", "vrf_fib"],
    )
    return [
        "|".join(sorted(f"{u.type}:{u.entity.SerializeToString().hex()}" for u in phase))
        for phase in plan.phases
    ]


def as_plan(codec: Codec, current: list[TableEntry], desired: list[TableEntry]) -> list[str]:
    plan = plan_changes(codec, pairs(current, desired), order=["tunnel", "vrf_fib"])
    return [
        "|".join(sorted(f"{kind}:{codec.encode(x).SerializeToString().hex()}" for x in ents))
        for kind, ents in plan.phases
    ]


def test_same_phases_as_diff_in_dependency_order(codec: Codec) -> None:
    current = [route(1, "10.0.0.0/8", 5), route(1, "10.2.0.0/16", 6, 2), tunnel(2, "192.0.2.2")]
    current.append(tunnel(1, "192.0.2.1"))
    desired = [route(1, "10.0.0.0/8", 7, 3), tunnel(1, "192.0.2.1"), tunnel(3, "192.0.2.3")]
    desired.append(route(2, "10.0.0.0/8", 5))
    assert as_plan(codec, current, desired) == as_diff(codec, current, desired)
    plan = plan_changes(codec, pairs(current, desired), order=["tunnel", "vrf_fib"])
    assert [k for k, _ in plan.phases] == [
        p4r.Update.DELETE,  # the route on tunnel 2 first,
        p4r.Update.DELETE,  # then tunnel 2
        p4r.Update.INSERT,  # tunnel 3 before
        p4r.Update.INSERT,  # the route that uses it
        p4r.Update.MODIFY,
    ]
    assert plan.counts == {"insert": 2, "modify": 1, "delete": 2}


def test_defaults_are_modified_and_const_tables_left_alone(codec: Codec) -> None:
    default = TableEntry("vrf_fib", action="drop", is_default=True)
    plan = plan_changes(codec, [(None, default)])
    assert plan.phases == [(p4r.Update.MODIFY, [default])]
    assert plan_changes(codec, [(default, None)]).phases == []
    const = TableEntry("const_ports", {"port": 1}, "NoAction")
    assert plan_changes(codec, [(const, None)]).phases == []
    assert plan_changes(codec, [(None, None)]).phases == []


@settings(max_examples=60, deadline=None)
@given(current=routes, desired=routes)
def test_agrees_with_diff_on_random_route_sets(
    codec: Codec, current: dict[tuple[int, int], int], desired: dict[tuple[int, int], int]
) -> None:
    def ents(d: dict[tuple[int, int], int]) -> list[TableEntry]:
        return [route(v, f"10.{n}.0.0/16", lbl) for (v, n), lbl in d.items()]

    assert as_plan(codec, ents(current), ents(desired)) == as_diff(
        codec, ents(current), ents(desired)
    )
