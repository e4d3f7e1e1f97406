"""Isolation under arbitrary input (draft section 7), fuzzed with hypothesis.

Random frames, and random mutations of well-formed ones, are fed to a fully
configured C-PE (p4sim in-process, the ESP engine in-line on the crypto
port). Whatever the parser and pipeline make of them, nothing entering on a
red port may leave the black port except as ESP, and nothing entering on the
black port may reach a red port unless it came through an SA (impossible for
unkeyed random input). The switch must also never fail on a frame.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether

from bmv2_tests.lib.cpe import (
    BLACK,
    BLACK_GW_MAC,
    RED_A1,
    RED_A2,
    RED_B,
    TRUNK,
    V4,
    V6,
    VRF_A,
    Cpe,
    host_mac,
    router_mac,
)
from bmv2_tests.lib.inproc import InProcessSwitch
from bmv2_tests.lib.packets import eth, mpls_in_ip, tenant_ip
from bmv2_tests.lib.target import TargetUnavailable, target_kind

pytestmark = pytest.mark.ptf
RED_PORTS = {RED_A1, RED_A2, RED_B, TRUNK}


@pytest.fixture(scope="module")
def inproc() -> Iterator[InProcessSwitch]:
    if target_kind() != "p4sim":
        pytest.skip("the in-process fuzz drives p4sim directly; it has no BMv2 form")
    try:
        switch = InProcessSwitch()
    except TargetUnavailable as exc:
        pytest.skip(str(exc))
    cpe = Cpe(switch, None, switch.crypto)  # type: ignore[arg-type]
    for fam in (V4, V6):
        cpe.set_up_vrf_a(fam)
        cpe.set_up_vrf_b(fam)
        cpe.set_up_black(fam)
        tunnel = cpe.set_up_tunnel(fam, tunnel_id=fam.version)
        cpe.set_up_remote_route(fam, VRF_A, fam.remote_net, 100 + fam.version, tunnel.tunnel_id)
        cpe.set_up_vpn_label(100 + fam.version, VRF_A)
    yield switch


def seeds() -> list[bytes]:
    """Well-formed frames of every kind the C-PE handles, to mutate."""
    red = [
        eth(host_mac(RED_A1), router_mac(RED_A1), tenant_ip(v, f.tenant_host1, dst))
        for v, f in ((4, V4), (6, V6))
        for dst in (f.tenant_host2, f.remote_host)
    ]
    black = [
        bytes(Ether(src=BLACK_GW_MAC, dst=router_mac(BLACK)) / pkt)
        for pkt in (
            mpls_in_ip(
                4, V4.peer_loopback, V4.our_loopback, 104, tenant_ip(4, "10.9.0.7", "10.1.1.2")
            ),
            mpls_in_ip(
                6,
                V6.peer_loopback,
                V6.our_loopback,
                106,
                tenant_ip(6, V6.remote_host, V6.tenant_host1),
            ),
            IP(src=V4.peer_loopback, dst=V4.our_loopback, proto=50)
            / (b"\x00\x00\x10\x01" + b"\x00" * 40),
            IP(src=V4.peer_loopback, dst=V4.our_loopback)
            / UDP(sport=4500, dport=4500)
            / (b"\x00\x00\x10\x01" + b"\x00" * 40),
            IPv6(src=V6.peer_loopback, dst=V6.our_loopback, nh=50)
            / (b"\x00\x00\x10\x05" + b"\x00" * 40),
        )
    ]
    return red + black


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(min_size=0, max_size=200))
    frame = bytearray(draw(st.sampled_from(seeds())))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(frame) - 1))
        frame[pos] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        frame = frame[: draw(st.integers(0, len(frame)))]
    return bytes(frame)


def is_esp(frame: bytes) -> bool:
    pkt = Ether(frame)
    ip = pkt.getlayer(IP) or pkt.getlayer(IPv6)
    if ip is None:
        return False
    nxt = ip.proto if isinstance(ip, IP) else ip.nh
    if nxt == 50:
        return True
    return nxt == 17 and isinstance(ip.payload, UDP) and ip.payload.dport == 4500


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(port=st.sampled_from(sorted(RED_PORTS)), frame=frames())
def test_red_input_leaves_black_only_as_esp(
    inproc: InProcessSwitch, port: int, frame: bytes
) -> None:
    errors = inproc.device.packet_errors
    for egress, out in inproc.send(port, frame):
        if egress == BLACK:
            assert is_esp(out), f"red frame left black in the clear: {out.hex()}"
    assert inproc.device.packet_errors == errors, "the pipeline failed on a frame"


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(frame=frames())
def test_black_input_never_reaches_red_without_sa(inproc: InProcessSwitch, frame: bytes) -> None:
    errors = inproc.device.packet_errors
    out = inproc.send(BLACK, frame)
    assert not [p for p, _ in out if p in RED_PORTS], "black frame reached a red port"
    assert inproc.device.packet_errors == errors, "the pipeline failed on a frame"
