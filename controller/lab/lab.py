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
from typing import Any

from controller.lab import bmv2 as bmv2_lab
from controller.lab.build import build, destroy
from controller.lab.dconfig import PROGRAM, PROGRAMS, write_configs
from controller.lab.plan import LabPlan, make_plan
from controller.lab.state import LabState, make_run_dir, run_dir_for, write_private
from controller.lab.static_plane import generate_sas
from controller.lab.topology import Topology, load_topology

Progress = Callable[[str], None]
REPO = Path(__file__).resolve().parents[2]
# What a daemon may leave running for its successor (--keep-switch), by command line.
KEPT_PROGRAMS = (b"p4sim", b"simple_switch_grpc", b"controller.ipsec.esp.process")


class LabError(RuntimeError):
    """The lab cannot be brought up or down; one-line reason."""


def check_privileges() -> None:
    if os.geteuid() != 0:
        raise LabError(
            "the lab creates network namespaces and veth links and needs root "
            "(CAP_NET_ADMIN + CAP_SYS_ADMIN): run it with sudo, or through `sl3vpn lab up` / "
            "`sl3vpn demo`, which make a private user namespace when not root"
        )


def _check_program(program: str, target: str, daemons: bool) -> None:
    if program not in PROGRAMS:
        raise LabError(f"--program {program}: expected one of {', '.join(PROGRAMS)}")
    if program == "tna" and target != "p4sim":
        raise LabError("--program tna needs --target p4sim: BMv2 has no TNA architecture")
    if program == "tna" and not daemons:
        raise LabError("--program tna runs with the daemons: the static data plane is v1model")


def up(topology_path: str | Path, prefix: str | None = None, progress: Progress = print,
       timeout: float = 120.0, daemons: bool = False,
       after_build: Callable[[LabPlan], None] | None = None,
       target: str = "p4sim", program: str = "v1model") -> LabState:  # fmt: skip
    """Bring a lab up; ``after_build`` runs once the namespaces and links exist and
    before any node starts (e.g. to capture the black links from the first packet).
    ``target``: the switch every node runs, p4sim or bmv2 (simple_switch_grpc);
    ``program``: the C-PE program it runs, v1model (cpe.p4) or tna (cpe_tna.p4)."""
    check_privileges()
    if target not in bmv2_lab.TARGETS:
        raise LabError(f"--target {target}: expected one of {', '.join(bmv2_lab.TARGETS)}")
    _check_program(program, target, daemons)
    topo = load_topology(topology_path)
    prefix = prefix or f"sl3-{topo.name}"
    plan = make_plan(topo, prefix)
    if (run_dir_for(prefix) / "state.json").exists():
        raise LabError(f"lab {prefix!r} is already up (`sl3vpn lab down --prefix {prefix}`)")
    t0 = time.monotonic()
    if target == "bmv2":  # before anything exists: a missing tool leaves nothing behind
        bmv2_lab.prepare(PROGRAM, progress)
    run_dir = make_run_dir(prefix)
    mode = "daemon" if daemons else "static"
    state = LabState(prefix, str(Path(topology_path).resolve()), mode, plan.namespaces,
                     started=time.time(), target=target)  # fmt: skip
    state.save()
    try:
        progress(f"lab {prefix}: building {len(plan.namespaces)} namespaces")
        build(plan, progress, daemons)
        if target == "bmv2":
            n = bmv2_lab.offload_off(plan)
            progress(f"  TX checksum offload off on {n} links' far ends (BMv2 uses libpcap)")
        if after_build is not None:
            after_build(plan)
        configs = write_configs(plan, run_dir / "configs", target, PROGRAMS[program])
        progress(f"  daemon configurations in {run_dir / 'configs'} (checked)")
        if daemons:
            for node, argv in daemon_argvs(plan, configs, run_dir).items():
                ns = plan.rr_ns.get(node) or plan.cpe(node).ns
                state.pids[node] = _start(run_dir, ns, node, argv)
            state.save()
            progress(f"  started {len(state.pids)} daemons (sl3vpn cpe / sl3vpn rr)")
        else:
            sas = json.dumps([s.to_json() for s in generate_sas(plan)])
            write_private(run_dir / "sas.json", sas)
            for c in plan.cpes:
                argv = ["-m", "controller.lab.static_node", "--run-dir", str(run_dir),
                        "--node", c.name]  # fmt: skip
                state.pids[c.name] = _start(run_dir, c.ns, c.name, argv)
            state.save()
            progress(f"  started {len(plan.cpes)} C-PE data planes ({target} + ESP engine)")
        _wait_ready(state, progress, timeout)
        if daemons:
            _wait_converged(state, plan, progress, deadline=time.monotonic() + timeout)
    except BaseException as exc:
        kept = down(prefix, progress=lambda _m: None, keep_logs=True)
        if isinstance(exc, LabError) and kept:
            raise LabError(f"{exc} (node logs kept in {kept})") from None
        raise
    progress(f"lab {prefix}: up in {time.monotonic() - t0:.1f}s")
    return state


