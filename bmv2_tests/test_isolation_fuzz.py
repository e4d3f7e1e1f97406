"""Isolation under arbitrary input (draft section 7), fuzzed with hypothesis.

Random frames, and random mutations of well-formed ones, go into a fully
configured C-PE through its ports (whichever target the suite runs on, PTF's
nanomsg dataplane, the ESP engine on the crypto port). Each frame is sent on
its own and its whole outcome collected (``lib/outcome.py``: every pass it
caused accounted for by the drop/punt counters, the frames out and the
engine's requests), then checked against the isolation rules:

* red input leaves the black port only as ESP the engine produced;
* red input never reaches a red port of another VRF;
* black input (unkeyed: it cannot come through an SA) reaches no red port.

A frame the switch loses or fails on leaves its account unbalanced and fails.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bmv2_tests.lib.cpe import BLACK, DATA_PORTS, RED_A1, RED_A2, V4, V6, VRF_A, Cpe
from bmv2_tests.lib.fuzzframes import RED_PORTS, black_seeds, is_esp, mutated, red_seeds
from bmv2_tests.lib.outcome import Outcome, Prober, Stimulus
from controller.ipsec import crypto_port as cp

# PTF warns (through a deprecated logging call) about every frame under 15 octets.
pytestmark = [pytest.mark.ptf, pytest.mark.filterwarnings("ignore:The 'warn' method")]
VRF_OF_PORT = {RED_A1: "A", RED_A2: "A"}  # RED_B and the trunk's VLAN B are tenant B
FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def prober(cpe: Cpe) -> Iterator[Prober]:
    for fam in (V4, V6):
        cpe.set_up_vrf_a(fam)
        cpe.set_up_vrf_b(fam)
        cpe.set_up_black(fam)
        tunnel = cpe.set_up_tunnel(fam, tunnel_id=fam.version)
        cpe.set_up_remote_route(fam, VRF_A, fam.remote_net, 100 + fam.version, tunnel.tunnel_id)
        cpe.set_up_vpn_label(100 + fam.version, VRF_A)
    yield Prober(cpe, DATA_PORTS)
    assert not cpe.crypto.unanswered, "the pipeline sent the engine a frame it could not read"


def encrypt_requests(out: Outcome) -> int:
    return sum(1 for f in out.to_engine if cp.CryptoHeader.decode(f).op == cp.Op.ENCRYPT)


def tenant(port: int) -> str:
    return VRF_OF_PORT.get(port, "B")


@FUZZ
@given(port=st.sampled_from(RED_PORTS), frame=mutated(red_seeds()))
def test_red_input_leaves_black_only_as_esp(prober: Prober, port: int, frame: bytes) -> None:
    out = prober.run(Stimulus(port, frame))
    black = [f for p, f in out.outputs if p == BLACK]
    for f in black:
        assert is_esp(f), f"red frame left black in the clear: {f.hex()}"
    assert len(black) <= encrypt_requests(out), "ESP the engine never made"
    leaked = [p for p, _ in out.outputs if p in RED_PORTS and tenant(p) != tenant(port)]
    assert not leaked, f"tenant {tenant(port)} frame reached port(s) {leaked}: {frame.hex()}"


@FUZZ
@given(frame=mutated(black_seeds()))
def test_black_input_never_reaches_red_without_sa(prober: Prober, frame: bytes) -> None:
    out = prober.run(Stimulus(BLACK, frame))
    reached = [p for p, _ in out.outputs if p in RED_PORTS]
    assert not reached, f"black frame reached red port(s) {reached}: {frame.hex()}"
