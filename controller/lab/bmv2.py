"""What a lab on BMv2 (``--target bmv2``) needs beyond a p4sim lab.

* The tools, checked before anything is built: a missing one is one line
  naming it and where it was looked for (``targets/bmv2/tools.py``).
* The program compiled once, before the nodes start: every daemon compiles
  the same ``p4src/cpe.p4`` with the same defines, so they all find it in the
  cache instead of running five p4c-bm2-ss at once on a small machine.
* TX checksum offload off on the far end of every link a switch port sits
  on. A Linux sender leaves TCP/UDP checksums to the "hardware" on a veth;
  p4sim's AF_PACKET ports learn that from PACKET_AUXDATA and complete the
  sum, BMv2's libpcap ports cannot, and would forward the partial checksum.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from controller.lab.netns import Netns
from controller.lab.plan import CPU_PORT, CRYPTO_PORT, LabPlan

TARGETS = ("p4sim", "bmv2")
Progress = Callable[[str], None]


class Bmv2LabError(RuntimeError):
    """BMv2 cannot run this lab here (one line: which tool, or what failed)."""


def prepare(program: str, progress: Progress) -> None:
    """Check the tools and fill the compile cache the daemons will read."""
    import targets.bmv2 as bmv2

    missing = bmv2.missing_tools()
    if missing:
        raise Bmv2LabError(f"--target bmv2: {'; '.join(missing)}")
    defines = {"CPU_PORT": str(CPU_PORT), "CRYPTO_PORT": str(CRYPTO_PORT)}
    try:
        art = bmv2.compile_program(Path(program), defines)
    except bmv2.CompileError as exc:
        raise Bmv2LabError(f"--target bmv2: {exc}") from None
    how = "from the cache" if art.cached else "compiled now"
    progress(f"  BMv2: p4c-bm2-ss output for {program} {how} ({art.json_path.parent})")


def switch_namespaces(plan: LabPlan) -> set[str]:
    """The namespaces whose interfaces are switch ports (C-PEs and RRs)."""
    return {c.ns for c in plan.cpes} | set(plan.rr_ns.values())


def offload_off(plan: LabPlan) -> int:
    """TX checksum offload off on the far end of each switch port's link; how many."""
    switches = switch_namespaces(plan)
    done = 0
    for link in plan.links:
        for near, far in ((link.a, link.b), (link.b, link.a)):
            if near.ns in switches and far.ns not in switches:
                Netns(far.ns).tx_checksum(far.ifname, on=False)
                done += 1
    return done
