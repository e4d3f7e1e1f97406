"""Bring a lab up, report on it, take it down (what `sl3vpn lab ...` runs).

Up: validate the topology, create the run directory, build namespaces and
links, generate each daemon's configuration (checked against the daemon's own
config model), generate the SA keys, start one process per C-PE inside its
namespace (PID recorded in state.json, output in <node>.log), and wait, with
bounded progress output, until every node reports it is forwarding. Down:
SIGTERM (then SIGKILL) each recorded PID that is still ours, then delete the
namespaces. Both are idempotent.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from controller.lab.build import build, destroy
from controller.lab.dconfig import write_configs
from controller.lab.plan import LabPlan, make_plan
from controller.lab.state import LabState, make_run_dir, run_dir_for, write_private
from controller.lab.static_plane import generate_sas
from controller.lab.topology import Topology, load_topology

Progress = Callable[[str], None]
REPO = Path(__file__).resolve().parents[2]


class LabError(RuntimeError):
    """The lab cannot be brought up or down; one-line reason."""


def check_privileges() -> None:
    if os.geteuid() != 0:
        raise LabError(
            "the lab creates network namespaces and veth links and needs root "
            "(CAP_NET_ADMIN + CAP_SYS_ADMIN): run it with sudo"
        )


def up(topology_path: str | Path, prefix: str | None = None, progress: Progress = print,
       timeout: float = 120.0) -> LabState:  # fmt: skip
    check_privileges()
    topo = load_topology(topology_path)
    prefix = prefix or f"sl3-{topo.name}"
    plan = make_plan(topo, prefix)
    if (run_dir_for(prefix) / "state.json").exists():
        raise LabError(f"lab {prefix!r} is already up (`sl3vpn lab down --prefix {prefix}`)")
    t0 = time.monotonic()
    run_dir = make_run_dir(prefix)
    state = LabState(prefix, str(Path(topology_path).resolve()), "static", plan.namespaces,
                     started=time.time())  # fmt: skip
    state.save()
    try:
        progress(f"lab {prefix}: building {len(plan.namespaces)} namespaces")
        build(plan, progress)
        write_configs(plan, run_dir / "configs")
        progress(f"  daemon configurations in {run_dir / 'configs'} (checked)")
        write_private(run_dir / "sas.json", json.dumps([s.to_json() for s in generate_sas(plan)]))
        for c in plan.cpes:
            state.pids[c.name] = _start(run_dir, c.ns, c.name)
        state.save()
        progress(f"  started {len(plan.cpes)} C-PE data planes (p4sim + ESP engine)")
        _wait_ready(state, plan, progress, timeout)
    except BaseException:
        down(prefix, progress=lambda _m: None)
        raise
    progress(f"lab {prefix}: up in {time.monotonic() - t0:.1f}s")
    return state


def _start(run_dir: Path, ns: str, node: str) -> int:
    log = open(run_dir / f"{node}.log", "ab")  # noqa: SIM115 - handed to the child
    argv = ["ip", "netns", "exec", ns, sys.executable, "-m", "controller.lab.static_node",
            "--run-dir", str(run_dir), "--node", node]  # fmt: skip
    proc = subprocess.Popen(
        argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True
    )
    log.close()
    return proc.pid


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _ours(pid: int, run_dir: Path) -> bool:
    """The PID still runs a process this lab started (PIDs get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(run_dir).encode() in cmdline and b"controller.lab.static_node" in cmdline


def _wait_ready(state: LabState, plan: LabPlan, progress: Progress, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = {c.name for c in plan.cpes}
    last = 0.0
    while waiting:
        for node in sorted(waiting):
            pid = state.pids[node]
            if (state.run_dir / f"{node}.status.json").exists():
                waiting.discard(node)
            elif not _alive(pid):
                tail = _log_tail(state.run_dir / f"{node}.log")
                raise LabError(f"{node} (pid {pid}) exited during start-up: {tail}")
        now = time.monotonic()
        if waiting and now > deadline:
            raise LabError(f"not ready after {timeout:.0f}s: {', '.join(sorted(waiting))}")
        if waiting and now - last >= 2.0:
            progress(f"  waiting for {', '.join(sorted(waiting))} to load p4src/cpe.p4 ...")
            last = now
        time.sleep(0.1)


def _log_tail(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"


def down(prefix: str, progress: Progress = print) -> bool:
    """Stop the lab's processes and delete its namespaces; False if no such lab."""
    run_dir = run_dir_for(prefix)
    try:
        state = LabState.load(run_dir)
    except LookupError:
        return False
    for pid in state.pids.values():
        if _ours(pid, run_dir):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 3.0
    for pid in state.pids.values():
        while _ours(pid, run_dir) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _ours(pid, run_dir):
            os.kill(pid, signal.SIGKILL)
    gone = destroy(state.namespaces)
    progress(f"lab {prefix}: {len(state.pids)} processes stopped, {len(gone)} namespaces deleted")
    for child in sorted(run_dir.rglob("*"), reverse=True):
        child.unlink() if not child.is_dir() else child.rmdir()
    run_dir.rmdir()
    return True


def status(prefix: str) -> dict[str, object]:
    """What the lab looks like now: processes, and each C-PE's SAs with counters."""
    run_dir = run_dir_for(prefix)
    state = LabState.load(run_dir)
    nodes: dict[str, object] = {}
    for node, pid in state.pids.items():
        info: dict[str, object] = {"pid": pid, "running": _ours(pid, run_dir)}
        with contextlib.suppress(OSError, ValueError):
            info.update(json.loads((run_dir / f"{node}.status.json").read_text()))
        nodes[node] = info
    return {"prefix": prefix, "mode": state.mode, "topology": state.topology,
            "namespaces": state.namespaces, "nodes": nodes}  # fmt: skip


def plan_of(prefix: str) -> tuple[LabState, Topology, LabPlan]:
    state = LabState.load(run_dir_for(prefix))
    topo = load_topology(state.topology)
    return state, topo, make_plan(topo, state.prefix)
