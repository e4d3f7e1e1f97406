"""An unprotected black BGP session to a provider (draft section 2), with the
``black_acl`` entries exactly as the daemon renders them (``controller/app/desired/node.py``).

TCP 179 in either direction between the configured black neighbour and one of
our black addresses reaches the CPU (the SYN-ACK to our black interface address
included); the same segment from any other black source, or towards an address
that is not ours, stays a BLACK_POLICY drop. Our own segments to the neighbour
leave the black port in the clear.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from scapy.layers.inet import TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from bmv2_tests.lib.cpe import BLACK, BLACK_GW_MAC, PUNT, Cpe, router_mac
from bmv2_tests.lib.packets import ip_layer
from controller.app.desired import BGP_PORT, PROTO_TCP, DesiredState
from controller.config import parse
from controller.p4rt import TableEntry

pytestmark = pytest.mark.ptf
CPE1 = Path(__file__).resolve().parents[1] / "examples" / "cpe1.yml"
# cpe1.yml: wan0 203.0.113.2/30, black neighbour 203.0.113.1 (AS 64500).
PLAN = {
    4: ("203.0.113.2", "203.0.113.1", "203.0.113.9", "198.51.100.77"),
    6: ("2001:db8:ff::2", "2001:db8:ff::1", "2001:db8:ff::9", "2001:db8:77::7"),
}


def black_acl(version: int, neighbour: str) -> list[TableEntry]:
    """The daemon's black_acl entries for cpe1.yml (its IPv4 neighbour, or an IPv6 one)."""
    cfg = parse(CPE1.read_text(), str(CPE1), CPE1.parent, resolve_secrets=False)
    state = DesiredState(cfg, {})
    if version == 6:  # cpe1.yml has no IPv6 provider session: same shape, IPv6 neighbour
        nbr = ipaddress.ip_address(neighbour)
        state.black_acl_punts = [
            (nbr, PROTO_TCP, None, BGP_PORT),
            (nbr, PROTO_TCP, BGP_PORT, None),
        ]
    entries = [e for e in state.entries() if e.table == "black_acl"]
    assert len(entries) == 2
    return entries


def set_up(cpe: Cpe, version: int) -> tuple[str, str, str, str]:
    ours, nbr, stranger, elsewhere = PLAN[version]
    cpe.set_up_black_port(BLACK)
    cpe.insert(
        TableEntry(f"my_black_v{version}", {f"ipv{version}_dst": ours}, "my_address"),
        TableEntry(
            "black_nexthop",
            {"nexthop_id": 1},
            "set_black_nexthop",
            {"port": BLACK, "src_mac": router_mac(BLACK), "dst_mac": BLACK_GW_MAC},
        ),
        TableEntry(
            f"black_fib_v{version}",
            {f"ipv{version}_dst": f"{nbr}/{32 if version == 4 else 128}"},
            "set_black_nexthop_id",
            {"nexthop_id": 1},
        ),
        *black_acl(version, nbr),
    )
    return ours, nbr, stranger, elsewhere


def segment(version: int, src: str, dst: str, sport: int, dport: int, flags: str) -> bytes:
    ip = ip_layer(version, src, dst) / TCP(sport=sport, dport=dport, flags=flags)
    return bytes(Ether(src=BLACK_GW_MAC, dst=router_mac(BLACK)) / ip)


def expect_punt(cpe: Cpe, frame: bytes) -> None:
    before = cpe.punts("BLACK_POLICY")
    cpe.dp.send(BLACK, frame)
    pkt = cpe.sw.packet_in()
    assert pkt is not None, "the black BGP segment was not punted"
    assert pkt.metadata["reason"] == PUNT["BLACK_POLICY"]
    assert pkt.metadata["ingress_port"] == BLACK
    assert pkt.payload == frame  # unchanged: the kernel behind the TAP checks it
    cpe.dp.expect_none()
    assert cpe.punts("BLACK_POLICY", want=before + 1) == before + 1


def expect_drop(cpe: Cpe, frame: bytes) -> None:
    before = cpe.drops("BLACK_POLICY")
    cpe.dp.send(BLACK, frame)
    cpe.dp.expect_none()
    assert cpe.sw.packet_in(timeout=0.3) is None
    assert cpe.drops("BLACK_POLICY", want=before + 1) == before + 1


VERSIONS = pytest.mark.parametrize("version", [4, 6], ids=["ipv4", "ipv6"])


@VERSIONS
def test_black_session_both_directions_reach_the_cpu(cpe: Cpe, version: int) -> None:
    ours, nbr, _, _ = set_up(cpe, version)
    # We connected: the provider's SYN-ACK to our black interface address.
    expect_punt(cpe, segment(version, nbr, ours, BGP_PORT, 41126, "SA"))
    # The provider connects: its SYN to our port 179.
    expect_punt(cpe, segment(version, nbr, ours, 50123, BGP_PORT, "S"))


@VERSIONS
def test_tcp_179_from_anyone_else_or_not_to_us_is_dropped(cpe: Cpe, version: int) -> None:
    ours, nbr, stranger, elsewhere = set_up(cpe, version)
    expect_drop(cpe, segment(version, stranger, ours, BGP_PORT, 41126, "SA"))
    expect_drop(cpe, segment(version, stranger, ours, 50123, BGP_PORT, "S"))
    expect_drop(cpe, segment(version, nbr, elsewhere, 50123, BGP_PORT, "S"))


@VERSIONS
def test_our_segments_to_the_neighbour_leave_black_in_the_clear(cpe: Cpe, version: int) -> None:
    ours, nbr, _, _ = set_up(cpe, version)
    seg = ip_layer(version, ours, nbr) / TCP(sport=41126, dport=BGP_PORT, flags="S") / Raw(b"")
    cpe.sw.packet_out(
        bytes(Ether(src="02:00:00:00:00:99", dst=BLACK_GW_MAC) / seg), do_forward=True
    )
    cpe.dp.expect(BLACK, bytes(Ether(src=router_mac(BLACK), dst=BLACK_GW_MAC) / seg))
    cpe.dp.expect_none()


def test_a_family_entry_never_matches_the_other_family(cpe: Cpe) -> None:
    """The IPv4 neighbour's entries key on the IPv4 source, which an IPv6 packet does
    not have (an invalid header's field, unspecified in P4: a target might leave the
    last IPv4 packet's there). An IPv6 segment to port 179 right after the
    neighbour's IPv4 one stays a drop (so it does on p4sim and on BMv2)."""
    ours4, nbr4, _, _ = set_up(cpe, 4)
    ours6, _, stranger6, _ = PLAN[6]
    cpe.insert(TableEntry("my_black_v6", {"ipv6_dst": ours6}, "my_address"))
    expect_punt(cpe, segment(4, nbr4, ours4, 50123, BGP_PORT, "S"))
    expect_drop(cpe, segment(6, stranger6, ours6, 50123, BGP_PORT, "S"))
    expect_drop(cpe, segment(6, stranger6, ours6, BGP_PORT, 41126, "SA"))