def daemon_argvs(plan: LabPlan, configs: dict[str, Path], run_dir: Path) -> dict[str, list[str]]:
    """`sl3vpn cpe|rr` for every node. The black addresses of its red neighbours (IKE
    peers) are in its configuration (bgp.neighbors[].black_address, see dconfig)."""
    topo = plan.topo
    out: dict[str, list[str]] = {}
    for node in (*topo.rrs, *topo.cpes):
        role = "rr" if node.name in plan.rr_ns else "cpe"
        if role == "rr":
            gateway = str(node.underlay_address.ip)
        else:
            gateway = str(plan.cpe(node.name).black_gw)
        # --keep-switch: a restarted daemon finds its switch still forwarding and only
        # reconciles; `lab down` stops the daemon's whole process group.
        argv = ["-m", "controller", role, "--config", str(configs[node.name]),
                "--black-gateway", gateway, "--run-dir", str(run_dir), "--keep-switch"]  # fmt: skip
        out[node.name] = argv
    return out


def _start(run_dir: Path, ns: str, node: str, args: list[str]) -> int:
    log = open(run_dir / f"{node}.log", "ab")  # noqa: SIM115 - handed to the child
    argv = ["ip", "netns", "exec", ns, sys.executable, *args]
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
    return any(str(run_dir).encode() in arg for arg in cmdline)


def _ready_file(state: LabState, node: str) -> Path:
    name = f"{node}-status.json" if state.mode == "daemon" else f"{node}.status.json"
    return state.run_dir / name


