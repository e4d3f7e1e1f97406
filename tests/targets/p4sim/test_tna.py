"""p4sim's TNA model, checked against its v1model model on the C-PE.

The v1model program (p4src/cpe.p4) and the TNA program (p4src/cpe_tna.p4)
share every table and action, so the same entries and the same frames must give
the same output frames and counters on both. The v1model side is itself checked
against BMv2 by the packet suite; this covers the TNA side's parser start
(intrinsic + port metadata), deparser Checksum, drop_ctl / ucast_egress_port,
egress parser, and the TNA Counter, for one frame per path of the program.
"""

from __future__ import annotations

import copy
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import IP, TCP, UDP, IPOption_Router_Alert
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from targets.p4sim.program import Program, load
from targets.p4sim.state import ActionCall, Exact, Lpm, TableEntry
from targets.p4sim.switch import Switch
from targets.p4sim.tna_switch import TnaSwitch, pack_header

P4SRC = Path(__file__).resolve().parents[3] / "p4src"
CPU, CRYPTO, RED1, RED2, BLACK = 255, 254, 1, 2, 3
LOOP, PEER = "192.0.2.1", "192.0.2.2"
pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def programs() -> tuple[Program, Program]:
    return load(P4SRC / "cpe.p4"), load(P4SRC / "cpe_tna.p4")


def _entry(sw: Switch | TnaSwitch, table: str, keys: tuple, action: str, *args: int) -> None:
    control = table.rsplit(".", 1)[0]
    sw.state.tables[f"CpeIngress.{table}"].insert(
        TableEntry(keys, ActionCall(f"CpeIngress.{control}.{action}", args))
    )


def _configure(sw: Switch | TnaSwitch) -> None:
    """Two red ports in VRF 10, one black port, one tunnel with SA 5 out / 9 in."""
    for port in (RED1, RED2):
        _entry(sw, "port_classify.port_role", (Exact(port),), "set_red_port", 10)
        _entry(sw, "isolation_guard.egress_port_role", (Exact(port),), "egress_red")
    _entry(sw, "port_classify.port_role", (Exact(BLACK),), "set_black_port")
    _entry(sw, "isolation_guard.egress_port_role", (Exact(BLACK),), "egress_black")
    fib = "vrf_routing.vrf_fib_v4"
    _entry(sw, fib, (Exact(10), Lpm(0x0A000200, 24)), "route_local", 1)
    _entry(sw, fib, (Exact(10), Lpm(0x0A000300, 24)), "route_remote", 100, 7)
    mac1, mac2 = 0x020000000001, 0x020000000002
    _entry(
        sw, "local_delivery.red_nexthop", (Exact(1),), "set_red_nexthop", RED2, mac1, mac2, 0, 10
    )
    _entry(sw, "tunnel_encap.tunnel", (Exact(7),), "set_tunnel_v4", 0xC0000201, 0xC0000202, 1400)
    _entry(sw, "tunnel_encap.tunnel_sa", (Exact(7),), "set_outbound_sa", 5)
    _entry(sw, "black_classify.my_black_v4", (Exact(0xC0000201),), "my_loopback")
    _entry(sw, "black_routing.black_fib_v4", (Lpm(0xC0000200, 24),), "set_black_nexthop_id", 3)
    _entry(sw, "black_routing.black_nexthop", (Exact(3),), "set_black_nexthop", BLACK, mac1, mac2)
    _entry(sw, "crypto_return.inbound_sa_v4", (Exact(9), Exact(0xC0000202)), "inbound_sa_ok", 7)
    _entry(sw, "crypto_return.vpn_label", (Exact(100),), "set_label_vrf", 10)
    # A control SA (11 in) from the RR's red address to our red loopback.
    rr_red = (Exact(11), Exact(0x0AFF0001))
    _entry(sw, "crypto_return.inbound_sa_v4", rr_red, "inbound_sa_control_v4", 0x0AFF0002)
    # A next hop on port 6, which has no role for the guard.
    _entry(sw, fib, (Exact(10), Lpm(0x0A000400, 24)), "route_local", 2)
    _entry(sw, "local_delivery.red_nexthop", (Exact(2),), "set_red_nexthop", 6, mac1, mac2, 0, 10)


