"""Write over real gRPC: per-update errors and every canonical code where the spec puts it."""

from __future__ import annotations

import grpc
import pytest
from finsy.proto import p4r

from .builders import DELETE, INSERT, MODIFY, acl, action, fwd, lpm, update
from .conftest import Rig, eid, write_errors
from .fake_program import DROP, FIXED, FWD, KEYLESS, LPM, MISS_TO_CPU, PERMIT, SET_PORT, TO_CPU

pytestmark = pytest.mark.unit
C = grpc.StatusCode


async def one_error(rig: Rig, upd: p4r.Update) -> tuple[int, str]:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await rig.write(upd)
    assert exc.value.code() == C.UNKNOWN
    (err,) = write_errors(exc.value)
    return err.canonical_code, err.message


async def test_batch_reports_every_update_and_applies_the_good_ones(primed: Rig) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(
            update(INSERT, fwd(b"\x01")),
            update(INSERT, fwd(b"\x01")),  # duplicate of the first
            update(INSERT, fwd(b"\x03")),
        )
    assert exc.value.code() == C.UNKNOWN
    codes = [e.canonical_code for e in write_errors(exc.value)]
    assert codes == [C.OK.value[0], C.ALREADY_EXISTS.value[0], C.OK.value[0]]
    got = await primed.read(p4r.Entity(table_entry=p4r.TableEntry(table_id=FWD)))
    assert sorted(e.table_entry.match[0].exact.value for e in got) == [b"\x01", b"\x03"]


async def test_not_found_on_modify_and_delete_of_missing_entry(primed: Rig) -> None:
    assert (await one_error(primed, update(MODIFY, fwd(b"\x09"))))[0] == C.NOT_FOUND.value[0]
    assert (await one_error(primed, update(DELETE, fwd(b"\x09"))))[0] == C.NOT_FOUND.value[0]


async def test_unknown_ids_are_invalid_argument_spec_8_1_1_and_12(primed: Rig) -> None:
    """An id the P4Info does not define makes the entity malformed (spec 8.1.1, 12).

    NOT_FOUND stays for runtime-created things that are missing (entries,
    groups, sessions); PI/simple_switch_grpc answer INVALID_ARGUMENT here too.
    """
    e = fwd(b"\x01")
    e.table_entry.table_id = 12345
    counter = p4r.Entity()
    counter.counter_entry.counter_id = 999
    counter.counter_entry.index.index = 0
    register = p4r.Entity()
    register.register_entry.register_id = 998
    meter = p4r.Entity()
    meter.meter_entry.meter_id = 997
    zero = fwd(b"\x01")
    zero.table_entry.table_id = 0  # 0 is never a valid id in a write (8.1.1)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(
            update(INSERT, e),
            update(MODIFY, counter),
            update(MODIFY, register),
            update(MODIFY, meter),
            update(INSERT, zero),
        )
    errs = write_errors(exc.value)
    assert [x.canonical_code for x in errs] == [C.INVALID_ARGUMENT.value[0]] * 5
    assert "12345" in errs[0].message and "999" in errs[1].message


async def test_resource_exhausted_when_table_full(primed: Rig) -> None:
    await primed.write(*[update(INSERT, fwd(bytes([p]))) for p in range(1, 5)])
    code, msg = await one_error(primed, update(INSERT, fwd(b"\x05")))
    assert code == C.RESOURCE_EXHAUSTED.value[0] and "full" in msg


async def test_out_of_range_for_bits_beyond_width(primed: Rig) -> None:
    # ingress_port is bit<9>: 0x0200 needs 10 bits
    code, _ = await one_error(primed, update(INSERT, fwd(b"\x02\x00")))
    assert code == C.OUT_OF_RANGE.value[0]
    code, msg = await one_error(primed, update(INSERT, fwd(b"\x01", out=b"\x02\x00")))
    assert code == C.OUT_OF_RANGE.value[0] and "port" in msg


async def test_padded_bytestrings_accepted_and_read_back_canonical(primed: Rig) -> None:
    await primed.write(update(INSERT, fwd(b"\x00\x00\x01\x07", out=b"\x00\x00\x00\x02")))
    (got,) = await primed.read(p4r.Entity(table_entry=p4r.TableEntry(table_id=FWD)))
    assert got.table_entry.match[0].exact.value == b"\x01\x07"
    assert got.table_entry.action.action.params[0].value == b"\x02"
    # the padded and the canonical form name the same entry
    code, _ = await one_error(primed, update(INSERT, fwd(b"\x01\x07")))
    assert code == C.ALREADY_EXISTS.value[0]


