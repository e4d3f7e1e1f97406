"""CHILD_SAs rekey under continuous tenant traffic without losing a packet (issue 6/7).

A small daemon lab (one RR, two C-PEs, one tenant) with a 150-packet CHILD_SA
soft lifetime: 20 echoes a second for 30 s between the two tenant hosts push
every MPLS SA through its limit several times. Every echo must come back, and
`sl3vpn show sa --json` must show new SPIs (at least two rekeys).

The fault of issue #15 (a rekey every 10 s under load) runs on the same lab with
a soft lifetime of 10 s worth of echoes: 100 pps for a minute here, 1,000 pps for
five minutes with ``SL3VPN_FAULTS_FULL=1``; no echo may be lost, the black links
carry only ESP/IKE/ARP.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import FULL, SeqPing, black_watch, warm_up

from controller.lab.netns import Netns

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (namespaces)"),
]

REKEY_PACKETS = 150
CPE2_BLACK = "198.51.100.12"


def topology(rekey_packets: int) -> str:
    return f"""
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
sa: {{per_tenant: false, rekey_packets: {rekey_packets}}}
"""


def _lab(tmp_path: Path, make_lab, rekey_packets: int, tag: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "lab-rekey.yml"
    path.write_text(topology(rekey_packets))
    lab = make_lab(path, tag, daemons=True)
    try:
        yield lab
    finally:
        lab.down()


@pytest.fixture
def rekey_lab(tmp_path: Path, make_lab):  # type: ignore[no-untyped-def]
    yield from _lab(tmp_path, make_lab, REKEY_PACKETS, "K")


def show(lab, node: str, what: str, check: bool = True) -> str:  # type: ignore[no-untyped-def]
    sock = lab.state.run_dir / f"{node}.sock"
    argv = [sys.executable, "-m", "controller", "show", what, "--json", "--socket", str(sock)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=check).stdout


def mpls_spis(lab, node: str, peer: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    out = show(lab, node, "sa")
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


# Issue #15's fault: a rekey every 10 s for 5 minutes under 1,000 pps (SL3VPN_FAULTS_FULL=1);
# in CI a minute at 100 pps. A packet-count soft lifetime of 10 s worth of echoes makes
# every MPLS SA rekey every 10 s (both ends' SAs reach it together, so either may start).
RATE = 1000 if FULL else 100
SECONDS = 300 if FULL else 60
# One ping sends at most about 300-500 echoes a second on this loaded machine (its
# timer, not the data path): the full rate comes from four pings side by side.
STREAMS = 4 if FULL else 1


@pytest.fixture
def rekey10_lab(tmp_path: Path, make_lab):  # type: ignore[no-untyped-def]
    yield from _lab(tmp_path, make_lab, RATE * 10, "fltK")


@pytest.mark.timeout(SECONDS * 3 + 300)  # the capture's dissection is slow at 1,000 pps
def test_rekey_every_10s_under_load(rekey10_lab, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lab = rekey10_lab
    blue1, blue2 = lab.plan.cpe("cpe1").red[0], lab.plan.cpe("cpe2").red[0]
    dst = str(blue2.site.host)
    warm_up(blue1.host_ns, dst)
    spis = {mpls_spis(lab, "cpe1", CPE2_BLACK)}
    each = RATE * SECONDS // STREAMS
    with black_watch(lab.plan, tmp_path) as pattern:
        start = time.time()
        pings = [SeqPing(blue1.host_ns, dst, each, pattern, interval=STREAMS / RATE)
                 for _ in range(STREAMS)]  # fmt: skip
        while any(p.proc.poll() is None for p in pings):
            spis.add(mpls_spis(lab, "cpe1", CPE2_BLACK))
            time.sleep(1.0)
        took = time.time() - start
        outs = [p.result() for p in pings]
    spis.add(mpls_spis(lab, "cpe1", CPE2_BLACK))
    sent, lost = sum(o.sent for o in outs), [s for o in outs for s in o.lost]
    print(f"\nFAULT rekey every {RATE * 10:,} packets for {SECONDS} s at {RATE} pps "
          f"({sent / took:.0f} pps achieved, {len(spis) - 1} rekeys in {took:.0f} s): "
          f"{len(lost)} of {sent} echoes lost")  # fmt: skip
    seen = data_path(lab)
    print(f"FAULT data path: {seen}")
    assert sent == each * STREAMS and lost == [], f"lost: {lost[:20]}; {seen}"
    # at least half the intended rekeys: fewer only if the machine could not keep the rate
    assert len(spis) - 1 >= SECONDS / 10 / 2, f"MPLS SPIs seen on cpe1: {sorted(spis)}"
    assert "switch write failed" not in (lab.state.run_dir / "cpe1.log").read_text()


def data_path(lab) -> str:  # type: ignore[no-untyped-def]
    """Where the data path says it dropped something (read before the lab goes down): the
    pipeline's drop counters and the kernel drops the engines and p4sims logged."""
    out = []
    for node in ("cpe1", "cpe2"):
        cells = json.loads(show(lab, node, "drops", check=False) or "[]")
        out.append(f"{node} drops { ({d['reason']: d['packets'] for d in cells}) }")
    for log in sorted(lab.state.run_dir.glob("cpe*.log")):
        # the engine's and p4sim's socket drops, p4sim's executor refusing a packet
        marks = ("dropped by the kernel", "bytes dropped")
        out += [line for line in log.read_text().splitlines() if any(m in line for m in marks)]
    return "; ".join(out)
