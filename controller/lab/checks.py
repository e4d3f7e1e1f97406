"""The tenant reachability matrix: every host pings every other host, IPv4 and IPv6.

Expected: a ping succeeds exactly when both hosts belong to the same tenant
(at different sites); across tenants it must fail even though both tenants
use the same subnets. Each ping carries a lab-specific 16-octet pattern
(``ping -p``), which is what the black-side capture is searched for.
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass

from controller.lab.netns import Netns
from controller.lab.plan import LabPlan, RedPort

PING_COUNT = 3


@dataclass(frozen=True)
class PingResult:
    src: str  # "cpe1/blue"
    dst: str
    family: int
    address: str
    expect: bool
    replies: int

    @property
    def ok(self) -> bool:
        return (self.replies > 0) == self.expect

    def line(self) -> str:
        want = "reach" if self.expect else "isolated"
        got = f"{self.replies}/{PING_COUNT} replies"
        return (
            f"{'ok  ' if self.ok else 'FAIL'} IPv{self.family} {self.src:<12} -> "
            f"{self.dst:<12} {self.address:<18} expect {want:<8} {got}"
        )


def new_pattern() -> bytes:
    """16 random octets: ping's maximum pattern, unique to this run."""
    return secrets.token_bytes(16)


def _replies(out: str) -> int:
    for line in out.splitlines():
        if "received" in line:
            for part in line.split(","):
                if part.strip().endswith("received"):
                    return int(part.split()[0])
    return 0


def ping_matrix(
    plan: LabPlan, pattern: bytes, families: tuple[int, ...] = (4, 6)
) -> list[PingResult]:
    """Run every ordered host pair's pings concurrently; return one result per pair and family."""
    hosts: list[tuple[str, RedPort]] = [(f"{c.name}/{r.site.tenant}", r) for c, r in plan.hosts()]
    jobs = []
    for src_name, src in hosts:
        for dst_name, dst in hosts:
            if src is dst:
                continue
            for fam in families:
                dst_addr = dst.site.host if fam == 4 else dst.site.host6
                if dst_addr is None or (fam == 6 and src.site.host6 is None):
                    continue
                expect = src.site.tenant == dst.site.tenant
                argv = Netns(src.host_ns).exec_argv(
                    ["ping", f"-{fam}", "-n", "-q", "-c", str(PING_COUNT), "-i", "0.2",
                     "-W", "1", "-p", pattern.hex(), str(dst_addr)]
                )  # fmt: skip
                proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                jobs.append((src_name, dst_name, fam, str(dst_addr), expect, proc))
    results = []
    for src_name, dst_name, fam, addr, expect, proc in jobs:
        out, _ = proc.communicate(timeout=30)
        results.append(
            PingResult(
                src_name, dst_name, fam, addr, expect, _replies(out.decode(errors="replace"))
            )
        )
    return results