async def test_permission_denied_for_non_primary_writes(primed: Rig) -> None:
    backup = await primed.controller(5)
    assert backup.election_id == 5
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(update(INSERT, fwd(b"\x01")), election_id=5)
    assert exc.value.code() == C.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(update(INSERT, fwd(b"\x01")), election_id=99)
    assert exc.value.code() == C.PERMISSION_DENIED


async def test_wrong_device_is_not_found(primed: Rig) -> None:
    req = p4r.WriteRequest(device_id=3, updates=[update(INSERT, fwd(b"\x01"))])
    req.election_id.CopyFrom(eid(10))
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.stub.Write(req)
    assert exc.value.code() == C.NOT_FOUND


async def test_other_atomicity_is_unimplemented(primed: Rig) -> None:
    req = p4r.WriteRequest(device_id=0, updates=[update(INSERT, fwd(b"\x01"))])
    req.election_id.CopyFrom(eid(10))
    req.atomicity = p4r.WriteRequest.ROLLBACK_ON_ERROR
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.stub.Write(req)
    assert exc.value.code() == C.UNIMPLEMENTED


async def test_write_before_pipeline_is_failed_precondition(rig: Rig) -> None:
    await rig.controller(10)
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await rig.write(update(INSERT, fwd(b"\x01")))
    assert exc.value.code() == C.FAILED_PRECONDITION


@pytest.mark.parametrize(
    ("entity", "needle"),
    [
        (lpm(b"\x0a\x00\x00\x01", 24), "beyond prefix"),
        (lpm(b"\x0a\x00\x00\x00", 33), "prefix length"),
        (lpm(b"\x0a\x00\x00\x00", 0), "prefix length"),
        (acl(10, ternary=(b"\x08\x01", b"\xff\x00")), "outside the mask"),
        (acl(10, ternary=(b"\x00", b"\x00")), "all-zero mask"),
        (acl(10, rng=(b"\x00\x50", b"\x00\x10")), "low"),
        (acl(10, rng=(b"\x00", b"\xff\xff")), "full range"),
        (acl(0, ternary=(b"\x08\x00", b"\xff\xff")), "priority"),
        (fwd(b"\x01", prio=3), "priority"),
    ],
)
async def test_invalid_argument_matches(primed: Rig, entity: p4r.Entity, needle: str) -> None:
    code, msg = await one_error(primed, update(INSERT, entity))
    assert code == C.INVALID_ARGUMENT.value[0]
    assert needle in msg


async def test_invalid_argument_actions_and_fields(primed: Rig) -> None:
    missing_exact = p4r.Entity(table_entry=action(p4r.TableEntry(table_id=FWD), DROP))
    wrong_kind = fwd(b"\x01")
    wrong_kind.table_entry.match[0].lpm.value = b"\x01"
    unknown_field = fwd(b"\x01")
    unknown_field.table_entry.match[0].field_id = 7
    not_in_table = fwd(b"\x01", action_id=PERMIT)
    missing_param = fwd(b"\x01")
    del missing_param.table_entry.action.action.params[:]
    no_action = fwd(b"\x01")
    no_action.table_entry.ClearField("action")
    cases = [missing_exact, wrong_kind, unknown_field, not_in_table]
    cases += [missing_param, no_action]
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(*[update(INSERT, e) for e in cases])
    errs = write_errors(exc.value)
    assert [e.canonical_code for e in errs] == [C.INVALID_ARGUMENT.value[0]] * len(cases)
    assert all(e.message for e in errs)


async def test_ternary_range_optional_with_priority(primed: Rig) -> None:
    await primed.write(
        update(INSERT, acl(10, ternary=(b"\x08\x00", b"\xff\xff"), rng=(b"\x00\x50", b"\x00\x60"))),
        update(INSERT, acl(20, opt=b"\x05")),
        update(INSERT, acl(20, ternary=(b"\x08\x00", b"\xff\xff"))),
    )
    got = await primed.read(p4r.Entity(table_entry=p4r.TableEntry(table_id=33554435)))
    assert sorted(e.table_entry.priority for e in got) == [10, 20, 20]
    # same match, different priority = a different entry; same both = duplicate
    code, _ = await one_error(primed, update(INSERT, acl(20, opt=b"\x05")))
    assert code == C.ALREADY_EXISTS.value[0]
    await primed.write(update(DELETE, acl(20, opt=b"\x05")))
    code, _ = await one_error(primed, update(DELETE, acl(21, opt=b"\x05")))
    assert code == C.NOT_FOUND.value[0]


def default_entry(table_id: int, action_id: int | None, *params: bytes) -> p4r.Entity:
    te = p4r.TableEntry(table_id=table_id, is_default_action=True)
    if action_id is not None:
        action(te, action_id, *params)
    return p4r.Entity(table_entry=te)


