"""Draft 3.2 auto-discovery on the real daemons (examples/lab-discovery.yml).

rr1 is configured with a CA and ``*.cpe.example`` and no C-PE at all; cpe1 and
cpe2 come with certificates of that CA binding their red loopbacks. `lab up`
returns once both C-PEs have their red BGP session to rr1 up inside IPsec, an
SA to each other and every VPN route installed: rr1 admitted both, learnt from
their certificates where their sessions run from, and reflected their routes.
"""

import json
import os
import time

import pytest

from controller.config import load_config
from controller.lab.checks import new_pattern, ping_matrix
from controller.lab.lab import missing

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (namespaces)"),
]


def _doc(lab, node: str) -> dict:
    return json.loads((lab.state.run_dir / f"{node}-status.json").read_text())


def test_rr_with_only_a_ca_admits_both_cpes_and_traffic_flows(discovery_lab) -> None:
    lab, plan = discovery_lab, discovery_lab.plan
    rr_cfg = load_config(lab.state.run_dir / "configs" / "rr1.yml")
    assert rr_cfg.bgp.neighbors == [] and rr_cfg.bgp.auto_discovery is not None
    docs = {node: _doc(lab, node) for node in lab.state.pids}
    assert missing(plan, docs) == []
    # the C-PEs' view says up; rr1 writes its own snapshot each second: wait for it
    want = {"10.255.0.11": "Established", "10.255.0.12": "Established"}
    deadline, rr = time.monotonic() + 20, _doc(lab, "rr1")
    while {b["neighbor"]: b["state"] for b in rr["bgp"]} != want and time.monotonic() < deadline:
        time.sleep(0.5)
        rr = _doc(lab, "rr1")
    assert {b["neighbor"]: b["state"] for b in rr["bgp"]} == want, rr["bgp"]
    found = {d["identity"]: d for d in rr["discovered"]}
    assert sorted(found) == ["cpe1.cpe.example", "cpe2.cpe.example"]
    assert found["cpe1.cpe.example"]["red"] == ["10.255.0.11"]
    assert found["cpe2.cpe.example"]["black"] == "198.51.100.12"
    results = ping_matrix(plan, new_pattern())
    bad = [r.line() for r in results if not r.ok]
    assert not bad, "\n".join(bad)
    assert sum(r.expect for r in results) >= 2 * 2  # both tenants, both directions
