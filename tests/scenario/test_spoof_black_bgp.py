"""A black BGP session to the underlay, and a spoof on it (draft sections 2 and 4).

cpe1 runs an unprotected IPv4-unicast session with the underlay router, where a
GoBGP speaker plays the service provider. That speaker advertises cpe2's red
loopback (10.255.0.12/32) and a covering 10.255.0.0/24: the spoof of section 4,
an attempt to pull cpe1's VPN traffic for cpe2 onto a black route. cpe1 must
ignore the red loopback route (counted as rejected), keep every VPN route
resolved through the red loopback routes from the RRs, and keep sending the
tenant traffic as ESP to the genuine black loopbacks only. The genuine routes win,
so no VPN route is ever refused as a spoof; the attempt is detected all the same
(controller/bgp/spoofwatch.py): a warning in cpe1's log naming the provider and
each prefix, a per-neighbour count, every VPN route whose next hop they cover
marked in `show routes`, and the metrics.

GoBGP runs in the underlay namespace itself, so its TCP segments leave the
veth towards cpe1 with the checksum offloaded (only the pseudo-header sum in
the field). cpe1's switch reads the port over AF_PACKET, which loses the
"checksum still to be done" flag; before hostif completed such checksums
(controller/hostif/csum.py) the C-PE kernel dropped every SYN-ACK as corrupt
and the black session never came up. This test keeps the offload on, so it
covers that path.
"""

import ipaddress
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from controller.lab.capture import BlackCapture
from controller.lab.checks import PING_COUNT, new_pattern, ping_matrix
from controller.lab.lab import down, plan_of, up
from controller.lab.netns import Netns

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (namespaces)"),
]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GOBGP_API = "127.0.0.1:50051"  # inside the underlay namespace only


class Lab:
    """The default lab with cpe1's black session, on the daemons (as conftest's Lab)."""

    def __init__(self, topology: Path) -> None:
        self.prefix = f"s{os.getpid()}B"
        self.state = up(topology, self.prefix, progress=lambda _m: None, daemons=True, timeout=120)
        _, self.topo, self.plan = plan_of(self.prefix)

    def down(self) -> None:
        down(self.prefix, progress=lambda _m: None)


def _gobgp(ns: str, *args: str) -> subprocess.CompletedProcess:
    host, port = GOBGP_API.split(":")
    argv = Netns(ns).exec_argv(["gobgp", "-u", host, "-p", port, *args])
    return subprocess.run(argv, capture_output=True, text=True, timeout=10)


def _doc(lab: Lab, node: str) -> dict:
    return json.loads((lab.state.run_dir / f"{node}-status.json").read_text())


def _show(lab: Lab, node: str, what: str) -> list | dict:
    sock = lab.state.run_dir / f"{node}.sock"
    out = subprocess.run(
        [sys.executable, "-m", "controller", "show", what, "--json", "--socket", str(sock)],
        capture_output=True, text=True, timeout=20, check=True,
    ).stdout  # fmt: skip
    return json.loads(out)


def _metrics(lab: Lab, node: str) -> str:
    """The daemon's Prometheus page, fetched inside its namespace."""
    url = "http://127.0.0.1:9100/metrics"
    fetch = f"import urllib.request as u; print(u.urlopen({url!r}).read().decode())"
    argv = Netns(lab.plan.cpe(node).ns).exec_argv([sys.executable, "-c", fetch])
    return subprocess.run(argv, capture_output=True, text=True, timeout=20, check=True).stdout


def _wait(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"not within {seconds:g}s: {what}")