def _crypto(op: int, sa: int, result: int, port: int) -> bytes:
    return struct.pack("!BBHBBH", 1, op, sa, result, 0, port)


def _eth(payload: object) -> bytes:
    return bytes(Ether(src="02:00:00:00:00:09", dst="02:00:00:00:00:01") / payload)


TENANT = IP(src="10.0.1.5", dst="10.0.2.7", ttl=9) / UDP(sport=1, dport=2) / b"hello"
REMOTE = IP(src="10.0.1.5", dst="10.0.3.7", ttl=9) / UDP(sport=1, dport=2) / b"hello"
ESP_IN = IP(src=PEER, dst=LOOP, proto=50) / ESP(spi=0x1001, seq=1) / b"sealed"
DECRYPTED = IP(src=PEER, dst=LOOP, proto=137) / MPLS(label=100, s=1, ttl=255) / TENANT
RR_BGP = IP(src="10.255.0.1", dst="10.255.0.2") / TCP(sport=179, dport=40000) / b"keepalive"
RR_MPLS = IP(src="10.255.0.1", dst="10.255.0.2", proto=137) / MPLS(label=100, s=1) / TENANT
PEER_BGP = IP(src=PEER, dst=LOOP) / TCP(sport=179, dport=40000) / b"keepalive"
OPTIONS = IP(src="10.0.1.5", dst="10.0.2.7", options=[IPOption_Router_Alert()]) / b"options"
# (name, ingress port, frame): one frame per path of the program.
FRAMES: list[tuple[str, int, bytes]] = [
    ("red to red", RED1, _eth(TENANT)),
    ("ttl expired punt", RED1, _eth(IP(src="10.0.1.5", dst="10.0.2.7", ttl=1) / b"x")),
    ("vrf miss", RED1, _eth(IP(src="10.0.1.5", dst="10.9.9.9") / b"x")),
    ("arp punt", RED1, _eth(ARP(psrc="10.0.1.5", pdst="10.0.1.1"))),
    ("unknown port", 9, _eth(TENANT)),
    ("red to remote: encrypt pass", RED1, _eth(REMOTE)),
    ("mtu exceeded punt", RED1, _eth(IP(src="10.0.1.5", dst="10.0.3.7") / Raw(b"x" * 1400))),
    ("encrypted back: black out", CRYPTO, _crypto(1, 5, 0, RED1) + _eth(ESP_IN)),
    ("black esp: decrypt pass", BLACK, _eth(ESP_IN)),
    ("decrypted back: red out", CRYPTO, _crypto(2, 9, 0, BLACK) + _eth(DECRYPTED)),
    ("decrypt failed", CRYPTO, _crypto(2, 0, 2, BLACK) + _eth(ESP_IN)),
    ("wrong sa for tunnel", CRYPTO, _crypto(2, 8, 0, BLACK) + _eth(DECRYPTED)),
    ("clear mpls-in-ip", BLACK, _eth(DECRYPTED)),
    ("bgp on the control sa: punt", CRYPTO, _crypto(2, 11, 0, BLACK) + _eth(RR_BGP)),
    ("mpls on the control sa: drop", CRYPTO, _crypto(2, 11, 0, BLACK) + _eth(RR_MPLS)),
    ("bgp on an mpls sa: drop", CRYPTO, _crypto(2, 9, 0, BLACK) + _eth(PEER_BGP)),
    ("ipv4 options: incremental checksum", RED1, _eth(OPTIONS)),
    ("egress port without role", RED1, _eth(IP(src="10.0.1.5", dst="10.0.4.7") / b"x")),
    ("packet-out direct", CPU, struct.pack("!H", RED2 << 7) + _eth(TENANT)),
]


def _run(program: Program, port: int, frame: bytes) -> tuple[list[tuple[int, bytes]], dict]:
    make: Callable[[Program], Switch | TnaSwitch] = (
        TnaSwitch if program.gen.arch == "tna" else Switch
    )
    sw = make(program)
    _configure(sw)
    out = sw.process(port, frame)
    counters = {
        name: [(i, c.packets[i], c.bytes[i]) for i in range(c.size) if c.packets[i]]
        for name, c in sw.state.counters.items()
    }
    return out, counters


