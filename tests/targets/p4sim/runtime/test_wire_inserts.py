"""The Write path that decodes INSERTs from the request's bytes (wire_inserts.py)
gives the results and the state the parsed-message path gives.

Two devices with the same program get the same WriteRequest, one as the
parsed message only, one with its bytes too; their per-update results (code
and message) and everything a wildcard Read returns must be equal. Batches
mix INSERT, MODIFY and DELETE of valid and broken entries
(test_table_schema.py's generator), repeat entries (ALREADY_EXISTS) and
overflow a table (RESOURCE_EXHAUSTED); other cases re-encode the same request
in forms protobuf allows but the wire pattern does not take (fields out of
order, non-minimal varints, unknown and interleaved fields), or mutate its
bytes at random and keep what still parses.
"""

from __future__ import annotations

import pytest
from finsy.proto import p4r
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from targets.p4sim.runtime.bundle import Bundle
from targets.p4sim.runtime.device import Device
from targets.p4sim.runtime.errors import P4RTError
from targets.p4sim.runtime.program import LoadedProgram, state_from_p4info

from .fake_program import fake_bundle
from .test_table_schema import _p4info, table_entries, valid_entries

pytestmark = pytest.mark.unit

INSERT, MODIFY, DELETE = p4r.Update.INSERT, p4r.Update.MODIFY, p4r.Update.DELETE


def make_device() -> Device:
    info = _p4info()
    device = Device(lambda _: LoadedProgram(info, state_from_p4info(info), lambda p, f: []))
    device.load_at_start(Bundle.decode(fake_bundle()))
    arb = p4r.MasterArbitrationUpdate(device_id=0)
    arb.election_id.low = 1
    device.arbitration.update("ctl", arb)
    return device


def request(updates: list[tuple[int, p4r.TableEntry]]) -> p4r.WriteRequest:
    req = p4r.WriteRequest(device_id=0)
    req.election_id.low = 1
    for op, te in updates:
        req.updates.add(type=op).entity.table_entry.CopyFrom(te)
    return req


def state(device: Device) -> list[bytes]:
    read = p4r.ReadRequest(device_id=0)
    read.entities.add().table_entry.SetInParent()  # every entry of every table
    return sorted(device.read_wire(read))


def outcomes(device: Device, req: p4r.WriteRequest, wire: bytes | None) -> list[str]:
    try:
        results = device.write(req, wire)
    except P4RTError as exc:  # the request as a whole (a mutated election id, ...)
        return [f"request {exc.code.name}: {exc.message}"]
    return ["OK" if r is None else f"{r.code.name}: {r.message}" for r in results]


def assert_same(batches: list[bytes]) -> list[list[str]]:
    """Write each serialized request to both devices; the same results and state."""
    parsed, wired = make_device(), make_device()
    seen = []
    for data in batches:
        req = p4r.WriteRequest.FromString(data)
        got = outcomes(wired, req, data)
        assert got == outcomes(parsed, req, None)
        seen.append(got)
    assert state(wired) == state(parsed)
    return seen


ops = st.sampled_from([INSERT, INSERT, INSERT, MODIFY, DELETE])


def _short(data: bytes) -> bytes:
    return data.lstrip(b"\x00") or data[:1]


def canonical(te: p4r.TableEntry) -> p4r.TableEntry:
    """The entry in the form the wire pattern takes: shortest values, fields and
    params in id order (what a broken entry breaks stays broken)."""
    out = p4r.TableEntry()
    out.CopyFrom(te)
    fields = sorted(out.match, key=lambda fm: fm.field_id)
    for fm in fields:
        kind = fm.WhichOneof("field_match_type")
        if kind in ("exact", "lpm"):
            part = getattr(fm, kind)
            part.value = _short(part.value)
    del out.match[:]
    out.match.extend(fields)
    params = sorted(out.action.action.params, key=lambda p: p.param_id)
    for p in params:
        p.value = _short(p.value)
    del out.action.action.params[:]
    out.action.action.params.extend(params)
    return out


