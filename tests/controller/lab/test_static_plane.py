"""The lab's static data plane, in-process: two real p4sim switches with the ESP engine.

No root needed: frames are handed to p4sim devices directly, and the black
frame one C-PE emits is what the other receives (the underlay only rewrites
MACs). This proves the entries and SAs the lab writes before any namespace
exists; tests/scenario runs the same over veths.
"""

from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import Ether

from controller.ipsec.installer import Direction
from controller.lab.plan import BLACK_PORT, CRYPTO_PORT, make_plan
from controller.lab.static_node import build_switch
from controller.lab.static_plane import generate_sas, node_state, tunnel_keys
from controller.lab.topology import load_topology

pytestmark = pytest.mark.unit
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
PAYLOAD = b"tenant-secret-payload-0123456789"


class Switch:
    def __init__(self, plan, name, sas):
        entries, params = node_state(plan, name, sas)
        self.device, self.engine = build_switch(entries, params)
        self.device.emit = self._emit
        self.out = []

    def _emit(self, port, frame):
        if port == CRYPTO_PORT:
            answer = self.engine.process(frame)
            if answer:
                self.device.receive(CRYPTO_PORT, answer)
            return
        self.out.append((port, frame))

    def send(self, port, frame):
        self.out = []
        self.device.receive(port, frame)
        return self.out


@pytest.fixture(scope="module")
def lab():
    plan = make_plan(load_topology(EXAMPLES / "lab-default.yml"), "u")
    sas = generate_sas(plan)
    return plan, {n: Switch(plan, n, sas) for n in ("cpe1", "cpe2")}


def _across(plan, switches, src_port, ip_pkt):
    """Tenant packet into cpe1's red port -> black frame -> cpe2 -> what cpe2 emits."""
    c1, c2 = plan.cpe("cpe1"), plan.cpe("cpe2")
    red = next(r for r in c1.red if r.port == src_port)
    out = switches["cpe1"].send(src_port, bytes(Ether(src=red.host_mac, dst=red.mac) / ip_pkt))
    assert [p for p, _ in out] == [BLACK_PORT]
    black = Ether(out[0][1])
    assert black[IP].src == "198.51.100.11" and black[IP].dst == "198.51.100.12"
    assert black.haslayer(ESP) and PAYLOAD not in out[0][1]
    black.src, black.dst = c2.black_gw_mac, c2.black_mac  # the underlay router's hop
    return switches["cpe2"].send(BLACK_PORT, bytes(black))


@pytest.mark.parametrize("family", [4, 6])
@pytest.mark.parametrize("tenant", ["blue", "green"])
def test_overlapping_tenants_arrive_at_their_own_port(lab, tenant: str, family: int) -> None:
    plan, switches = lab
    src = next(r for r in plan.cpe("cpe1").red if r.site.tenant == tenant)
    dst = next(r for r in plan.cpe("cpe2").red if r.site.tenant == tenant)
    if family == 4:
        pkt = IP(src=str(src.site.host), dst="10.1.2.10", ttl=64) / ICMP() / PAYLOAD
    else:
        pkt = IPv6(src=str(src.site.host6), dst="2001:db8:1:2::10", hlim=64) / ICMP() / PAYLOAD
    out = _across(plan, switches, src.port, pkt)
    # Both tenants address 10.1.2.10: only the VRF decides, and it is the sender's.
    assert [p for p, _ in out] == [dst.port]
    got = Ether(out[0][1])
    assert (got.src, got.dst) == (dst.mac, dst.host_mac)
    assert PAYLOAD in out[0][1]
    inner = got[IP] if family == 4 else got[IPv6]
    assert (inner.ttl if family == 4 else inner.hlim) == 62  # one hop per C-PE