@pytest.mark.parametrize(("name", "port", "frame"), FRAMES, ids=[f[0] for f in FRAMES])
def test_tna_program_forwards_like_the_v1model_program(
    programs: tuple[Program, Program], name: str, port: int, frame: bytes
) -> None:
    v1model, tna = programs
    assert tna.gen.arch == "tna"
    want_out, want_counters = _run(v1model, port, frame)
    got_out, got_counters = _run(tna, port, frame)
    assert got_out == want_out
    # One architectural difference: TNA egress counts the bytes of the frame as
    # the ingress deparser wrote it (the frame that leaves), v1model the bytes
    # as received. Packet counts and every ingress counter agree.
    tx = "CpeEgress.port_tx_counter"
    assert got_counters.pop(tx) == [(port, 1, len(f)) for port, f in got_out]
    assert [(i, n) for i, n, _ in want_counters.pop(tx)] == [(p, 1) for p, _ in want_out]
    assert got_counters == want_counters


def test_paths_exercised_are_distinct(programs: tuple[Program, Program]) -> None:
    # Guards the comparison above against vacuity: drops, punts and forwards all occur.
    outs = {name: _run(programs[1], port, frame)[0] for name, port, frame in FRAMES}
    assert outs["unknown port"] == [] and outs["decrypt failed"] == []
    assert [p for p, _ in outs["arp punt"]] == [CPU]
    assert [p for p, _ in outs["red to remote: encrypt pass"]] == [CRYPTO]
    assert [p for p, _ in outs["encrypted back: black out"]] == [BLACK]
    assert [p for p, _ in outs["decrypted back: red out"]] == [RED2]
    assert [p for p, _ in outs["packet-out direct"]] == [RED2]
    assert [p for p, _ in outs["bgp on the control sa: punt"]] == [CPU]
    assert outs["mpls on the control sa: drop"] == outs["bgp on an mpls sa: drop"] == []
    assert outs["egress port without role"] == []
    ((port, frame),) = outs["ipv4 options: incremental checksum"]
    routed = Ether(frame)[IP]
    assert (port, routed.ihl, routed.ttl) == (RED2, 6, OPTIONS.ttl - 1)
    recomputed = routed.copy()
    del recomputed.chksum  # scapy computes it over the whole header, options included
    assert routed.chksum == IP(bytes(recomputed)).chksum


# The one intended difference besides the architecture: the TNA build makes the VRF
# FIBs algorithmic LPM on Tofino (p4src/README.md, "TNA"), an annotation P4Info carries.
TNA_ONLY_ANNOTATIONS = {
    "CpeIngress.vrf_routing.vrf_fib_v4": "@alpm(1)",
    "CpeIngress.vrf_routing.vrf_fib_v6": "@alpm(1)",
}


def test_tna_p4info_names_are_the_v1model_names(programs: tuple[Program, Program]) -> None:
    v1model, tna = programs
    assert (tna.p4info.pkg_info.arch, v1model.p4info.pkg_info.arch) == ("tna", "v1model")
    info = copy.deepcopy(tna.p4info)
    info.pkg_info.arch = v1model.p4info.pkg_info.arch
    for table in info.tables:
        extra = TNA_ONLY_ANNOTATIONS.get(table.preamble.name)
        if extra is not None:
            assert extra in table.preamble.annotations, table.preamble.name
            table.preamble.annotations.remove(extra)
    assert info == v1model.p4info


def test_intrinsic_header_packing_is_msb_first() -> None:
    layout = [("resubmit_flag", 1), ("_pad1", 1), ("packet_version", 2), ("_pad2", 3),
              ("ingress_port", 9), ("ingress_mac_tstamp", 48)]  # fmt: skip
    assert pack_header(layout, {"ingress_port": 0x1FF, "ingress_mac_tstamp": 1}) == bytes.fromhex(
        "01ff000000000001"
    )


FEATURES = Path(__file__).resolve().parent / "programs" / "tna_features.p4"


