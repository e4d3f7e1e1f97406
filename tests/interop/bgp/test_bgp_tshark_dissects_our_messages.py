"""An independent decoder reads our encoding: Wireshark's BGP dissector via tshark.

A GoBGP session carries our OPEN and UPDATEs (VPN-IPv4, VPN-IPv6, red loopback
route with the Tunnel Encapsulation attribute); tshark on the veth must find
every message well formed and read back the fields we meant to send.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
from peers.capture import Capture
from peers.daemon import wait_until
from peers.fixtures import BgpLab
from peers.routes import red_loopback_update, vpn_update

pytestmark = [pytest.mark.interop, pytest.mark.slow]


def _tshark(pcap: str, src: str, *fields: str) -> list[list[str]]:
    cmd = ["tshark", "-r", pcap, "-Y", f"bgp && ip.src=={src}", "-T", "fields"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    return [line.split("\t") for line in out.splitlines() if line.strip()]


def test_gobgp_session_tshark_dissects_our_messages(bgp_lab: BgpLab) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed (scripts/setup.sh installs it)")
    peer = bgp_lab.start("gobgp", families=("ipv4", "ipv6", "vpnv4", "vpnv6"), clients=1)
    pcap = bgp_lab.workdir / "ours.pcap"
    cap = Capture(peer.lab.us, peer.lab.veth_us, pcap)
    try:
        a = peer.connect(0)
        a.send(red_loopback_update("192.0.2.10", peer.client_ip(0)))
        a.send(vpn_update("10.1.1.0/24", peer.client_ip(0), 100))
        a.send(vpn_update("2001:db8:1::/48", peer.lab.us_ip6s[0], 101))
        gobgp = peer.daemon
        wait_until(
            "GoBGP to hold our three routes",
            lambda: gobgp.rib("ipv4") and gobgp.rib("vpnv4") and gobgp.rib("vpnv6"),  # type: ignore[attr-defined]
            timeout=10,
        )
    finally:
        cap.stop()
    src = peer.client_ip(0)
    malformed = subprocess.run(
        ["tshark", "-r", str(pcap), "-Y", f"ip.src=={src} && _ws.malformed"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert malformed.strip() == ""
    types = [int(t) for row in _tshark(str(pcap), src, "bgp.type") for t in row[0].split(",")]
    assert types.count(1) == 1 and types.count(2) >= 3  # OPEN and our three UPDATEs
    rds = {v for row in _tshark(str(pcap), src, "bgp.rd") for v in row[0].split(",") if v}
    assert rds == {"65000:1"}
    labels = {v for row in _tshark(str(pcap), src, "bgp.label_stack") for v in row[0].split(",")}
    assert any("100" in v for v in labels) and any("101" in v for v in labels)
    nlri = {v for row in _tshark(str(pcap), src, "bgp.nlri_prefix") for v in row[0].split(",")}
    assert "192.0.2.10" in nlri
