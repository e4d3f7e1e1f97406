"""Unit tests of the p4sim state layer (tables, externs, PRE)."""

import pytest

from targets.p4sim.state import (
    ActionCall,
    ActionSpec,
    Counter,
    CounterType,
    Exact,
    KeyField,
    Lpm,
    MatchKind,
    Meter,
    MeterColor,
    MeterConfig,
    MeterType,
    PacketReplicationEngine,
    Range,
    Register,
    Replica,
    StateError,
    Table,
    TableEntry,
    Ternary,
)

pytestmark = pytest.mark.unit

FWD = ActionSpec("fwd", 1, (("port", 9),))
DROP = ActionSpec("drop", 2, ())


def lpm_table() -> Table:
    keys = [KeyField("vrf", 1, MatchKind.EXACT, 8), KeyField("dst", 2, MatchKind.LPM, 32)]
    return Table("t", 1, keys, [FWD, DROP], ActionCall("drop"))


def test_lpm_longest_prefix_wins_per_vrf() -> None:
    t = lpm_table()
    t.insert(TableEntry((Exact(1), Lpm(0x0A000000, 8)), ActionCall("fwd", (1,))))
    t.insert(TableEntry((Exact(1), Lpm(0x0A010000, 16)), ActionCall("fwd", (2,))))
    t.insert(TableEntry((Exact(2), None), ActionCall("fwd", (3,))))
    assert t.lookup((1, 0x0A010203)).action.args == (2,)
    assert t.lookup((1, 0x0A020203)).action.args == (1,)
    assert t.lookup((2, 0x01020304)).action.args == (3,)
    assert t.lookup((1, 0x0B000000)) is None


def test_lpm_rejects_host_bits_and_duplicates() -> None:
    t = lpm_table()
    with pytest.raises(StateError, match="beyond the prefix"):
        t.insert(TableEntry((Exact(1), Lpm(0x0A000001, 8)), ActionCall("drop")))
    t.insert(TableEntry((Exact(1), Lpm(0x0A000000, 8)), ActionCall("drop")))
    with pytest.raises(StateError) as e:
        t.insert(TableEntry((Exact(1), Lpm(0x0A000000, 8)), ActionCall("drop")))
    assert e.value.kind == "already_exists"
    with pytest.raises(StateError) as e:
        t.delete((Exact(3), Lpm(0, 0)))
    assert e.value.kind == "not_found"


def test_action_checks() -> None:
    t = lpm_table()
    with pytest.raises(StateError, match="does not fit"):
        t.insert(TableEntry((Exact(1), Lpm(0, 0)), ActionCall("fwd", (512,))))
    with pytest.raises(StateError, match="takes 1 arguments"):
        t.set_default(ActionCall("fwd"))
    with pytest.raises(StateError, match="not in its actions"):
        t.set_default(ActionCall("nope"))


def test_ternary_range_priority() -> None:
    keys = [KeyField("a", 1, MatchKind.TERNARY, 16), KeyField("b", 2, MatchKind.RANGE, 16)]
    t = Table("acl", 2, keys, [FWD, DROP], ActionCall("drop"))
    t.insert(TableEntry((Ternary(0x0800, 0xFFFF), None), ActionCall("fwd", (1,)), priority=10))
    t.insert(TableEntry((None, Range(10, 20)), ActionCall("fwd", (2,)), priority=20))
    assert t.lookup((0x0800, 15)).action.args == (2,)
    assert t.lookup((0x0800, 25)).action.args == (1,)
    assert t.lookup((0x86DD, 25)) is None
    with pytest.raises(StateError, match="outside the mask"):
        t.insert(TableEntry((Ternary(1, 0), None), ActionCall("drop"), priority=1))


def test_counter_register_meter() -> None:
    c = Counter("c", 1, 4, CounterType.PACKETS_AND_BYTES)
    c.count(1, 100)
    c.count(1, 50)
    c.count(9, 50)  # out of range on the data path is ignored
    assert c.read(1) == (2, 150)
    r = Register("r", 2, 2, 8)
    r.dp_write(0, 0x1FF)
    assert r.read(0) == 0xFF
    assert r.dp_read(5) == 0
    now = [0.0]
    m = Meter("m", 3, 1, MeterType.PACKETS, clock=lambda: now[0])
    assert m.execute(0, 64) == MeterColor.GREEN  # unconfigured
    m.set_config(0, MeterConfig(cir=1, cburst=1, pir=2, pburst=2))
    colors = [m.execute(0, 64) for _ in range(3)]
    assert colors == [MeterColor.GREEN, MeterColor.YELLOW, MeterColor.RED]
    now[0] = 10.0
    assert m.execute(0, 64) == MeterColor.GREEN


def test_pre() -> None:
    pre = PacketReplicationEngine()
    pre.insert_group(1, [Replica(1, 0), Replica(2, 1)])
    with pytest.raises(StateError):
        pre.insert_group(1, [])
    with pytest.raises(StateError, match="duplicate"):
        pre.modify_group(1, [Replica(1), Replica(1)])
    pre.insert_session(5, [Replica(3)], packet_length_bytes=64)
    assert pre.sessions[5].packet_length_bytes == 64
    pre.delete_session(5)
    with pytest.raises(StateError):
        pre.delete_session(5)
