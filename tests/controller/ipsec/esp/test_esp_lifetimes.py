"""Soft/hard lifetimes by packets, bytes, seconds and sequence space; expiry events."""

import pytest
from esp_testlib import eth, ip_packet, request, sa_params, split

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.installer import (
    Direction,
    ExpiryEvent,
    ExpiryKind,
    ExpiryReason,
    Lifetime,
    SaUpdate,
)

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _engine() -> tuple[EspEngine, Clock, list[ExpiryEvent]]:
    clock = Clock()
    engine = EspEngine(clock=clock)
    events: list[ExpiryEvent] = []
    engine.subscribe(events.append)
    return engine, clock, events


def _send(engine: EspEngine, index: int = 1) -> int:
    frame = eth(4, ip_packet(4, outbound=True))
    return split(engine.process(request(cp.Op.ENCRYPT, frame, index)))[0].result


def _kinds(events: list[ExpiryEvent]) -> list[tuple[str, str]]:
    return [(e.kind.value, e.reason.value) for e in events]


def test_packet_lifetimes() -> None:
    engine, _, events = _engine()
    engine.add_sa(sa_params(Direction.OUTBOUND, soft=Lifetime(packets=3), hard=Lifetime(packets=5)))
    results = [_send(engine) for _ in range(7)]
    assert results == [0, 0, 0, 0, 0, cp.Result.SA_EXPIRED, cp.Result.SA_EXPIRED]
    assert _kinds(events) == [("soft", "packets"), ("hard", "packets")]
    assert events[0] == ExpiryEvent(
        1, 0x1001, Direction.OUTBOUND, ExpiryKind.SOFT, ExpiryReason.PACKETS
    )
    assert engine.counters(1).packets == 5
    assert engine.counters(1).errors == {"SA_EXPIRED": 2}


def test_byte_lifetimes_count_protected_octets() -> None:
    engine, _, events = _engine()
    size = len(ip_packet(4, outbound=True).payload)
    engine.add_sa(
        sa_params(
            Direction.OUTBOUND, soft=Lifetime(bytes=size * 2), hard=Lifetime(bytes=size * 2 + 1)
        )
    )
    assert [_send(engine) for _ in range(4)] == [0, 0, 0, cp.Result.SA_EXPIRED]
    assert _kinds(events) == [("soft", "bytes"), ("hard", "bytes")]
    assert engine.counters(1).bytes == size * 3


def test_time_lifetimes_fire_on_tick_without_traffic() -> None:
    engine, clock, events = _engine()
    engine.add_sa(
        sa_params(Direction.INBOUND, soft=Lifetime(seconds=30), hard=Lifetime(seconds=60))
    )
    engine.tick()
    assert events == []
    clock.now += 30
    engine.tick()
    engine.tick()  # each event is raised once
    assert _kinds(events) == [("soft", "seconds")]
    clock.now += 30
    engine.tick()
    assert _kinds(events) == [("soft", "seconds"), ("hard", "seconds")]


def test_time_lifetime_checked_on_the_packet_path() -> None:
    engine, clock, events = _engine()
    engine.add_sa(sa_params(Direction.OUTBOUND, hard=Lifetime(seconds=10)))
    assert _send(engine) == cp.Result.OK
    clock.now += 10
    assert _send(engine) == cp.Result.SA_EXPIRED
    assert _kinds(events) == [("hard", "seconds")]


@pytest.mark.parametrize("esn", [False, True])
def test_sequence_space_expires_before_it_wraps(esn: bool) -> None:
    engine, _, events = _engine()
    engine.add_sa(sa_params(Direction.OUTBOUND, esn=esn))
    last = (1 << (64 if esn else 32)) - 1
    engine._sas[1].seq = last - (last >> 4) - 1  # test back door: just below the soft mark
    assert _send(engine) == cp.Result.OK
    assert _kinds(events) == [("soft", "sequence")]
    engine._sas[1].seq = last - 2
    assert [_send(engine) for _ in range(3)] == [0, 0, cp.Result.SEQ_EXHAUSTED]
    assert engine.sequence(1) == last  # the last number was used, and never wrapped
    assert _kinds(events) == [("soft", "sequence"), ("hard", "sequence")]


def test_update_extends_lifetimes_and_subscriber_errors_are_contained() -> None:
    engine, _, events = _engine()

    def broken(event: ExpiryEvent) -> None:
        raise RuntimeError("subscriber bug")

    unsubscribe = engine.subscribe(broken)
    engine.add_sa(sa_params(Direction.OUTBOUND, soft=Lifetime(packets=2)))
    engine.update_sa(1, SaUpdate(soft=Lifetime(packets=3)))
    assert [_send(engine) for _ in range(3)] == [0, 0, 0]
    assert _kinds(events) == [("soft", "packets")]  # the broken subscriber did not stop it
    unsubscribe()
    unsubscribe()  # idempotent