@pytest.fixture(scope="module")
def spoof_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lab, Path]]:
    work = tmp_path_factory.mktemp("spoof")
    topo = work / "lab-black-bgp.yml"
    text = (EXAMPLES / "lab-default.yml").read_text()
    marker = "    red_loopback: 10.255.0.11\n"
    assert marker in text
    topo.write_text(text.replace(marker, marker + "    black_bgp: true\n", 1))
    lab = Lab(topo)
    speaker = None
    try:
        c1 = lab.plan.cpe("cpe1")
        conf = work / "gobgpd.toml"
        conf.write_text(
            "[global.config]\n"
            f"  as = {lab.topo.underlay.asn}\n"
            f'  router-id = "{c1.black_gw}"\n'
            "[[neighbors]]\n"
            "  [neighbors.config]\n"
            f'    neighbor-address = "{c1.cpe.link_address.ip}"\n'
            f"    peer-as = {lab.topo.asn}\n"
            "  [[neighbors.afi-safis]]\n"
            "    [neighbors.afi-safis.config]\n"
            '      afi-safi-name = "ipv4-unicast"\n'
        )
        argv = Netns(lab.plan.underlay_ns).exec_argv(
            ["gobgpd", "-f", str(conf), "--api-hosts", GOBGP_API, "--pprof-disable"]
        )
        log = (work / "gobgpd.log").open("wb")
        speaker = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        yield lab, work
    finally:
        if speaker is not None:
            speaker.terminate()
            try:
                speaker.wait(5)
            except subprocess.TimeoutExpired:
                speaker.kill()
                speaker.wait()
        lab.down()


def _black(doc: dict) -> dict | None:
    return next((b for b in doc.get("bgp", []) if b.get("color") == "black"), None)


def test_black_session_established_without_vpn_families(spoof_lab) -> None:
    lab, _ = spoof_lab
    c1 = lab.plan.cpe("cpe1")
    black = _wait(
        lambda: (b := _black(_doc(lab, "cpe1"))) and b["state"] == "Established" and b,
        40, "cpe1's black session Established",
    )  # fmt: skip
    assert black["neighbor"] == str(c1.black_gw)
    assert black["families"] == ["ipv4-unicast"]  # never VPN routes on a black session
    assert black["advertised"] == 0  # nothing of ours (red or VPN) goes to the provider
    # The speaker's view: the session is up and cpe1 sent it no route at all.
    out = _gobgp(lab.plan.underlay_ns, "neighbor", str(c1.cpe.link_address.ip), "-j")
    assert out.returncode == 0, out.stderr
    peer = json.loads(out.stdout)
    assert peer["state"]["session_state"] == 6  # ESTABLISHED
    adj_in = _gobgp(lab.plan.underlay_ns, "neighbor", str(c1.cpe.link_address.ip), "adj-in")
    assert "Network not in table" in adj_in.stdout + adj_in.stderr
    for fam in ("vpnv4", "vpnv6"):
        vpn = _gobgp(lab.plan.underlay_ns, "global", "rib", "-a", fam)
        assert "Network not in table" in vpn.stdout + vpn.stderr, vpn.stdout