async def test_default_entries(primed: Rig) -> None:
    await primed.write(update(MODIFY, default_entry(FWD, SET_PORT, b"\x03")))
    await primed.write(update(MODIFY, default_entry(LPM, MISS_TO_CPU)))  # @defaultonly is fine here
    (got,) = await primed.read(default_entry(FWD, None))
    assert got.table_entry.is_default_action
    assert got.table_entry.action.action.action_id == SET_PORT
    # INSERT/DELETE of a default entry: INVALID_ARGUMENT; const default: PERMISSION_DENIED
    code, _ = await one_error(primed, update(INSERT, default_entry(FWD, DROP)))
    assert code == C.INVALID_ARGUMENT.value[0]
    code, _ = await one_error(primed, update(DELETE, default_entry(FWD, DROP)))
    assert code == C.INVALID_ARGUMENT.value[0]
    code, _ = await one_error(primed, update(MODIFY, default_entry(FIXED, DROP)))
    assert code == C.PERMISSION_DENIED.value[0]
    # a default entry has no idle timeout (spec 9.1.7)
    timed = default_entry(FWD, DROP)
    timed.table_entry.idle_timeout_ns = 1000
    code, _ = await one_error(primed, update(MODIFY, timed))
    assert code == C.INVALID_ARGUMENT.value[0]
    # MODIFY without action resets to the program's initial default
    await primed.write(update(MODIFY, default_entry(FWD, None)))
    (got,) = await primed.read(default_entry(FWD, None))
    assert got.table_entry.action.action.action_id == DROP


async def test_modify_changes_action(primed: Rig) -> None:
    await primed.write(update(INSERT, fwd(b"\x01", out=b"\x02")))
    await primed.write(update(MODIFY, fwd(b"\x01", action_id=TO_CPU)))
    (got,) = await primed.read(p4r.Entity(table_entry=p4r.TableEntry(table_id=FWD)))
    assert got.table_entry.action.action.action_id == TO_CPU
    assert not got.table_entry.action.action.params


async def test_empty_update_and_unknown_type_are_rejected(primed: Rig) -> None:
    code, _ = await one_error(primed, p4r.Update(type=INSERT))
    assert code == C.INVALID_ARGUMENT.value[0]  # malformed: no entity (spec 12)
    code, _ = await one_error(primed, p4r.Update(type=p4r.Update.UNSPECIFIED, entity=fwd(b"\x01")))
    assert code == C.INVALID_ARGUMENT.value[0]


async def test_action_outside_its_scope_is_permission_denied_spec_9_1_2(primed: Rig) -> None:
    """A valid action used against its @tableonly/@defaultonly scope: PERMISSION_DENIED."""
    default_only = lpm(b"\x0a\x00\x00\x00", 8)
    default_only.table_entry.action.action.action_id = MISS_TO_CPU
    del default_only.table_entry.action.action.params[:]
    table_only_default = default_entry(33554435, PERMIT, b"\x01")
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(update(INSERT, default_only), update(MODIFY, table_only_default))
    errs = write_errors(exc.value)
    assert [e.canonical_code for e in errs] == [C.PERMISSION_DENIED.value[0]] * 2
    assert "@defaultonly" in errs[0].message and "@tableonly" in errs[1].message


async def test_is_const_and_keyless_inserts_are_invalid_argument_spec_9_1(primed: Rig) -> None:
    """is_const must be false in every write; a keyless table takes no match entries."""
    flagged = [fwd(b"\x01") for _ in range(3)]
    for e in flagged:
        e.table_entry.is_const = True
    keyless = p4r.Entity(table_entry=action(p4r.TableEntry(table_id=KEYLESS), DROP))
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(
            update(INSERT, flagged[0]),
            update(MODIFY, flagged[1]),
            update(DELETE, flagged[2]),
            update(INSERT, keyless),
        )
    errs = write_errors(exc.value)
    assert [e.canonical_code for e in errs] == [C.INVALID_ARGUMENT.value[0]] * 4
    assert "is_const" in errs[0].message and "no key" in errs[3].message
    assert await primed.read(p4r.Entity(table_entry=p4r.TableEntry(table_id=FWD))) == []


async def test_modify_without_action_keeps_the_action_spec_9_1_2(primed: Rig) -> None:
    await primed.write(update(INSERT, fwd(b"\x01", out=b"\x05")))
    bare = fwd(b"\x01")
    bare.table_entry.ClearField("action")
    bare.table_entry.controller_metadata = 77
    await primed.write(update(MODIFY, bare))
    (got,) = await primed.read(p4r.Entity(table_entry=p4r.TableEntry(table_id=FWD)))
    assert got.table_entry.action.action.action_id == SET_PORT
    assert got.table_entry.action.action.params[0].value == b"\x05"
    assert got.table_entry.controller_metadata == 77
    missing = fwd(b"\x09")
    missing.table_entry.ClearField("action")
    code, _ = await one_error(primed, update(MODIFY, missing))
    assert code == C.NOT_FOUND.value[0]