def _frame(what: int, ip: object | None = None) -> bytes:
    eth = Ether(dst=f"02:00:00:00:00:{what:02x}", src="02:00:00:00:00:09")
    return bytes(eth / ip) if ip is not None else bytes(eth / Raw(b"\x00" * 46))


@pytest.fixture(scope="module")
def features() -> Program:
    return load(FEATURES)


def test_traffic_manager_requests(features: Program) -> None:
    from targets.p4sim.state.pre import Replica

    sw = TnaSwitch(features)
    sw.state.pre.insert_group(5, [Replica(6, 1), Replica(7, 2)])
    bypass = sw.process(1, _frame(1))
    assert bypass == [(2, _frame(1))]  # egress skipped: source MAC untouched
    assert sw.process(1, _frame(3)) == []  # egress drop_ctl
    assert sw.process(1, _frame(9)) == []  # ingress drop_ctl
    ((port, seen),) = sw.process(1, _frame(4))
    length = len(_frame(4))
    assert (port, seen[6:12]) == (4, ((4 << 32) | length).to_bytes(6, "big"))
    replicas = sw.process(1, _frame(2))
    assert [(p, f[6:12]) for p, f in replicas] == [
        (6, ((6 << 32) | (1 << 16) | length).to_bytes(6, "big")),
        (7, ((7 << 32) | (2 << 16) | length).to_bytes(6, "big")),
    ]


def test_parser_checksum_verify_and_counter_adjust(features: Program) -> None:
    sw = TnaSwitch(features)
    good = _frame(4, IP(src="10.0.0.1", dst="10.0.0.2") / b"x")
    bad = bytearray(good)
    bad[14 + 10] ^= 0xFF  # corrupt the IPv4 header checksum
    assert [p for p, _ in sw.process(1, good)] == [4]
    assert sw.process(1, bytes(bad)) == []
    rx = sw.state.counters["Ig.rx"]
    assert (rx.packets[1], rx.bytes[1]) == (2, 2 * (len(good) + 4))  # adjust_byte_count 4


def test_hash_low_bits_of_the_standard_crcs(features: Program) -> None:
    import zlib

    from targets.p4sim.hashes import crc16

    sw = TnaSwitch(features)
    frame = _frame(5)
    ((port, out),) = sw.process(1, frame)
    dst = frame[:6]
    want = (zlib.crc32(dst) & 0xFFFF) << 32 | (crc16(dst) & 0xFF) << 24
    want |= int.from_bytes(dst, "big") & 0xFFFFFF
    assert (port, out[6:12]) == (5, want.to_bytes(6, "big"))


@pytest.mark.parametrize(
    ("algorithm", "complaint"), [("XOR16", "algorithm XOR16"), ("CRC32, poly", "CRCPolynomial")]
)
def test_switch_rejects_hashes_it_cannot_run(
    tmp_path: Path, algorithm: str, complaint: str
) -> None:
    from targets.p4sim.frontend.errors import CompileError

    src = FEATURES.read_text().replace(
        "Hash<bit<16>>(HashAlgorithm_t.CRC32) crc32_low16;",
        f"Hash<bit<16>>(HashAlgorithm_t.{algorithm}) crc32_low16;",
    )
    if "poly" in algorithm:  # a Hash given its own CRCPolynomial
        poly = "CRCPolynomial<bit<32>>(32w0x04C11DB7, true, false, false, 0, 0) poly;"
        src = src.replace("    Hash<bit<16>>", f"    {poly}\n    Hash<bit<16>>", 1)
    prog = tmp_path / "hash.p4"
    prog.write_text(src)
    with pytest.raises(CompileError, match=complaint):
        load(prog)


@pytest.mark.parametrize(
    ("algorithm", "check"),
    [("CRC8", 0xF4), ("CRC16", 0xBB3D), ("CRC32", 0xCBF43926), ("CRC64", 0x6C40DF5F0B497347)],
)
def test_tna_crcs_give_the_catalogue_check_values(algorithm: str, check: int) -> None:
    from targets.p4sim.tna_hashes import TNA_CRCS, crc

    # The check value of a CRC is its result over the ASCII digits "123456789".
    assert crc(b"123456789", *TNA_CRCS[algorithm]) == check
