"""Mobility on the daemon lab (issue #7: "A C-PE's black address changes").

cpe2 gets a new black loopback while a tenant host behind cpe1 pings one behind
cpe2. cpe2 initiated its IKE SAs to the RRs and to cpe3 (MOBIKE moves those at
once); cpe1 initiated the one between cpe1 and cpe2 (the lower address wins),
so that one moves when cpe1 hears the re-advertised red loopback route and
sends UPDATE_SA_ADDRESSES itself. The test asserts traffic resumes, the other
nodes' SAs name the new address, and no red BGP session was reset; it prints
how many echoes the move cost.
"""

import os
import time

import pytest
from test_lab_daemons import _docs, _received, _wait
from test_lab_daemons import _ping_series as _ping

from controller.lab.move import move

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (namespaces)"),
]

NEW = "198.51.100.112"


@pytest.fixture
def mobility_lab(make_lab):
    lab = make_lab("lab-default.yml", "M", daemons=True)
    try:
        yield lab
    finally:
        lab.down()


def _established(doc) -> dict[str, tuple[str, int]]:
    return {
        b["neighbor"]: (b["state"], b["messages"].get("established", 0))
        for b in doc["bgp"]
        if b.get("color", "red") == "red"
    }


def _moved_everywhere(lab, old: str) -> bool:
    docs = _docs(lab)
    cpe2 = docs["cpe2"]["sas"]["ike"]
    if not cpe2 or any(s["local"].split(":")[0] != NEW for s in cpe2 if s["state"] != "deleted"):
        return False
    for node in ("cpe1", "cpe3", "rr1", "rr2"):
        peers = {c["peer"] for c in docs[node]["sas"]["child"]}
        if NEW not in peers or old in peers:
            return False
    return True


def test_traffic_resumes_after_a_cpe_moves(mobility_lab) -> None:
    lab = mobility_lab
    blue1, blue2 = lab.plan.cpe("cpe1").red[0], lab.plan.cpe("cpe2").red[0]
    before = {n: _established(d) for n, d in _docs(lab).items()}
    assert all(s == "Established" for s, _ in before["cpe2"].values())
    series = _ping(blue1.host_ns, str(blue2.site.host), 300)  # 30 s of echoes
    time.sleep(5.0)
    old, new = move(lab.prefix, "cpe2", NEW)
    assert new == NEW
    _wait(lambda: _moved_everywhere(lab, old), 60, f"every node's SAs name {NEW}, none {old}")
    sent, got = _received(series)
    print(f"\nmobility: {sent - got} of {sent} echoes lost across the move (0.1 s apart)")
    # traffic resumed: a later run of 20 echoes goes through whole
    assert _received(_ping(blue1.host_ns, str(blue2.site.host), 20)) == (20, 20)
    assert got > 0 and sent == 300
    after = {n: _established(d) for n, d in _docs(lab).items()}
    # no red BGP session went down: same sessions, each established as often as before
    for node in ("cpe2", "rr1", "rr2"):
        assert after[node] == before[node], (node, before[node], after[node])
    # how each SA moved: cpe2 updated those it initiated (RRs, cpe3); cpe1 moved its own
    # SA to cpe2 once BGP told it the new endpoint
    logs = {n: (lab.state.run_dir / f"{n}.log").read_text() for n in ("cpe1", "cpe2", "rr1")}
    assert f"MOBIKE: now {NEW} <->" in logs["cpe2"]
    assert f"MOBIKE: peer moved {old}:500 -> {NEW}:" in logs["rr1"]
    assert f"<-> {NEW}" in logs["cpe1"] and f"peer {old} -> {NEW} (BGP)" in logs["cpe1"]
    routes = _docs(lab)["cpe1"]["routes"]
    via_cpe2 = [r for r in routes if not r["local"] and r.get("tunnel_endpoint") == NEW]
    assert via_cpe2 and all(r["installed"] for r in via_cpe2)