def test_every_sa_has_one_encrypting_and_one_decrypting_end() -> None:
    plan = make_plan(load_topology(EXAMPLES / "lab-per-tenant-sa.yml"), "u")
    sas = generate_sas(plan)
    assert len(sas) == len(tunnel_keys(plan)) == 3 * 2 * 2  # ordered pairs x tenants
    assert len({s.spi for s in sas}) == len(sas)
    seen: dict[int, set[Direction]] = {}
    for c in plan.cpes:
        _, params = node_state(plan, c.name, sas)
        for p in params:
            seen.setdefault(p.spi, set()).add(p.direction)
    assert all(d == {Direction.INBOUND, Direction.OUTBOUND} for d in seen.values())


def test_nat_peer_is_reached_at_the_nat_address_in_udp() -> None:
    plan = make_plan(load_topology(EXAMPLES / "lab-nat.yml"), "u")
    sas = generate_sas(plan)
    entries, params = node_state(plan, "cpe1", sas)
    to3 = [p for p in params if str(p.remote) == "203.0.113.10"]
    assert to3 and all(p.udp_encap is not None for p in to3)
    to2 = [p for p in params if str(p.remote) == "198.51.100.12"]
    assert to2 and all(p.udp_encap is None for p in to2)
    assert any(e.table == "tunnel" and e.params["dst_addr"] == "203.0.113.10" for e in entries)


def test_nat_keepalive_frame_is_rfc3948() -> None:
    import ipaddress

    from controller.lab.static_plane import keepalives, nat_keepalive

    frame = nat_keepalive(
        "02:00:00:00:00:01", "02:00:00:00:00:02",
        ipaddress.IPv4Address("198.51.100.13"), ipaddress.IPv4Address("198.51.100.11"),
    )  # fmt: skip
    pkt = Ether(frame)
    ip = pkt[IP]
    assert (ip.src, ip.dst, ip.proto) == ("198.51.100.13", "198.51.100.11", 17)
    again = ip.copy()
    del again.chksum
    assert IP(bytes(again)).chksum == ip.chksum
    assert (ip.payload.sport, ip.payload.dport, ip.payload.chksum) == (4500, 4500, 0)
    assert bytes(ip.payload.payload) == b"\xff"
    plan = make_plan(load_topology(EXAMPLES / "lab-nat.yml"), "u")
    assert keepalives(plan, "cpe1") == []
    assert len(keepalives(plan, "cpe3")) == 2


def test_missing_lists_what_daemons_still_lack() -> None:
    from controller.lab.lab import missing

    plan = make_plan(load_topology(EXAMPLES / "lab-default.yml"), "u")

    def doc(c, bgp_state="Established", sa_peers=None, routes=True):
        others = [p for p in plan.cpes if p is not c]
        peers = sa_peers if sa_peers is not None else [str(p.cpe.black_loopback) for p in others]
        rts = []
        if routes:
            for p in others:
                for r in p.red:
                    for net in (r.site.subnet, r.site.subnet6):
                        rts.append({"vrf": r.site.tenant, "prefix": str(net), "installed": True})
        return {
            "bgp": [
                {"neighbor": "10.255.0.1", "state": bgp_state, "color": "red"},
                {"neighbor": "10.255.0.2", "state": "Established", "color": "red"},
                {"neighbor": "203.0.113.1", "state": "Active", "color": "black"},  # ignored
            ],
            "sas": {"child": [{"name": "mpls", "peer": p} for p in peers]},
            "routes": rts,
        }

    c1, c2, c3 = plan.cpes
    docs = {c.name: doc(c) for c in plan.cpes}
    assert missing(plan, docs) == []
    docs["cpe2"] = doc(c2, bgp_state="Connect", sa_peers=[str(c1.cpe.black_loopback)])
    docs["cpe3"] = doc(c3, routes=False)
    assert missing(plan, docs) == [
        "cpe2: BGP to 10.255.0.1",
        "cpe2: IKE/ESP to cpe3",
        "cpe3: 8 VPN routes",
    ]
    assert "cpe1: BGP to RRs" in missing(plan, {})
