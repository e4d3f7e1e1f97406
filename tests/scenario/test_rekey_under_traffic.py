"""CHILD_SAs rekey under continuous tenant traffic without losing a packet (issue 6/7).

A small daemon lab (one RR, two C-PEs, one tenant) with a 150-packet CHILD_SA
soft lifetime: 20 echoes a second for 30 s between the two tenant hosts push
every MPLS SA through its limit several times. Every echo must come back, and
`sl3vpn show sa --json` must show new SPIs (at least two rekeys).
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controller.lab.netns import Netns

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (namespaces)"),
]

REKEY_PACKETS = 150
CPE2_BLACK = "198.51.100.12"
TOPOLOGY = f"""
name: rekey
as: 65000
underlay: {{name: inet}}
tenants:
  - {{name: blue, id: 1}}
rrs:
  - {{name: rr1, black_link: 203.0.113.64/30, black_loopback: 198.51.100.1,
     red_loopback: 10.255.0.1}}
cpes:
  - name: cpe1
    black_link: 203.0.113.0/30
    black_loopback: 198.51.100.11
    red_loopback: 10.255.0.11
    sites: [{{tenant: blue, subnet: 10.1.1.0/24, host: 10.1.1.10}}]
  - name: cpe2
    black_link: 203.0.113.4/30
    black_loopback: 198.51.100.12
    red_loopback: 10.255.0.12
    sites: [{{tenant: blue, subnet: 10.1.2.0/24, host: 10.1.2.10}}]
sa: {{per_tenant: false, rekey_packets: {REKEY_PACKETS}}}
"""


@pytest.fixture
def rekey_lab(tmp_path: Path, make_lab):  # type: ignore[no-untyped-def]
    path = tmp_path / "lab-rekey.yml"
    path.write_text(TOPOLOGY)
    lab = make_lab(path, "K", daemons=True)
    try:
        yield lab
    finally:
        lab.down()


def mpls_spis(lab, node: str, peer: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    sock = lab.state.run_dir / f"{node}.sock"
    argv = [sys.executable, "-m", "controller", "show", "sa", "--json", "--socket", str(sock)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout
    (child,) = [c for c in json.loads(out)["child"] if c["name"] == "mpls" and c["peer"] == peer]
    return child["spi_in"], child["spi_out"]


def test_pings_survive_repeated_rekeys(rekey_lab) -> None:  # type: ignore[no-untyped-def]
    plan = rekey_lab.plan
    blue1, blue2 = plan.cpe("cpe1").red[0], plan.cpe("cpe2").red[0]
    dst = str(blue2.site.host)
    # Warm-up: ARP/ND on both sides and the first path, not counted.
    warm = Netns(blue1.host_ns).exec_argv(["ping", "-n", "-q", "-c", "3", "-W", "2", dst])
    subprocess.run(warm, capture_output=True, timeout=30)
    spis = {mpls_spis(rekey_lab, "cpe1", CPE2_BLACK)}
    argv = Netns(blue1.host_ns).exec_argv(
        ["ping", "-n", "-q", "-i", "0.05", "-c", "600", "-W", "2", dst]
    )
    series = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while series.poll() is None and time.monotonic() < deadline:
        spis.add(mpls_spis(rekey_lab, "cpe1", CPE2_BLACK))
        time.sleep(1.0)
    out, _ = series.communicate(timeout=30)
    spis.add(mpls_spis(rekey_lab, "cpe1", CPE2_BLACK))
    line = next(x for x in out.splitlines() if "transmitted" in x)
    sent, got = (int(part.split()[0]) for part in line.split(",")[:2])
    assert sent == 600 and got == 600, f"{sent - got} of {sent} echoes lost: {out.strip()}"
    assert len(spis) >= 3, f"MPLS CHILD_SA SPIs seen on cpe1: {sorted(spis)}"
    log = Path(rekey_lab.state.run_dir / "cpe1.log").read_text()
    assert "switch write failed" not in log