def test_modify_without_meter_config_resets_the_direct_meter_spec_9_1_5() -> None:
    """Direct Resources: MODIFY with meter_config unset = default meter (all GREEN)."""
    from targets.p4sim.runtime import entities
    from targets.p4sim.state import ActionCall, ActionSpec, Exact, KeyField, MatchKind, Table
    from targets.p4sim.state import TableEntry as StateEntry

    keys = [KeyField("k", 1, MatchKind.EXACT, 8)]
    drop = ActionSpec("drop", 1, (), "TABLE_AND_DEFAULT")
    table = Table("t", 2, keys, [drop], ActionCall("drop", ()), direct_meter="t_meter")
    entry = StateEntry((Exact(1),), ActionCall("drop", ()))
    te = p4r.TableEntry(table_id=2)
    te.meter_config.cir, te.meter_config.pir = 5, 10
    entities.apply_entry_extras(table, te, entry)
    assert entry.meter_config is not None
    te.ClearField("meter_config")
    entities.apply_entry_extras(table, te, entry)  # INSERT-style: nothing to change
    assert entry.meter_config is not None
    entities.apply_entry_extras(table, te, entry, modify=True)
    assert entry.meter_config is None


async def test_default_entry_cookie_and_direct_counter_spec_9_1_6(primed: Rig) -> None:
    """The default entry carries a cookie and direct-counter data like any entry;
    resetting it (MODIFY without action) resets the cookie."""
    d = default_entry(LPM, MISS_TO_CPU)
    d.table_entry.controller_metadata = 5
    d.table_entry.counter_data.packet_count = 3
    await primed.write(update(MODIFY, d))
    query = default_entry(LPM, None)
    query.table_entry.counter_data.SetInParent()
    (got,) = await primed.read(query)
    assert got.table_entry.controller_metadata == 5
    assert got.table_entry.counter_data.packet_count == 3
    await primed.write(update(MODIFY, default_entry(LPM, None)))
    (got,) = await primed.read(query)
    assert got.table_entry.controller_metadata == 0
    assert got.table_entry.action.action.action_id == DROP  # the program's initial default


async def test_entry_metadata_reads_back_and_filters_spec_9_1(primed: Rig) -> None:
    """TableEntry.metadata is opaque but returned with the entry (read-write symmetry),
    filters a read when non-empty, and goes with the entry; meter_counter_data
    (per-colour counters) is UNIMPLEMENTED here."""
    tagged = fwd(b"\x01")
    tagged.table_entry.metadata = b"owner=bgp"
    await primed.write(update(INSERT, tagged), update(INSERT, fwd(b"\x02")))
    everything = await primed.read(p4r.Entity(table_entry=p4r.TableEntry(table_id=FWD)))
    assert sorted(e.table_entry.metadata for e in everything) == [b"", b"owner=bgp"]
    (got,) = await primed.read(
        p4r.Entity(table_entry=p4r.TableEntry(table_id=FWD, metadata=b"owner=bgp"))
    )
    assert got.table_entry.match[0].exact.value == b"\x01"
    bare = fwd(b"\x01")
    bare.table_entry.ClearField("action")
    await primed.write(update(MODIFY, bare))  # full snapshot: metadata now empty
    assert (
        await primed.read(
            p4r.Entity(table_entry=p4r.TableEntry(table_id=FWD, metadata=b"owner=bgp"))
        )
        == []
    )
    await primed.write(update(MODIFY, tagged))
    await primed.write(update(DELETE, fwd(b"\x01")))
    assert list(primed.device.pipeline.program.state.entry_metadata.values()) == []  # type: ignore[union-attr]
    colours = fwd(b"\x03")
    colours.table_entry.meter_counter_data.SetInParent()
    code, _ = await one_error(primed, update(INSERT, colours))
    assert code == C.UNIMPLEMENTED.value[0]


async def test_empty_bytestrings_are_out_of_range_spec_8_4(primed: Rig) -> None:
    """A zero-length bytestring is always rejected, and rejected bytestrings are
    OUT_OF_RANGE (match value, action parameter, register data)."""
    empty_match = fwd(b"")
    empty_param = fwd(b"\x01", out=b"")
    reg = p4r.Entity()
    reg.register_entry.register_id = 369098753
    reg.register_entry.index.index = 0
    reg.register_entry.data.bitstring = b""
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await primed.write(
            update(INSERT, empty_match), update(INSERT, empty_param), update(MODIFY, reg)
        )
    errs = write_errors(exc.value)
    assert [e.canonical_code for e in errs] == [C.OUT_OF_RANGE.value[0]] * 3
    assert all("empty" in e.message for e in errs)
