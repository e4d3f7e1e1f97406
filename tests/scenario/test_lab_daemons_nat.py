"""cpe3 behind a NAT (examples/lab-nat.yml) with the real daemons.

cpe3's black loopback is reachable only from inside its NAT, so it initiates
every IKE SA (to both RRs and to cpe1/cpe2, whose Security Handles from cpe3
say "wait for me"); the others reach it at the NAT's public address with
UDP-encapsulated ESP (RFC 3948), and its keepalives hold the NAT mapping.
"""

import json
import os
import struct
import time
from pathlib import Path

import pytest

from controller.lab.capture import BlackCapture, read_pcap
from controller.lab.checks import PING_COUNT, new_pattern, ping_matrix
from controller.lab.lab import missing

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (namespaces)"),
]


def _docs(lab) -> dict[str, dict]:
    return {
        node: json.loads((lab.state.run_dir / f"{node}-status.json").read_text())
        for node in lab.state.pids
    }


def _keepalives(path: Path, src: str) -> int:
    """RFC 3948 2.3 NAT-keepalives from ``src`` in a pcap: UDP to 4500 carrying one 0xFF."""
    want, count = bytes(map(int, src.split("."))), 0
    for frame in read_pcap(path):
        ip = frame[14:]
        if frame[12:14] != b"\x08\x00" or len(ip) < 29 or ip[9] != 17 or ip[12:16] != want:
            continue
        udp = ip[(ip[0] & 0x0F) * 4 :]
        _sport, dport, length = struct.unpack("!HHH", udp[:6])
        if dport == 4500 and length == 9 and udp[8:9] == b"\xff":
            count += 1
    return count


def test_daemons_behind_nat_reach_within_tenants_only(nat_daemon_lab, tmp_path: Path) -> None:
    lab, plan = nat_daemon_lab, nat_daemon_lab.plan
    assert missing(plan, _docs(lab)) == []
    public = str(plan.cpe("cpe3").cpe.link_address.ip)
    pattern = new_pattern()
    caps = {n: BlackCapture(plan.underlay_ns, n, tmp_path / f"{n}.pcap") for n in ("cpe1", "cpe3")}
    for cap in caps.values():
        cap.__enter__()
    try:
        results = ping_matrix(plan, pattern)
    finally:
        for cap in caps.values():
            cap.__exit__()
    bad = [r.line() for r in results if not r.ok]
    assert not bad, "\n".join(bad)
    # both tenants, every site pair, v4 and v6, through the NAT too; the other tenant
    # (same subnets) stays unanswered
    reach = [r for r in results if r.expect]
    assert len(reach) == 6 * 2 * 2 and len(results) - len(reach) == 6 * 3 * 2
    assert {r.src.split("/")[0] for r in reach if r.dst.startswith("cpe3")} == {"cpe1", "cpe2"}
    v1, v3 = caps["cpe1"].verdict([pattern]), caps["cpe3"].verdict([pattern])
    for v in (v1, v3):
        assert v.forbidden == [] and v.cleartext == [], (v.link, v.forbidden[:3], v.cleartext)
    # the NATed C-PE's link: only UDP-encapsulated ESP, to and from the NAT's address: the
    # tenant SAs with the other C-PEs, and the control SAs carrying red BGP to the RRs (a
    # BGP keepalive or update may fall into the capture)
    assert "ESP" not in v3.kinds and v3.kinds["ESP-in-UDP"] >= 2 * 2 * 2 * PING_COUNT
    others = [str(p.cpe.black_loopback) for p in plan.cpes if p.name != "cpe3"]
    others += [str(rr.black_loopback) for rr in plan.topo.rrs]
    allowed = {(public, o) for o in others} | {(o, public) for o in others}
    assert {(s, d) for (k, s, d) in v3.flows if k == "ESP-in-UDP"} <= allowed
    # cpe1's link: plain ESP with cpe2, ESP-in-UDP only with cpe3 (at its NAT)
    assert v1.kinds["ESP"] >= 2 * 2 * PING_COUNT
    udp_flows = [(s, d) for (k, s, d) in v1.flows if k == "ESP-in-UDP"]
    assert udp_flows and all(public in (s, d) for s, d in udp_flows)


def test_state_names_the_nat_and_who_initiated(nat_daemon_lab) -> None:
    lab, plan = nat_daemon_lab, nat_daemon_lab.plan
    docs = _docs(lab)
    public = str(plan.cpe("cpe3").cpe.link_address.ip)
    cpe3_black = str(plan.cpe("cpe3").cpe.black_loopback)
    for node in ("cpe1", "cpe2"):
        sas = docs[node]["sas"]
        # the tunnel stays the peer's black loopback; its SAs are at the NAT, in UDP
        mpls = [c for c in sas["child"] if c["peer"] == cpe3_black and c["name"] == "mpls"]
        assert mpls and all(c["nat_t"] for c in mpls)
        tun = [t for t in docs[node]["tunnels"] if t["endpoint"] == cpe3_black]
        assert tun and all(t["outer"] == public for t in tun)
        assert all(t["security_handle"] == "v1 set=0 initiates" for t in tun)
        # only cpe3 initiated IKE between them
        ike = [s for s in sas["ike"] if s["remote"].split(":")[0] == public]
        assert ike and not any(s["initiator"] for s in ike), ike
    rrs = {str(rr.name): rr for rr in plan.topo.rrs}
    for rr in plan.rr_ns:  # the RRs took cpe3's control SA and its red BGP session
        peers = {b["neighbor"]: b for b in docs[rr]["bgp"]}
        session = peers[str(plan.cpe("cpe3").cpe.red_loopback)]
        assert session["state"] == "Established"
        # transport mode (draft 3.2): the session runs to where cpe3's SA is, its NAT's
        # public address (RFC 7296 2.23.1), from the RR's black loopback
        rr_black = str(rrs[rr].black_loopback)
        assert (session["remote_address"], session["local_address"]) == (public, rr_black)
        control = [c for c in docs[rr]["sas"]["child"] if c["name"] == "bgp"]
        assert {(c["mode"], c["nat_t"]) for c in control if c["peer"] == cpe3_black} == {
            ("transport", True)
        }
    for b in docs["cpe3"]["bgp"]:  # and cpe3 sees it between its and the RR's black loopback
        rr_black = next(
            str(r.black_loopback) for r in rrs.values() if str(r.red_loopback) == b["neighbor"]
        )
        assert (b["local_address"], b["remote_address"]) == (cpe3_black, rr_black)


def test_nat_keepalives_hold_the_mapping(nat_daemon_lab, tmp_path: Path) -> None:
    """Idle for a while, cpe3 still sends NAT-keepalives (every 20 s per IKE SA)."""
    plan = nat_daemon_lab.plan
    public = str(plan.cpe("cpe3").cpe.link_address.ip)
    path = tmp_path / "idle.pcap"
    with BlackCapture(plan.underlay_ns, "cpe3", path):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _keepalives(path, public) < 2:
            time.sleep(1.0)
    assert _keepalives(path, public) >= 2
    # and the tunnels still carry traffic afterwards
    results = ping_matrix(plan, new_pattern(), families=(4,))
    assert all(r.ok for r in results), [r.line() for r in results if not r.ok]
