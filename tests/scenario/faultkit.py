"""What the fault scenarios share: a tenant ping with sequence numbers, black-link
captures around the fault, waiting for a condition, and one figure line per fault.

A fault is measured by the echoes it cost (which sequence numbers never came
back) and when: each lost echo's send time is estimated from the reply before it
(ping -D stamps every reply), so a test can require that echoes were lost only
while the fault lasted. The figure lines (``FAULT ...``) are what the README's
reliability table quotes. ``SL3VPN_FAULTS_FULL=1`` runs the issue's full
durations (a minute of underlay loss, five minutes of rekeys at 1,000 pps).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controller.lab.capture import BlackCapture
from controller.lab.checks import new_pattern
from controller.lab.netns import Netns
from controller.lab.plan import LabPlan

FULL = os.environ.get("SL3VPN_FAULTS_FULL") == "1"
_REPLY = re.compile(r"\[(\d+\.\d+)\] \d+ bytes from .* icmp_seq=(\d+)")


def wait_for(predicate: Callable[[], Any], seconds: float, what: str) -> float:
    """Poll until ``predicate()`` is true; return the time (time.time()) it was seen."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return time.time()
        time.sleep(0.2)
    raise AssertionError(f"not within {seconds:g}s: {what}")


@dataclass
class Outcome:
    sent: int
    interval: float
    replies: dict[int, float]  # sequence number -> reply time (time.time())

    @property
    def lost(self) -> list[int]:
        return [s for s in range(1, self.sent + 1) if s not in self.replies]

    def sent_at(self, seq: int) -> float:
        """When echo ``seq`` left: the last reply before it plus the interval per echo."""
        before = [s for s in self.replies if s < seq]
        if not before:
            after = min(s for s in self.replies if s > seq)
            return self.replies[after] - (after - seq) * self.interval
        prev = max(before)
        return self.replies[prev] + (seq - prev) * self.interval

    def lost_outside(self, start: float, end: float) -> list[int]:
        """Lost echoes sent before ``start`` or after ``end``."""
        return [s for s in self.lost if not start <= self.sent_at(s) <= end]

    def recovered(self, end: float) -> float:
        """Seconds from the fault's end to the first reply after the last lost echo (0: none
        lost; negative: the last loss came before the fault ended)."""
        if not self.lost:
            return 0.0
        after = [t for s, t in self.replies.items() if s > self.lost[-1]]
        return (min(after) - end) if after else float("inf")

    def figure(self, fault: str, end: float) -> str:
        """The README's figure: ``end`` is when the fault ended (a kill: when it happened)."""
        line = (
            f"FAULT {fault}: {len(self.lost)} of {self.sent} echoes lost ({self.interval:g} s "
            f"apart); the first reply after the last loss {self.recovered(end):.1f} s after "
            "the fault (ended)"
        )
        print(f"\n{line}")
        return line


class SeqPing:
    """``ping -D`` from a tenant host, every echo carrying the capture's pattern."""

    def __init__(self, ns: str, dst: str, count: int, pattern: bytes, interval: float = 0.1):
        self.count, self.interval = count, interval
        argv = ["ping", "-n", "-D", "-i", f"{interval:g}", "-c", str(count), "-W", "2",
                "-p", pattern.hex(), dst]  # fmt: skip
        # a file, not a pipe: nobody reads while it runs, and a full pipe would stop ping
        self.out = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed by result()
        self.proc = subprocess.Popen(
            Netns(ns).exec_argv(argv), stdout=self.out, stderr=subprocess.STDOUT, text=True
        )

    def result(self, timeout: float = 900) -> Outcome:
        self.proc.wait(timeout=timeout)
        self.out.seek(0)
        out = self.out.read()
        self.out.close()
        replies: dict[int, float] = {}
        wraps, last = 0, 0
        for m in _REPLY.finditer(out):  # icmp_seq is 16 bits: count its wraps
            seq = int(m[2])
            if seq < last - 0x8000:
                wraps += 1
            last = seq
            replies[seq + wraps * 0x10000] = float(m[1])
        line = next((ln for ln in out.splitlines() if "transmitted" in ln), "")
        assert line, out[-500:]
        received = int(line.split(",")[1].split()[0])
        assert received == len(replies), f"{received} received, {len(replies)} replies read"
        return Outcome(int(line.split()[0]), self.interval, replies)


def warm_up(ns: str, dst: str) -> None:
    """ARP/ND on both sides and the first path: those echoes are not measured."""
    argv = Netns(ns).exec_argv(["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "2", dst])
    subprocess.run(argv, capture_output=True, timeout=60)


def in_a_row(ns: str, dst: str, count: int = 10) -> bool:
    argv = Netns(ns).exec_argv(["ping", "-n", "-q", "-c", str(count), "-i", "0.1", "-W", "2", dst])
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout
    return f"{count} packets transmitted, {count} received" in out


@contextmanager
def black_watch(plan: LabPlan, tmp: Path) -> Iterator[bytes]:
    """Capture every black link (underlay side) meanwhile; yield the tenant pattern to
    send; afterwards nothing but ESP/IKE/ARP/ND may have crossed, and never the pattern."""
    pattern = new_pattern()
    links = [c.name for c in plan.cpes] + list(plan.rr_ns)
    caps = [BlackCapture(plan.underlay_ns, link, tmp / f"{link}.pcap") for link in links]
    for cap in caps:
        cap.__enter__()
    try:
        yield pattern
    finally:
        for cap in caps:
            cap.__exit__()
    for cap in caps:
        v = cap.verdict([pattern])
        assert v.forbidden == [] and v.cleartext == [], (v.link, v.forbidden[:3], v.cleartext[:3])


def log_has(path: Path, text: str, since: int = 0) -> bool:
    """``text`` appears in the log after its first ``since`` octets."""
    with path.open("rb") as f:
        f.seek(since)
        return text.encode() in f.read()


def pid_of(path: Path) -> int:
    return int(path.read_text().strip())


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False
