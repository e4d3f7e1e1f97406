"""Batches through the fast-path runs answer, count and expire exactly as frame-by-frame.

Two engines with the same SAs and keys: one answers random batches with
process_many() (fast-path runs wherever the frames allow), the other answers
the same frames one at a time with the fast path switched off (the general
path, which the scapy interop tests hold to RFC 4303).  Every answer, counter,
refusal reason, anti-replay decision and expiry event must be the same.
"""

from __future__ import annotations

import os
import random

import pytest
from esp_testlib import eth, ip_packet, keys_for, request, sa_params
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP
from scapy.layers.l2 import Dot1Q, Ether
from scapy.packet import Raw

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.installer import (
    CipherSuite,
    Direction,
    ExpiryEvent,
    Lifetime,
    SaParams,
)

pytestmark = pytest.mark.unit
_GCM = CipherSuite.AES_GCM_16_128
KEYS = [keys_for(_GCM) for _ in range(3)]


def _sas() -> list[SaParams]:
    """Outbound 1 (count lifetimes), 2 (ESN) and 3 (UDP: general path); their inbound twins."""
    sas = []
    for direction in (Direction.OUTBOUND, Direction.INBOUND):
        base = 0 if direction is Direction.OUTBOUND else 10
        sas += [
            sa_params(direction, sa_index=base + 1, spi=0x101, keys=KEYS[0], window=8,
                      soft=Lifetime(packets=9), hard=Lifetime(packets=40, bytes=9000)),
            sa_params(direction, sa_index=base + 2, spi=0x102, keys=KEYS[1], esn=True),
            sa_params(direction, sa_index=base + 3, spi=0x103, keys=KEYS[2], udp=True),
        ]  # fmt: skip
    return sas


def _engines() -> tuple[EspEngine, EspEngine, list[ExpiryEvent], list[ExpiryEvent]]:
    fast, slow = EspEngine(clock=lambda: 100.0), EspEngine(clock=lambda: 100.0)
    fast_events: list[ExpiryEvent] = []
    slow_events: list[ExpiryEvent] = []
    for engine, events in ((fast, fast_events), (slow, slow_events)):
        for params in _sas():
            engine.add_sa(params)
        engine.subscribe(events.append)
    for state in slow._sas.values():
        state.fast = False
    return fast, slow, fast_events, slow_events


def _plain(rng: random.Random, size: int, vlan: bool = False, outbound: bool = True) -> bytes:
    packet = ip_packet(4, outbound=outbound)
    packet[IP].remove_payload()
    packet = packet / Raw(os.urandom(size))
    packet[IP].ttl = rng.randrange(1, 256)
    if vlan:
        return bytes(Ether() / Dot1Q(vlan=5) / packet)
    return eth(4, packet)


def _sealed_pool() -> list[bytes]:
    """ESP frames from a peer engine for the inbound SAs, in sequence order per SA."""
    peer = EspEngine()
    for params in _sas()[:3]:
        peer.add_sa(params)
    rng = random.Random(5)
    pool = []
    for n in range(60):
        index = 1 + n % 3
        plain = _plain(rng, rng.randrange(120), outbound=False)  # to the inbound SAs' address
        answer = peer.process(request(cp.Op.ENCRYPT, plain, index))
        assert answer[4] == cp.Result.OK
        pool.append(request(cp.Op.DECRYPT, answer[cp.HEADER_LEN :]))
    return pool


POOL = _sealed_pool()
_KINDS = ["enc1", "enc2", "enc3", "enc_unknown", "enc_vlan", "dec", "forged", "short", "noise"]


def _frame(kind: str, rng: random.Random, pick: int) -> bytes:
    if kind.startswith("enc"):
        index = {"enc1": 1, "enc2": 2, "enc3": 3, "enc_unknown": 9, "enc_vlan": 1}[kind]
        return request(cp.Op.ENCRYPT, _plain(rng, rng.randrange(200), kind == "enc_vlan"), index)
    sealed = POOL[pick % len(POOL)]
    if kind == "forged":
        forged = bytearray(sealed)
        forged[-1 - rng.randrange(30)] ^= 1 << rng.randrange(8)
        return bytes(forged)
    if kind == "short":
        return sealed[: rng.randrange(len(sealed))]
    if kind == "noise":
        return os.urandom(rng.randrange(80))
    return sealed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(_KINDS), st.integers(0, 200), st.integers(1, 40)),
        min_size=1,
        max_size=120,
    ),
    st.integers(0, 2**32),
)
def test_batches_match_frame_by_frame(plan: list[tuple[str, int, int]], seed: int) -> None:
    rng = random.Random(seed)
    frames = [_frame(kind, rng, pick) for kind, pick, _ in plan]
    fast, slow, fast_events, slow_events = _engines()
    answers: list[bytes] = []
    start = 0
    for _, _, batch in plan:  # batch sizes as a port might read them
        if start >= len(frames):
            break
        answers += fast.process_many(frames[start : start + batch])
        start += batch
    assert answers == [slow.process(frame) for frame in frames]
    for index in (1, 2, 3, 11, 12, 13):
        assert fast.counters(index) == slow.counters(index)
        assert fast.sequence(index) == slow.sequence(index)
    assert fast.errors == slow.errors
    assert fast.last_error == slow.last_error
    assert fast_events == slow_events


def test_window_moves_exactly_as_the_reference() -> None:
    """Out-of-order and replayed sequence numbers in one batch: the window's verdicts."""
    fast, slow, _, _ = _engines()
    order = [0, 3, 6, 3, 9, 12, 9, 0, 30, 33, 15, 57, 54, 3, 57]  # SA 11's frames (n % 3 == 0)
    batch = [POOL[n] for n in order]
    first = fast.process_many(batch)
    assert first == [slow.process(frame) for frame in batch]
    ok, replay = cp.Result.OK, cp.Result.REPLAY
    assert [answer[4] for answer in first] == [ok] * 3 + [replay] + [ok] * 2 + [replay] * 2 + [
        ok, ok, ok, ok, ok, replay, replay,
    ]  # fmt: skip
    again = fast.process_many(batch)
    assert again == [slow.process(frame) for frame in batch]
    assert [answer[4] for answer in again] == [replay] * len(batch)
    window = fast._sas[11].replay
    reference = slow._sas[11].replay
    assert window is not None and reference is not None
    assert (window.top, window.bitmap) == (reference.top, reference.bitmap)


def test_hard_limit_inside_a_batch_stops_at_the_same_frame() -> None:
    fast, slow, fast_events, slow_events = _engines()
    rng = random.Random(9)
    frames = [request(cp.Op.ENCRYPT, _plain(rng, 10), 1) for _ in range(45)]
    answers = fast.process_many(frames)
    assert answers == [slow.process(frame) for frame in frames]
    assert [a[4] for a in answers] == [cp.Result.OK] * 40 + [cp.Result.SA_EXPIRED] * 5
    assert [(e.kind.value, e.reason.value) for e in fast_events] == [
        ("soft", "packets"),
        ("hard", "packets"),
    ]
    assert fast_events == slow_events
