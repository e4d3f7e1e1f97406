"""p4sim against BMv2: the same program, state and packets must give the same outcomes.

Both targets run ``p4src/cpe.p4`` with one realistic state (two VRFs, one on
a trunk VLAN; IPv4 and IPv6 routes; a tunnel per family, one in ESP-in-UDP;
SAs in both ESP engines with the same keys; the black port; control SPD
entries). Hypothesis draws batches of inputs on every port: red and black
frames, frames on the crypto port as the engine might return them, and
P4Runtime packet-outs (through the pipeline or to a port), mostly mutations
of well-formed frames including ESP the peer really encrypted. Each input
runs on both targets at once and its outcomes are compared: frames out
(port and bytes), frames to the engine, drops and punts per reason,
packet-ins. Afterwards every cell of the program's counters must agree.

Where they differ, BMv2 is right: fix p4sim and pin the case with a
conformance program (tests/targets/p4sim/conformance/). With
SL3VPN_PROGRAM=tna p4sim runs cpe_tna.p4 and BMv2 still cpe.p4: everything
must agree but the TX byte counts (p4src/README.md). Runs when
p4c-bm2-ss and simple_switch_grpc are found ($SL3VPN_P4_PREFIX/bin or PATH).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw

from bmv2_tests.lib.cpe import BLACK, DATA_PORTS, Family
from bmv2_tests.lib.fuzzframes import (
    RED_PORTS,
    black_seeds,
    cpu_seeds,
    crypto_seeds,
    mutated,
    on_black,
    red_seeds,
)
from bmv2_tests.lib.outcome import Stimulus
from bmv2_tests.lib.packets import MPLS_PUSH_TTL, PROTO_MPLS_IN_IP, tenant_ip
from bmv2_tests.lib.target import CPU_PORT, CRYPTO_PORT, TargetUnavailable
from bmv2_tests.lib.twin import Twin, twin_targets
from targets import bmv2

# PTF warns (through a deprecated logging call) about every frame under 15 octets.
pytestmark = [pytest.mark.ptf, pytest.mark.filterwarnings("ignore:The 'warn' method")]
REFERENCE = "bmv2"
SLOW_PACKETS = 5000


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    missing = bmv2.missing_tools() if REFERENCE == "bmv2" else []
    if missing:
        pytest.skip(f"differential test needs BMv2: {'; '.join(missing)}")
    try:
        with twin_targets(tmp_path_factory.mktemp("twin"), ("p4sim", REFERENCE)) as pair:
            yield pair
    except TargetUnavailable as exc:  # the tools are there: not starting is a failure
        pytest.fail(f"differential test: {exc}")


def peer_esp(tunnel_fam: Family, in_sa: object, seq: int, label: int, inner_v: int) -> bytes:
    """ESP the peer C-PE really sends: MPLS-in-IP to our loopback, encrypted with its SA."""
    from bmv2_tests.lib.cpe import FAMILIES

    inner_fam = FAMILIES[inner_v]
    inner = tenant_ip(inner_v, inner_fam.remote_host, inner_fam.tenant_host1)
    mpls = MPLS(label=label, s=1, ttl=MPLS_PUSH_TTL) / Raw(bytes(inner))
    src, dst = tunnel_fam.peer_loopback, tunnel_fam.our_loopback
    outer = (
        IP(src=src, dst=dst, id=0, flags="DF", proto=PROTO_MPLS_IN_IP) / mpls
        if tunnel_fam.version == 4
        else IPv6(src=src, dst=dst, nh=PROTO_MPLS_IN_IP) / mpls
    )
    return on_black(in_sa.encrypt(outer, seq_num=seq))  # type: ignore[attr-defined]


def stimuli(twin: Twin) -> st.SearchStrategy[Stimulus]:
    esp = [
        peer_esp(t.outer, t.in_sa, seq, label, v)
        for t in twin.tunnels
        for seq in (1, 2, 3, 1000)
        for label, v in ((104, 4), (106, 6), (999, 4))
    ]
    ports = st.sampled_from([*DATA_PORTS, CRYPTO_PORT])
    return st.one_of(
        st.builds(Stimulus, st.sampled_from(RED_PORTS), mutated(red_seeds())),
        st.builds(Stimulus, st.just(BLACK), mutated(black_seeds() + esp)),
        st.builds(Stimulus, st.just(CRYPTO_PORT), mutated(crypto_seeds(twin.sa_indexes()))),
        st.builds(Stimulus, st.just(CPU_PORT), mutated(cpu_seeds()), ports, st.booleans()),
    )


def compare(twin: Twin, batch: list[Stimulus]) -> int:
    for stim in batch:
        got, want = (o.canonical() for o in twin.run(stim))
        if got != want:
            pytest.fail(
                f"{twin.names[0]} and {twin.names[1]} differ on {stim.describe()}\n"
                f"--- {twin.names[1]}\n{want.describe()}\n--- {twin.names[0]}\n{got.describe()}"
            )
    return len(batch)


def run_batches(twin: Twin, examples: int, size: int) -> int:
    sent = 0

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,  # the engines' keys are new each run: saved examples would not replay
        # No explain phase: on Python < 3.12 it traces every line (scapy's included) and ran a
        # found difference past the 300 s timeout; the failure message names the packet.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        nonlocal sent
        batch = data.draw(st.lists(stimuli(twin), min_size=size, max_size=size), label="batch")
        sent += compare(twin, batch)

    check()
    assert twin.counters(0) == twin.counters(1), "the counters differ after the run"
    return sent


def test_p4sim_and_bmv2_agree(twin: Twin) -> None:
    assert run_batches(twin, examples=20, size=10) >= 200


@pytest.mark.slow
def test_p4sim_and_bmv2_agree_on_many_packets(twin: Twin) -> None:
    assert run_batches(twin, examples=SLOW_PACKETS // 25, size=25) >= SLOW_PACKETS