def test_spoofed_red_loopback_is_ignored_and_traffic_stays_on_genuine_tunnels(
    spoof_lab, tmp_path: Path
) -> None:
    lab, _ = spoof_lab
    plan = lab.plan
    c1, c2 = plan.cpe("cpe1"), plan.cpe("cpe2")
    _wait(lambda: (b := _black(_doc(lab, "cpe1"))) and b["state"] == "Established",
          40, "cpe1's black session Established")  # fmt: skip
    gw = str(c1.black_gw)
    for prefix in (f"{c2.cpe.red_loopback}/32", "10.255.0.0/24"):
        out = _gobgp(plan.underlay_ns, "global", "rib", "add", prefix, "nexthop", gw, "-a", "ipv4")
        assert out.returncode == 0, out.stderr
    black = _wait(
        lambda: (b := _black(_doc(lab, "cpe1"))) and b["rejected"] >= 1 and b["received"] >= 1
        and b,
        20, "cpe1 to count the spoofed red loopback route as rejected",
    )  # fmt: skip
    assert black["rejected"] == 1  # the /32 of cpe2's red loopback
    assert black["received"] == 1  # the covering /24: kept, but never wins over a red /32

    genuine = {str(c.cpe.red_loopback): str(c.cpe.black_loopback) for c in plan.cpes}
    routes = _show(lab, "cpe1", "routes")
    remote = [r for r in routes if not r["local"]]
    assert len(remote) == 2 * 2 * 2  # 2 other sites x 2 tenants x v4/v6
    for r in remote:
        nh = ipaddress.ip_address(r["next_hop"])
        nh = str(getattr(nh, "ipv4_mapped", None) or nh)  # VPN-IPv6: ::ffff:<red loopback>
        assert r["verdict"] == "resolved" and r["installed"], r
        assert r["tunnel_endpoint"] == genuine[nh], r
    tunnels = _show(lab, "cpe1", "tunnels")
    assert [t for t in tunnels if t["verdict"] != "resolved"] == []
    assert str(c2.cpe.black_loopback) in {t["endpoint"] for t in tunnels}
    composer = _doc(lab, "cpe1")["counters"].get("composer", {})
    assert composer.get("routes_spoof", 0) == 0

    # The spoof attempt is detected although the genuine red routes win (draft section 4).
    spoofed = [f"10.255.0.0/24 from {gw}"]
    black = next(b for b in _show(lab, "cpe1", "bgp") if b["color"] == "black")
    assert black["spoof_attempts"] == 2, black  # the refused /32 and the covering /24
    assert black["spoof_routes"] == ["10.255.0.0/24", f"{c2.cpe.red_loopback}/32"]
    for r in remote:
        to_cpe2 = r["tunnel_endpoint"] == str(c2.cpe.black_loopback)
        want = [f"{c2.cpe.red_loopback}/32 from {gw}", *spoofed] if to_cpe2 else spoofed
        assert r["spoof"] == want, r
    text = subprocess.run(
        [sys.executable, "-m", "controller", "show", "routes",
         "--socket", str(lab.state.run_dir / "cpe1.sock")],
        capture_output=True, text=True, timeout=20, check=True,
    ).stdout  # fmt: skip
    marked = [ln for ln in text.splitlines() if ln.startswith("*!")]
    assert len(marked) == len(remote), text
    log_text = (lab.state.run_dir / "cpe1.log").read_text()
    for prefix in ("10.255.0.0/24", f"{c2.cpe.red_loopback}/32"):
        assert f"SPOOF attempt: black neighbor {gw} advertises {prefix}," in log_text
    metrics = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(_metrics(lab, "cpe1"))
        for s in fam.samples
    }
    key = (("color", "black"), ("neighbor", gw))
    assert metrics[("sl3vpn_bgp_spoof_attempts_total", key)] == 2
    assert metrics[("sl3vpn_bgp_spoof_route", (*key, ("prefix", "10.255.0.0/24")))] == 1

    pattern = new_pattern()
    pcap = tmp_path / "cpe1.pcap"
    with BlackCapture(plan.underlay_ns, c1.name, pcap) as cap:
        results = ping_matrix(plan, pattern)
    bad = [r.line() for r in results if not r.ok]
    assert not bad, "\n".join(bad)
    v = cap.verdict([pattern])
    assert v.cleartext == []
    # Only the black session itself may be TCP in the clear on this link.
    session = {(gw, str(c1.cpe.link_address.ip)), (str(c1.cpe.link_address.ip), gw)}
    other = [f for f in v.forbidden if not any(f"{a} -> {b} tcp" in f for a, b in session)]
    assert other == []
    esp = subprocess.run(
        ["tshark", "-r", str(pcap), "-Y", "esp", "-T", "fields", "-e", "ip.src", "-e", "ip.dst"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()  # fmt: skip
    ours = str(c1.cpe.black_loopback)
    peers = {a for a in esp if a != ours}
    assert len(esp) >= 2 * 2 * 2 * 2 * PING_COUNT  # to and from cpe1, per pair and family
    allowed = {str(c.cpe.black_loopback) for c in plan.cpes} | {
        str(rr.black_loopback) for rr in lab.topo.rrs
    }
    assert peers <= allowed and str(c2.cpe.black_loopback) in peers
    assert gw not in peers and not any(a.startswith("10.") for a in esp)