@st.composite
def batches(draw: st.DrawFn) -> bytes:
    entry = table_entries().map(canonical) | table_entries()
    updates = draw(st.lists(st.tuples(ops, entry), min_size=1, max_size=10))
    again = draw(st.integers(0, len(updates)))  # repeated: ALREADY_EXISTS or a second DELETE
    return request(updates + updates[:again]).SerializeToString()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(batches(), min_size=1, max_size=3))
def test_wire_path_agrees_with_the_parsed_path(data: list[bytes]) -> None:
    assert_same(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches(), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=3))
def test_mutated_bytes_agree(data: bytes, flips: list[tuple[int, int]]) -> None:
    """Bytes changed at random: whatever still parses gets the same results both ways."""
    mutated = bytearray(data)
    for at, value in flips:
        mutated[at % len(mutated)] = value
    try:
        p4r.WriteRequest.FromString(bytes(mutated))
    except DecodeError:
        assume(False)
    assert_same([bytes(mutated)])


def fib_entry(i: int, vrf: int = 1) -> p4r.TableEntry:
    te = p4r.TableEntry(table_id=1)
    te.match.add(field_id=1).exact.value = bytes((vrf,))
    lpm = te.match.add(field_id=2).lpm
    lpm.value, lpm.prefix_len = bytes((10, i, 0, 0)), 16
    te.action.action.action_id = 10
    te.action.action.params.add(param_id=1, value=bytes((1 + i,)))
    te.action.action.params.add(param_id=2, value=b"\x05")
    return te


def stored(device: Device) -> list[object]:
    return [e.wire for e in device.pipeline.program.state.tables[1].entries()]  # type: ignore[union-attr]


def test_common_shape_is_decoded_from_the_bytes() -> None:
    """Canonical INSERTs are taken from the bytes: the request's TableEntry is the read form."""
    device = make_device()
    req = request([(INSERT, fib_entry(i)) for i in range(3)])
    assert device.write(req, req.SerializeToString()) == [None] * 3
    kept = stored(device)
    assert [w[2] for w in kept] == [fib_entry(i).SerializeToString() for i in range(3)]  # type: ignore[index]


def test_other_encodings_go_the_general_way() -> None:
    """Padded values, fields out of order, non-minimal lengths, interleaved top-level
    fields: the same results, and nothing kept from the bytes."""
    padded = fib_entry(1)
    padded.match[0].exact.value = b"\x00\x01"
    swapped = fib_entry(2)
    swapped.match[0].CopyFrom(fib_entry(2).match[1])
    swapped.match[1].CopyFrom(fib_entry(2).match[0])
    base = request([(INSERT, padded), (INSERT, swapped)]).SerializeToString()
    device_id_again = b"\x08\x00"  # WriteRequest.device_id between two updates
    third = request([(INSERT, fib_entry(3))]).updates[0].SerializeToString()
    stretched = b"\x22" + bytes((len(third) | 0x80, 0)) + third  # a 2-byte length
    data = base + device_id_again + stretched + b"\x78\x01"  # and an unknown field 15
    assert assert_same([data]) == [["OK", "OK", "OK"]]
    device = make_device()
    req = p4r.WriteRequest.FromString(data)
    assert device.write(req, data) == [None] * 3
    assert stored(device) == [None] * 3  # none came from the bytes


def test_every_failure_of_a_large_batch_is_reported() -> None:
    """1,000 INSERTs, every other one already there, into a table of 64: each failure
    (ALREADY_EXISTS, then RESOURCE_EXHAUSTED) in its place, both ways alike."""
    entries = [fib_entry(i % 200, vrf=1 + i // 200) for i in range(500)]
    first = request([(INSERT, te) for te in entries[:20]]).SerializeToString()
    second = request([(INSERT, te) for te in entries for _ in (0, 1)]).SerializeToString()
    results = assert_same([first, second])[1]
    assert len(results) == 1000
    assert all(r.startswith("ALREADY_EXISTS") for r in results[:40:2] + results[41::2][:20])
    assert results[40] == "OK" and sum(r == "OK" for r in results) == 44
    assert results[-2].startswith("RESOURCE_EXHAUSTED")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(valid_entries(), min_size=1, max_size=20))
def test_valid_inserts_agree(entries: list[p4r.TableEntry]) -> None:
    assert_same([request([(INSERT, te) for te in entries]).SerializeToString()])
