"""The desired/current diff: minimal, ordered, and idempotent."""

from __future__ import annotations

import pytest
from finsy.proto import p4r
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.p4rt import Codec, CounterData, MulticastGroup, Replica, TableEntry, diff
from controller.p4rt.reconcile import entity_key, normalize

pytestmark = pytest.mark.unit


def route(vrf: int, net: str, label: int, tunnel: int = 1) -> TableEntry:
    return TableEntry(
        "vrf_fib", {"vrf": vrf, "dst": net}, "push_label", {"label": label, "tunnel": tunnel}
    )


def tunnel(tid: int, remote: str) -> TableEntry:
    return TableEntry(
        "tunnel", {"tunnel_id": tid}, "set_tunnel", {"remote_addr": remote, "sa_index": tid}
    )


def kinds(codec: Codec, plan_updates: list[p4r.Update]) -> list[str]:
    from controller.p4rt import entity_string

    return [
        f"{p4r.Update.Type.Name(u.type)} {entity_string(codec, codec.decode(u.entity))}"
        for u in plan_updates
    ]


def test_nothing_to_do_when_in_sync(codec: Codec) -> None:
    desired = [codec.encode(route(1, "10.0.0.0/8", 5)), codec.encode(tunnel(1, "192.0.2.1"))]
    plan = diff(codec, desired, desired)
    assert plan.updates == [] and plan.unchanged == 2


def test_minimal_insert_modify_delete_in_dependency_order(codec: Codec) -> None:
    current = [
        route(1, "10.0.0.0/8", 5),
        route(1, "10.2.0.0/16", 6, 2),
        tunnel(1, "192.0.2.1"),
        tunnel(2, "192.0.2.2"),
    ]
    desired = [
        route(1, "10.0.0.0/8", 7, 3),
        tunnel(1, "192.0.2.1"),
        tunnel(3, "192.0.2.3"),
        route(2, "10.0.0.0/8", 5),
    ]
    plan = diff(
        codec,
        [codec.encode(x) for x in desired],
        [codec.encode(x) for x in current],
        order=["tunnel", "vrf_fib"],
    )
    assert kinds(codec, plan.updates) == [
        # Deletes: the route that uses tunnel 2 goes before tunnel 2.
        "DELETE vrf_fib vrf=1 dst=10.2.0.0/16 -> push_label(label=6, tunnel=2)",
        "DELETE tunnel tunnel_id=2 -> set_tunnel(remote_addr=192.0.2.2, sa_index=2)",
        # Inserts: tunnel 3 exists before anything refers to it.
        "INSERT tunnel tunnel_id=3 -> set_tunnel(remote_addr=192.0.2.3, sa_index=3)",
        "INSERT vrf_fib vrf=2 dst=10.0.0.0/8 -> push_label(label=5, tunnel=1)",
        "MODIFY vrf_fib vrf=1 dst=10.0.0.0/8 -> push_label(label=7, tunnel=3)",
    ]
    assert plan.unchanged == 1
    assert plan.counts == {"insert": 2, "modify": 1, "delete": 2}
    # One phase per dependency level, so a server that reorders inside a Write cannot break it.
    assert [len(p) for p in plan.phases] == [1, 1, 1, 1, 1]


def test_counters_and_match_order_do_not_cause_writes(codec: Codec) -> None:
    want = codec.encode(route(1, "10.0.0.0/8", 5))
    have = p4r.Entity()
    have.CopyFrom(want)
    have.table_entry.counter_data.CopyFrom(p4r.CounterData(packet_count=5, byte_count=320))
    have.table_entry.match.reverse()
    assert diff(codec, [want], [have]).updates == []
    assert normalize(have) == normalize(want)


def test_defaults_and_const_tables_are_never_inserted_or_deleted(codec: Codec) -> None:
    default = codec.encode(TableEntry("vrf_fib", action="drop", is_default=True))
    plan = diff(codec, [default], [])
    assert [u.type for u in plan.updates] == [p4r.Update.MODIFY]
    const_entry = p4r.Entity()
    const_entry.table_entry.table_id = codec.schema.tables["const_ports"].id
    const_entry.table_entry.match.add(field_id=1).exact.value = b"\x01"
    current = [default, const_entry]
    assert diff(codec, [], current).updates == []


def test_multicast_groups_come_before_tables(codec: Codec) -> None:
    desired = [
        codec.encode(route(1, "10.0.0.0/8", 5)),
        codec.encode(MulticastGroup(1, [Replica(1), Replica(2)])),
    ]
    plan = diff(codec, desired, [])
    assert [u.entity.WhichOneof("entity") for u in plan.updates] == [
        "packet_replication_engine_entry",
        "table_entry",
    ]
    changed = codec.encode(MulticastGroup(1, [Replica(3)]))
    assert [u.type for u in diff(codec, [changed], desired[1:]).updates] == [p4r.Update.MODIFY]


def test_counter_data_in_desired_is_ignored(codec: Codec) -> None:
    ent = route(1, "10.0.0.0/8", 5)
    ent.counter = CounterData(1, 1)
    assert diff(codec, [codec.encode(ent)], [codec.encode(route(1, "10.0.0.0/8", 5))]).updates == []


routes = st.dictionaries(
    keys=st.tuples(st.integers(1, 3), st.integers(0, 255)),
    values=st.integers(0, 3),
    max_size=12,
)


def apply(codec: Codec, state: dict[bytes, p4r.Entity], updates: list[p4r.Update]) -> None:
    for upd in updates:
        key = entity_key(upd.entity)
        if upd.type == p4r.Update.DELETE:
            assert key in state
            del state[key]
        elif upd.type == p4r.Update.INSERT:
            assert key not in state
            state[key] = upd.entity
        else:
            assert key in state
            state[key] = upd.entity


@settings(max_examples=60, deadline=None)
@given(current=routes, desired=routes)
def test_diff_is_minimal_and_converges(
    codec: Codec, current: dict[tuple[int, int], int], desired: dict[tuple[int, int], int]
) -> None:
    def enc(d: dict[tuple[int, int], int]) -> list[p4r.Entity]:
        return [codec.encode(route(v, f"10.{n}.0.0/16", lbl)) for (v, n), lbl in d.items()]

    plan = diff(codec, enc(desired), enc(current))
    # Exactly one update per entry that differs, none for entries already right.
    same = sum(1 for k, v in desired.items() if current.get(k) == v)
    expected = len(set(desired) ^ set(current)) + sum(
        1 for k, v in desired.items() if k in current and current[k] != v
    )
    assert len(plan.updates) == expected
    assert plan.unchanged == same
    state = {entity_key(m): m for m in enc(current)}
    apply(codec, state, plan.updates)
    assert sorted(m.SerializeToString() for m in state.values()) == sorted(
        m.SerializeToString() for m in enc(desired)
    )
    # A second pass has nothing left to do.
    assert diff(codec, enc(desired), list(state.values())).updates == []


def test_conflicting_desired_entries_are_refused(codec: Codec) -> None:
    from controller.p4rt import P4ValueError

    same = [codec.encode(route(1, "10.0.0.0/8", 5)), codec.encode(route(1, "10.0.0.0/8", 5))]
    assert len(diff(codec, same, []).updates) == 1  # identical duplicates are harmless
    clash = [codec.encode(route(1, "10.0.0.0/8", 5)), codec.encode(route(1, "10.0.0.0/8", 6))]
    with pytest.raises(
        P4ValueError,
        match=r"conflicting entries: vrf_fib vrf=1 dst=10\.0\.0\.0/8 "
        r"-> push_label\(label=5, tunnel=1\) vs .*label=6",
    ):
        diff(codec, clash, [])
