"""Hypothesis: random well-typed P4Runtime writes/reads and random device configs never crash."""

from __future__ import annotations

import contextlib

import pytest
from finsy.proto import p4r
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from targets.p4sim.runtime.arbitration import Arbitration
from targets.p4sim.runtime.bundle import Bundle
from targets.p4sim.runtime.device import Device
from targets.p4sim.runtime.errors import P4RTError
from targets.p4sim.runtime.program import ProgramError

from .fake_program import (
    ACL,
    CPU_PORT,
    DROP,
    FIXED,
    FWD,
    LAST_SEEN,
    LPM,
    MISS_TO_CPU,
    PERMIT,
    PORT_PKTS,
    RATE,
    SET_PORT,
    TO_CPU,
    fake_bundle,
    load_fake,
)

pytestmark = pytest.mark.unit

small_bytes = st.binary(min_size=0, max_size=5)
table_ids = st.sampled_from([FWD, LPM, ACL, FIXED, 0, 12345])
priorities = st.sampled_from([-1, 0, 1, 5, (1 << 31) - 1]) | st.integers(-(1 << 31), (1 << 31) - 1)
action_ids = st.sampled_from([SET_PORT, TO_CPU, DROP, MISS_TO_CPU, PERMIT, 0, 99])


@st.composite
def field_matches(draw: st.DrawFn) -> p4r.FieldMatch:
    fm = p4r.FieldMatch(field_id=draw(st.integers(0, 4)))
    kind = draw(st.sampled_from(["exact", "lpm", "ternary", "range", "optional", "none"]))
    if kind == "exact":
        fm.exact.value = draw(small_bytes)
    elif kind == "lpm":
        fm.lpm.value = draw(small_bytes)
        fm.lpm.prefix_len = draw(st.integers(-2, 40))
    elif kind == "ternary":
        fm.ternary.value, fm.ternary.mask = draw(small_bytes), draw(small_bytes)
    elif kind == "range":
        fm.range.low, fm.range.high = draw(small_bytes), draw(small_bytes)
    elif kind == "optional":
        fm.optional.value = draw(small_bytes)
    return fm


@st.composite
def table_entries(draw: st.DrawFn) -> p4r.Entity:
    te = p4r.TableEntry(table_id=draw(table_ids), priority=draw(priorities))
    te.match.extend(draw(st.lists(field_matches(), max_size=4)))
    te.is_default_action = draw(st.booleans())
    if draw(st.booleans()):
        te.action.action.action_id = draw(action_ids)
        for _ in range(draw(st.integers(0, 2))):
            te.action.action.params.add(param_id=draw(st.integers(0, 3)), value=draw(small_bytes))
    elif draw(st.booleans()):
        te.action.action_profile_member_id = 1
    if draw(st.booleans()):
        te.counter_data.packet_count = draw(st.integers(0, 10))
    return p4r.Entity(table_entry=te)


@st.composite
def other_entities(draw: st.DrawFn) -> p4r.Entity:
    e = p4r.Entity()
    kind = draw(st.integers(0, 7))
    index = draw(st.integers(-1, 10))
    if kind == 0:
        e.counter_entry.counter_id = draw(st.sampled_from([PORT_PKTS, 0, 7]))
        if index >= 0:
            e.counter_entry.index.index = index
        e.counter_entry.data.packet_count = draw(st.integers(0, (1 << 63) - 1))
    elif kind == 1:
        e.register_entry.register_id = draw(st.sampled_from([LAST_SEEN, 0]))
        if index >= 0:
            e.register_entry.index.index = index
        if draw(st.booleans()):
            e.register_entry.data.bitstring = draw(small_bytes)
    elif kind == 2:
        e.meter_entry.meter_id = draw(st.sampled_from([RATE, 0]))
        if index >= 0:
            e.meter_entry.index.index = index
        e.meter_entry.config.cir = draw(st.integers(-5, 100))
        e.meter_entry.config.pir = draw(st.integers(-5, 100))
    elif kind in (3, 4):
        te = draw(table_entries()).table_entry
        target = e.direct_counter_entry if kind == 3 else e.direct_meter_entry
        target.table_entry.CopyFrom(te)
    elif kind == 5:
        g = e.packet_replication_engine_entry.multicast_group_entry
        g.multicast_group_id = draw(st.integers(0, 3))
        for _ in range(draw(st.integers(0, 3))):
            g.replicas.add(egress_port=draw(st.integers(0, 1000)), instance=draw(st.integers(0, 2)))
    elif kind == 6:
        s = e.packet_replication_engine_entry.clone_session_entry
        s.session_id = draw(st.integers(0, 3))
        s.replicas.add(egress_port=draw(st.integers(0, 600)))
    return e


updates = st.builds(
    lambda op, ent: p4r.Update(type=op, entity=ent),
    st.sampled_from([0, 1, 2, 3]),
    st.one_of(table_entries(), other_entities()),
)


def make_device() -> Device:
    device = Device(load_fake, cpu_port=CPU_PORT)
    device.load_at_start(Bundle.decode(fake_bundle()))
    arb = p4r.MasterArbitrationUpdate(device_id=0)
    arb.election_id.low = 1
    device.arbitration.update("ctl", arb)
    return device


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(updates, min_size=1, max_size=8))
def test_random_writes_and_reads_never_raise(batch: list[p4r.Update]) -> None:
    device = make_device()
    req = p4r.WriteRequest(device_id=0, updates=batch)
    req.election_id.low = 1
    results = device.write(req)
    assert len(results) == len(batch)
    assert all(r is None or isinstance(r, P4RTError) for r in results)
    for upd in batch:
        with contextlib.suppress(P4RTError):
            list(device.read(p4r.ReadRequest(device_id=0, entities=[upd.entity])))
    # the data plane still runs and the state is readable with a full wildcard
    device.receive(1, b"\x00" * 64)
    list(device.read(p4r.ReadRequest(device_id=0, entities=[p4r.Entity(table_entry={})])))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_device_configs_are_refused_cleanly(data: bytes) -> None:
    try:
        load_fake(Bundle.decode(data))
    except ProgramError as exc:
        assert str(exc) and "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80), st.integers(0, 600))
def test_random_frames_and_packet_outs(frame: bytes, port: int) -> None:
    device = make_device()
    device.receive(port, frame)
    out = p4r.PacketOut(payload=frame)
    out.metadata.add(metadata_id=1, value=frame[:3])
    with contextlib.suppress(P4RTError):
        device.packet_out(out)


def test_arbitration_object_rejects_foreign_device() -> None:
    arb = Arbitration(0)
    with pytest.raises(P4RTError):
        arb.update("s", p4r.MasterArbitrationUpdate(device_id=1))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_random_nanomsg_messages_are_handled_or_refused(msg: bytes) -> None:
    from targets.p4sim.runtime.ports.nanomsg import HDR, PACKET_IN, NanomsgTransport

    delivered: list[tuple[int, bytes]] = []
    nn = NanomsgTransport.__new__(NanomsgTransport)  # the parser only; no socket
    nn.ports, nn._send = set(), lambda data: None  # type: ignore[method-assign]
    try:
        nn._handle(msg, lambda port, frame: delivered.append((port, frame)))
    except ValueError as exc:
        assert str(exc)
        return
    if delivered:
        kind, port, length = HDR.unpack_from(msg)
        assert kind == PACKET_IN and delivered == [(port, msg[HDR.size :])]
        assert length == len(msg) - HDR.size
