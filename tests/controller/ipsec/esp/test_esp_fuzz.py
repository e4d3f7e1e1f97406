"""Hypothesis: nothing a port can deliver makes the engine raise; the window matches a model."""

import pytest
from esp_testlib import eth, ip_packet, request, sa_params, scapy_sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.replay import ReplayWindow
from controller.ipsec.installer import CipherSuite, Direction, Mode

pytestmark = pytest.mark.unit

ENGINE = EspEngine()
_IN = [
    sa_params(Direction.INBOUND, sa_index=1, spi=0x1001),
    sa_params(
        Direction.INBOUND,
        sa_index=2,
        spi=0x1002,
        version=6,
        mode=Mode.TUNNEL,
        udp=True,
        suite=CipherSuite.AES_CBC_128_HMAC_SHA2_256_128,
    ),
]
for _params in _IN:
    ENGINE.add_sa(_params)
ENGINE.add_sa(sa_params(Direction.OUTBOUND, sa_index=3, spi=0x3003, window=0))
VALID = [
    request(cp.Op.DECRYPT, eth(4, scapy_sa(_IN[0]).encrypt(ip_packet(4, outbound=False)))),
    request(cp.Op.DECRYPT, eth(6, scapy_sa(_IN[1]).encrypt(ip_packet(6, outbound=False)))),
    request(cp.Op.ENCRYPT, eth(4, ip_packet(4, outbound=True)), 3),
    request(cp.Op.ENCRYPT, eth(6, ip_packet(6, outbound=True, payload="bgp")), 3),
]


def _check(frame: bytes) -> None:
    answer = ENGINE.process(frame)
    if len(frame) < cp.HEADER_LEN:
        assert answer == b""
        return
    hdr = cp.CryptoHeader.decode(answer)
    if hdr.result != cp.Result.OK:
        assert answer[cp.HEADER_LEN :] == frame[cp.HEADER_LEN :]


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise(data: bytes) -> None:
    _check(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(VALID),
    st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), min_size=1, max_size=4),
    st.integers(0, 400),
)
def test_mutated_valid_frames_never_raise(
    frame: bytes, flips: list[tuple[int, int]], cut: int
) -> None:
    mutated = bytearray(frame)
    for position, value in flips:
        mutated[position % len(mutated)] = value
    _check(bytes(mutated[: len(mutated) - cut]) if cut < len(mutated) else bytes(mutated))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 300), st.lists(st.integers(1, 5000), max_size=80))
def test_replay_window_matches_a_set_model(size: int, seqs: list[int]) -> None:
    """Accept iff never seen and not more than size-1 behind the highest accepted."""
    window = ReplayWindow(size, esn=False)
    seen: set[int] = set()
    for seq in seqs:
        full = window.infer(seq)
        assert full == seq
        expected = seq not in seen and (not seen or seq > max(seen) - size)
        assert window.check(seq) == expected
        if expected:
            window.update(seq)
            seen.add(seq)
