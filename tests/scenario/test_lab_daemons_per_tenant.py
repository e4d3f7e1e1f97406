"""Per-tenant SAs on the real daemons (own module: its lab is up alone)."""

import json
import os
import subprocess
import time

import pytest

from controller.lab.checks import ping_matrix
from controller.lab.netns import Netns

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (namespaces)"),
]


def _docs(lab):
    return {
        node: json.loads((lab.state.run_dir / f"{node}-status.json").read_text())
        for node in lab.state.pids
    }


def _matrix_ok(plan):
    bad = [r.line() for r in ping_matrix(plan, b"\x00" * 16) if not r.ok]
    assert not bad, "\n".join(bad)


def _ping(ns: str, dst: str, count: int) -> None:
    argv = Netns(ns).exec_argv(["ping", "-n", "-q", "-i", "0.05", "-c", str(count), "-W", "1", dst])
    subprocess.run(argv, capture_output=True, timeout=60)


def test_daemons_per_tenant_sas(per_tenant_daemon_lab) -> None:
    """Per-tenant SAs (draft section 4): each tenant gets its own CHILD_SA per C-PE pair."""
    lab = per_tenant_daemon_lab

    def mpls_sas(node: str) -> dict[tuple[str, str | None], tuple[int, int]]:
        """(peer, tenant) -> (outbound SPI, packets out) of each per-tenant MPLS CHILD_SA."""
        return {
            (c["peer"], c["tenant"]): (c["spi_out"], c["packets_out"])
            for c in _docs(lab)[node]["sas"]["child"]
            if c["name"].startswith("mpls") and c["tenant"] is not None
        }

    cpes = [c.name for c in lab.plan.cpes]
    blacks = {c.name: str(c.cpe.black_loopback) for c in lab.plan.cpes}

    def spis() -> dict[str, dict[tuple[str, str | None], int]]:
        return {n: {k: v[0] for k, v in mpls_sas(n).items()} for n in cpes}

    def complete(now: dict[str, dict[tuple[str, str | None], int]]) -> bool:
        want = {
            n: {(blacks[o], t) for o in cpes if o != n for t in ("blue", "green")} for n in cpes
        }
        return all(set(now[n]) == want[n] for n in cpes)

    # The status snapshot is rewritten periodically: wait until it shows every SA.
    deadline = time.monotonic() + 20
    while not complete(converged := spis()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert complete(converged), converged
    _matrix_ok(lab.plan)
    cpe2, cpe3 = blacks["cpe2"], blacks["cpe3"]
    green1 = next(r for r in lab.plan.cpe("cpe1").red if r.site.tenant == "green")
    green2 = next(r for r in lab.plan.cpe("cpe2").red if r.site.tenant == "green")
    # The snapshot is up to a second old: let it take in the matrix's last packets first
    # (one of the matrix's echoes to cpe3's green host was once counted as growth below).
    time.sleep(2.5)
    before = mpls_sas("cpe1")
    _ping(green1.host_ns, str(green2.site.host), 30)
    time.sleep(2.5)  # the daemon rewrites its status snapshot periodically
    after = mpls_sas("cpe1")
    # After convergence no CHILD_SA is replaced before its lifetime (an hour in the lab):
    # once, a duplicate from both ends setting up at once was closed here, after the fact.
    dup = [ln for n in cpes for ln in (lab.state.run_dir / f"{n}.log").read_text().splitlines()
           if "duplicate IKE SA" in ln]  # fmt: skip
    assert spis() == converged, dup
    grew = {k: after[k][1] - before[k][1] for k in before}
    assert grew[(cpe2, "green")] >= 29, grew
    assert grew[(cpe2, "blue")] == grew[(cpe3, "blue")] == grew[(cpe3, "green")] == 0, grew
