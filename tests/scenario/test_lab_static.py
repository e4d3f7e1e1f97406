"""The lab on its static data plane: real p4sim C-PEs, ESP on the wire, namespaces.

Covered: the tenant reachability matrix (IPv4 + IPv6) with cross-tenant
isolation over overlapping addresses; the black-side capture byte-wise free of
tenant payloads and holding only ESP/IKE/ARP/ND (and NAT-keepalives); per-tenant
SAs carrying only their tenant; a C-PE behind NAT; labs coexisting; clean
bring-up errors and tear-down.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controller.lab.capture import BlackCapture
from controller.lab.checks import new_pattern, ping_matrix
from controller.lab.lab import LabError, status, up
from controller.lab.netns import list_netns

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (namespaces)"),
]


def _running(pid: int) -> bool:
    """Alive and not a zombie (a zombie may linger until this process reaps it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(") ", 1)[1][0] != "Z"


def _assert_matrix(plan, pattern=b"\x00" * 16):
    results = ping_matrix(plan, pattern)
    bad = [r.line() for r in results if not r.ok]
    assert not bad, "\n".join(bad)
    return results


def test_reachability_matrix_and_isolation_with_overlapping_addresses(default_lab) -> None:
    results = _assert_matrix(default_lab.plan)
    reach = [r for r in results if r.expect]
    # 3 sites x 2 tenants: each host reaches its tenant's 2 other sites, over v4 and v6;
    # every other pair (the other tenant, same subnets) stays unanswered.
    assert len(reach) == 6 * 2 * 2
    assert len(results) - len(reach) == 6 * 3 * 2
    assert all(r.replies == 3 for r in reach)


def test_black_capture_holds_no_cleartext_tenant_payload(default_lab, tmp_path: Path) -> None:
    plan = default_lab.plan
    pattern = new_pattern()
    caps = [BlackCapture(plan.underlay_ns, c.name, tmp_path / f"{c.name}.pcap") for c in plan.cpes]
    for cap in caps:
        cap.__enter__()
    try:
        _assert_matrix(plan, pattern)
    finally:
        for cap in caps:
            cap.__exit__()
    for cap in caps:
        v = cap.verdict([pattern])
        assert v.forbidden == [] and v.cleartext == []
        # Per black link, one ESP frame per echo: same-tenant pings from and to this
        # site (2 hosts x 2 peers x 2 families x 3, both directions, requests and
        # replies = 96) plus the pings aimed at the other tenant's addresses, which
        # route inside the sender's own VRF and go unanswered (48).
        assert v.kinds == {"ESP": 96 + 48}, v.kinds
    # The tenant side of the same traffic does carry the pattern: the search works.
    red = plan.cpes[0].red[0]
    with BlackCapture(red.host_ns, "eth0", tmp_path / "red.pcap") as cap:
        _assert_matrix(plan, pattern)
    assert cap.verdict([pattern]).cleartext


def test_status_counts_sa_traffic(default_lab) -> None:
    info = status(default_lab.prefix)
    for node, n in info["nodes"].items():
        assert n["running"], node
        assert len(n["sas"]) == 4
        assert all(sa["packets"] > 0 and sa["errors"] == 0 for sa in n["sas"]), n["sas"]


def test_same_prefix_twice_is_refused(default_lab) -> None:
    with pytest.raises(LabError, match="already up"):
        up(EXAMPLES / "lab-default.yml", default_lab.prefix)


def test_bad_topology_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    text = (EXAMPLES / "lab-default.yml").read_text().replace("198.51.100.12", "8.8.4.4")
    bad.write_text(text)
    prefix = f"s{os.getpid()}bad"
    proc = subprocess.run(
        [sys.executable, "-m", "controller", "lab", "up", str(bad), "--prefix", prefix],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"sl3vpn lab: {bad}: cpes[1]")
    assert "8.8.4.4 is outside the lab's ranges" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not [ns for ns in list_netns() if ns.startswith(prefix)]


def test_per_tenant_sas_carry_only_their_tenant(per_tenant_lab, default_lab) -> None:
    # Two labs up at once (this one and the default): prefixes keep them apart.
    plan = per_tenant_lab.plan
    _assert_matrix(plan)
    info = status(per_tenant_lab.prefix)
    for n in info["nodes"].values():
        assert len(n["sas"]) == 8  # 2 peers x 2 tenants x in/out
        assert all(sa["tenant"] in ("blue", "green") and sa["packets"] > 0 for sa in n["sas"])
    before = {(node, sa["spi"]): sa["packets"] for node, n in info["nodes"].items()
              for sa in n["sas"]}  # fmt: skip
    blue1, blue2 = plan.cpe("cpe1").red[0], plan.cpe("cpe2").red[0]
    assert blue1.site.tenant == blue2.site.tenant == "blue"
    subprocess.run(
        ["ip", "netns", "exec", blue1.host_ns, "ping", "-c", "20", "-i", "0.05", "-W", "1",
         str(blue2.site.host)],
        check=True, capture_output=True,
    )  # fmt: skip
    time.sleep(1.5)  # status files are rewritten every second
    after = status(per_tenant_lab.prefix)
    for node in ("cpe1", "cpe2"):
        for sa in after["nodes"][node]["sas"]:
            grew = sa["packets"] - before[(node, sa["spi"])]
            peer_is_site = sa["peer"] in ("cpe1", "cpe2")
            if sa["tenant"] == "blue" and peer_is_site:
                assert grew >= 20, sa
            else:
                assert grew == 0, sa


def test_cpe_behind_nat(nat_lab, tmp_path: Path) -> None:
    plan = nat_lab.plan
    pattern = new_pattern()
    with BlackCapture(plan.underlay_ns, "cpe3", tmp_path / "nat.pcap") as cap:
        _assert_matrix(plan, pattern)
    v = cap.verdict([pattern])
    assert v.forbidden == [] and v.cleartext == []
    assert v.kinds["ESP-in-UDP"] > 0 and v.kinds["NAT-keepalive"] > 0
    assert "ESP" not in v.kinds  # everything to and from the NATed C-PE is in UDP 4500
    info = status(nat_lab.prefix)
    udp = {(n, sa["peer"]) for n, i in info["nodes"].items() for sa in i["sas"] if sa["udp_encap"]}
    assert {("cpe1", "cpe3"), ("cpe2", "cpe3"), ("cpe3", "cpe1"), ("cpe3", "cpe2")} == udp


def test_down_removes_processes_and_namespaces(make_lab) -> None:
    lab = make_lab("lab-default.yml", "x")
    pids = list(lab.state.pids.values())
    run_dir = lab.state.run_dir
    lab.down()
    assert not [ns for ns in list_netns() if ns.startswith(lab.prefix + "-")]
    assert not [p for p in pids if _running(p)]
    assert not run_dir.exists()
    json.dumps(pids)  # PIDs were plain ints in the state file