def _kept_data_path(run_dir: Path) -> list[int]:
    """Switch / ESP engine processes the daemons recorded (``<node>-p4sim.pid``, ...)."""
    out = []
    for pid_file in run_dir.glob("*.pid"):
        try:
            pid = int(pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        if _alive(pid) and any(w in cmdline for w in KEPT_PROGRAMS):
            out.append(pid)
    return out


def _group(pgid: int) -> list[int]:
    """Live processes in process group ``pgid`` (each node runs in its own session)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            out.append(int(entry.name))
    return out


def _wait_ready(state: LabState, progress: Progress, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = set(state.pids)
    last = 0.0
    while waiting:
        for node in sorted(waiting):
            pid = state.pids[node]
            if _ready_file(state, node).exists():
                waiting.discard(node)
            elif not _alive(pid):
                tail = _log_tail(state.run_dir / f"{node}.log")
                raise LabError(f"{node} (pid {pid}) exited during start-up: {tail}")
        now = time.monotonic()
        if waiting and now > deadline:
            raise LabError(f"not ready after {timeout:.0f}s: {', '.join(sorted(waiting))}")
        if waiting and now - last >= 2.0:
            progress(f"  waiting for {', '.join(sorted(waiting))} to start ...")
            last = now
        time.sleep(0.1)


def missing(plan: LabPlan, docs: dict[str, dict[str, Any]]) -> list[str]:
    """What the daemons' status snapshots still lack: sessions, SAs, VPN routes."""
    out = []
    for c in plan.cpes:
        doc = docs.get(c.name, {})
        down = [
            b["neighbor"]
            for b in doc.get("bgp", [])
            if b.get("state") != "Established" and b.get("color", "red") == "red"
        ]
        if down or not doc.get("bgp"):
            out.append(f"{c.name}: BGP to {', '.join(down) or 'RRs'}")
        sa_peers = {s.get("peer") for s in doc.get("sas", {}).get("child", [])
                    if s.get("name") == "mpls"}  # fmt: skip
        no_sa = [p.name for p in plan.cpes if p is not c
                 and str(p.cpe.black_loopback) not in sa_peers
                 and str(p.cpe.link_address.ip) not in sa_peers]  # fmt: skip
        if no_sa:
            out.append(f"{c.name}: IKE/ESP to {', '.join(no_sa)}")
        have = {(r.get("vrf"), r.get("prefix")) for r in doc.get("routes", [])
                if r.get("installed")}  # fmt: skip
        ours = {r.site.tenant for r in c.red}
        want = {
            (r.site.tenant, str(net))
            for p in plan.cpes
            if p is not c
            for r in p.red
            if r.site.tenant in ours
            for net in (r.site.subnet, r.site.subnet6)
            if net
        }
        if want - have:
            out.append(f"{c.name}: {len(want - have)} VPN routes")
    return out


def _wait_converged(state: LabState, plan: LabPlan, progress: Progress, deadline: float) -> None:
    last, waited = "", time.monotonic()
    while True:
        docs = {}
        for node in state.pids:
            with contextlib.suppress(OSError, ValueError):
                docs[node] = json.loads(_ready_file(state, node).read_text())
        todo = missing(plan, docs)
        if not todo:
            return
        for node, pid in state.pids.items():
            if not _alive(pid):
                tail = _log_tail(state.run_dir / f"{node}.log")
                raise LabError(f"{node} (pid {pid}) exited: {tail}")
        now = time.monotonic()
        if now > deadline:
            raise LabError(f"not converged: {'; '.join(todo)}")
        text = "; ".join(todo[:3]) + (f" (+{len(todo) - 3} more)" if len(todo) > 3 else "")
        if text != last or now - waited > 5:
            progress(f"  waiting for {text}")
            last, waited = text, now
        time.sleep(0.5)


def _log_tail(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"


def down(prefix: str, progress: Progress = print, keep_logs: bool = False) -> Path | None:
    """Stop the lab's processes and delete its namespaces; None if there is no such lab.

    Returns the run directory, or with ``keep_logs`` the directory the node logs
    were moved to (for a failed bring-up), before the run directory goes.
    """
    run_dir = run_dir_for(prefix)
    try:
        state = LabState.load(run_dir)
    except LookupError:
        return None
    for pid in state.pids.values():
        if _ours(pid, run_dir):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)  # the node and its children (a daemon's p4sim)
    kept = _kept_data_path(run_dir)  # adopted across a daemon restart: in an old group
    for pid in kept:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5.0
    for pid in state.pids.values():
        while _group(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        for member in _group(pid):  # still there: the process or a child it left behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(member, signal.SIGKILL)
    for pid in kept:
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    gone = destroy(state.namespaces)
    progress(f"lab {prefix}: {len(state.pids)} processes stopped, {len(gone)} namespaces deleted")
    result = run_dir
    if keep_logs:
        result = run_dir.with_name(f"{prefix}-failed-{int(time.time())}")
        result.mkdir(mode=0o700)
        for log in run_dir.glob("*.log"):
            log.rename(result / log.name)
    for child in sorted(run_dir.rglob("*"), reverse=True):
        child.unlink() if not child.is_dir() else child.rmdir()
    run_dir.rmdir()
    return result


def status(prefix: str) -> dict[str, object]:
    """What the lab looks like now: processes, and each C-PE's SAs with counters."""
    run_dir = run_dir_for(prefix)
    state = LabState.load(run_dir)
    nodes: dict[str, object] = {}
    for node, pid in state.pids.items():
        info: dict[str, object] = {"pid": pid, "running": _ours(pid, run_dir)}
        with contextlib.suppress(OSError, ValueError):
            info.update(json.loads(_ready_file(state, node).read_text()))
        nodes[node] = info
    return {"prefix": prefix, "mode": state.mode, "target": state.target,
            "topology": state.topology, "namespaces": state.namespaces,
            "nodes": nodes}  # fmt: skip


def plan_of(prefix: str) -> tuple[LabState, Topology, LabPlan]:
    state = LabState.load(run_dir_for(prefix))
    topo = load_topology(state.topology)
    return state, topo, make_plan(topo, state.prefix)
