"""`sl3vpn demo`: the main job of the README.

Brings up examples/lab-default.yml (three sites, two tenants with the same
subnets), shows the SAs, pings every tenant pair over IPv4 and IPv6 while
tcpdump records every black link, checks that same-tenant pairs reach each
other and cross-tenant pairs do not, that the black links carried only ESP,
IKE, ARP and ND, and that no tenant payload appears there in cleartext; then
tears the lab down and prints PASS or FAIL (exit status 1 on FAIL).

By default every node runs the real daemon (`sl3vpn cpe` / `sl3vpn rr`: p4sim
with p4src/cpe.p4, the ESP engine, IKEv2, BGP to two red RRs over IPsec), and
the demo waits until every session, SA and VPN route is in place. With
``--static`` the C-PEs run only their data plane, with routes and SAs written
by the lab (random keys per run), and no BGP or IKE: the output says so.
``--target bmv2`` runs BMv2's simple_switch_grpc instead of p4sim in every
node (program compiled by p4c-bm2-ss); the checks are the same.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from controller.lab.capture import BlackCapture
    from controller.lab.plan import LabPlan

TOPOLOGY = Path(__file__).resolve().parents[1] / "examples" / "lab-default.yml"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="the main job: bring up the default lab, prove isolation")
    p.add_argument("--topology", default=str(TOPOLOGY), help="lab topology (default: %(default)s)")
    p.add_argument("--keep", action="store_true", help="leave the lab up afterwards")
    p.add_argument(
        "--static",
        action="store_true",
        help="lab-written routes and SAs instead of the BGP/IKE daemons (data plane only)",
    )
    from controller.lab.cli import add_target_option

    add_target_option(p)
    p.set_defaults(func=run)


def _say(msg: str) -> None:
    print(msg, flush=True)


def run(args: argparse.Namespace) -> int:
    from controller.lab import userns
    from controller.lab.lab import LabError, check_privileges

    try:
        userns.prepare(sys.argv[1:], args.topology, daemons=not args.static)  # not root
        check_privileges()
    except (LabError, userns.UsernsError) as exc:
        print(f"sl3vpn demo: {exc}")
        return 1
    if userns.inside():
        _say("  (not root: running in a private user + network namespace; nothing outlives it)")
    prefix = f"sl3demo{os.getpid()}"
    _say("sl3vpn demo: Secured L3VPN (draft-rosen-bess-secure-l3vpn) on network namespaces")
    switch = "p4sim" if args.target == "p4sim" else "BMv2 (simple_switch_grpc)"
    p4 = "p4src/cpe_tna.p4" if args.program == "tna" else "p4src/cpe.p4"
    if args.static:
        _say(
            f"  what runs (--static): {p4} on {switch} + the ESP engine per C-PE;\n"
            "  routes and SAs written by the lab (random keys per run); no BGP, no IKE, no RR\n"
            "  daemons."
        )
    else:
        _say(
            f"  what runs: {_nodes(args.topology)}, each with {switch}\n"
            f"  running {p4} and the ESP engine; IKEv2 between all of them, red BGP to\n"
            "  the RRs inside IPsec, VPN routes -> tunnels -> P4 entries; tenant hosts in\n"
            "  namespaces."
        )
    try:
        return _demo(args, prefix)
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    finally:
        if not args.keep:
            from controller.lab.lab import down

            down(prefix, progress=_say)


def _nodes(topology: str) -> str:
    """What the topology runs, e.g. "3 C-PE and 2 RR daemons"."""
    from controller.lab.topology import TopologyError, load_topology

    try:
        topo = load_topology(topology)
    except TopologyError:
        return "the topology's daemons (sl3vpn cpe/rr)"  # lab up names the problem
    found = "; the RRs admit the C-PEs by certificate" if topo.discovery else ""
    return f"{len(topo.cpes)} C-PE and {len(topo.rrs)} RR daemons (sl3vpn cpe/rr{found})"


def _demo(args: argparse.Namespace, prefix: str) -> int:
    from controller.lab.capture import CaptureError
    from controller.lab.checks import new_pattern, ping_matrix
    from controller.lab.lab import plan_of, up
    from controller.lab.topology import TopologyError

    results: list[tuple[str, bool, str]] = []
    pattern = new_pattern()
    tmp = Path(tempfile.mkdtemp(prefix="sl3vpn-demo-"))
    bringup: list[BlackCapture] = []

    def capture_black_links(plan: LabPlan) -> None:
        # From before the first node starts: IKE, BGP and everything else the
        # nodes send while they come up is recorded, not only the pings.
        bringup.extend(_capture(plan, tmp, "up"))
        _say(f"  tcpdump on {len(bringup)} black links from now on (bring-up)")

    t0 = time.monotonic()
    try:
        up(args.topology, prefix, progress=_say, daemons=not args.static,
           after_build=capture_black_links, target=args.target,
           program=args.program)  # fmt: skip
    except (TopologyError, CaptureError, OSError, RuntimeError, ValueError) as exc:
        _stop(bringup)
        shutil.rmtree(tmp, ignore_errors=True)  # no pcap worth keeping
        _say(f"FAIL lab up: {exc}")
        return 1
    _stop(bringup)
    results.append(("lab up", True, f"{time.monotonic() - t0:.1f}s on {args.target}"))
    _state, _topo, plan = plan_of(prefix)
    if args.static:
        _say("step: BGP and IKE - not run (--static); SAs installed by the lab:")
        _show_sas(prefix)
    else:
        _say("step: BGP sessions and SAs (lab up waited for all of them)")
        _show_daemons(prefix, [c.name for c in plan.cpes][:1] + list(plan.rr_ns)[:1])

    caps = _capture(plan, tmp, "ping")
    _say(f"step: ping matrix ({len(plan.hosts())} hosts, IPv4 + IPv6), black links captured")
    try:
        matrix = ping_matrix(plan, pattern)
    finally:
        _stop(caps)
    for r in matrix:
        if not r.ok or r.expect:
            _say("  " + r.line())
    reach = [r for r in matrix if r.expect]
    iso = [r for r in matrix if not r.expect]
    results.append(("same tenant reaches", all(r.ok for r in reach),
                    f"{sum(r.ok for r in reach)}/{len(reach)} pairs"))  # fmt: skip
    results.append(("other tenants isolated", all(r.ok for r in iso),
                    f"{sum(r.ok for r in iso)}/{len(iso)} pairs get no reply"))  # fmt: skip

    for phase, group in (("bring-up", bringup), ("tenant traffic", caps)):
        _say(f"step: black-link captures during {phase}")
        results += _judge(group, pattern, plan, phase)
    _say(f"  (pcaps kept in {tmp})")
    _say("")
    failed = 0
    for name, ok, detail in results:
        failed += not ok
        _say(f"{'PASS' if ok else 'FAIL'}  {name} ({detail})")
    _say(f"sl3vpn demo: {'PASS' if not failed else f'FAIL ({failed} checks failed)'}")
    return 1 if failed else 0


def _capture(plan: LabPlan, tmp: Path, tag: str) -> list[BlackCapture]:
    from controller.lab.capture import BlackCapture

    caps = []
    try:
        for link in [*(c.name for c in plan.cpes), *plan.rr_ns]:
            cap = BlackCapture(plan.underlay_ns, link, tmp / f"{tag}-{link}.pcap")
            cap.__enter__()
            caps.append(cap)
    except BaseException:
        _stop(caps)
        raise
    return caps


def _judge(
    caps: list[BlackCapture], pattern: bytes, plan: LabPlan, phase: str
) -> list[tuple[str, bool, str]]:
    results = []
    for cap in caps:
        v = cap.verdict([pattern])
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(v.kinds.items())) or "nothing"
        _say(f"  {v.link}: {v.frames} frames: {kinds}")
        for bad in v.forbidden[:5]:
            _say(f"    not allowed on a black link: {bad}")
        if v.cleartext:
            _say(f"    tenant payload in cleartext in frames {v.cleartext[:10]}")
        # During the pings a C-PE link must carry them; otherwise silence is fine.
        cpe_link = any(v.link.endswith(f"/{c.name}") for c in plan.cpes)
        carried = v.frames > 0 or phase != "tenant traffic" or not cpe_link
        ok = not v.forbidden and not v.cleartext and carried
        results.append((f"{phase}: black link {v.link} only ESP/IKE/ARP/ND, no cleartext", ok,
                        f"{v.frames} frames"))  # fmt: skip
    return results


def _stop(caps: list[BlackCapture]) -> None:
    for cap in caps:
        cap.__exit__()


def _show_sas(prefix: str) -> None:
    from controller.lab.lab import status

    info = status(prefix)
    nodes = info["nodes"]
    assert isinstance(nodes, dict)
    for node, n in nodes.items():
        sas = n.get("sas", [])
        _say(f"  {node}: {len(sas)} SAs")
        for sa in sas:
            _say(
                f"    {sa['direction']:<3} SPI {sa['spi']} peer {sa['peer']} AES-GCM-128, transport"
            )


def _show_daemons(prefix: str, nodes: list[str]) -> None:
    """`sl3vpn show bgp` and `show sa` of some nodes; the status snapshot if show fails."""
    import json
    import subprocess
    import sys

    from controller.lab.state import run_dir_for

    run_dir = run_dir_for(prefix)
    for node in nodes:
        cfg = run_dir / "configs" / f"{node}.yml"
        for what in ("bgp", "sa"):
            argv = [sys.executable, "-m", "controller", "show", what, "--config", str(cfg)]
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            if proc.returncode == 0:
                _say(f"  $ sl3vpn show {what}   ({node})")
                for line in proc.stdout.rstrip().splitlines():
                    _say(f"    {line}")
                continue
            err = (proc.stderr.strip().splitlines() or ["failed"])[-1]
            _say(f"  {node}: {err}")
            _say(f"  {node}: {what} from the daemon's status snapshot instead:")
            doc = json.loads((run_dir / f"{node}-status.json").read_text())
            if what == "bgp":
                for b in doc.get("bgp", []):
                    _say(f"    neighbor {b['neighbor']:<12} {b['color']:<5} {b['state']:<12} "
                         f"received {b['received']} advertised {b['advertised']}")  # fmt: skip
            else:
                for s in doc.get("sas", {}).get("ike", []):
                    _say(f"    IKE {s['local']} -> {s['remote']} {s['state']}, "
                         f"{s['children']} CHILD_SAs")  # fmt: skip
                for c in doc.get("sas", {}).get("child", []):
                    _say(f"    CHILD_SA {c['name']:<4} peer {c['peer']:<14} {c['mode']:<9} "
                         f"in 0x{c['spi_in']:08x} out 0x{c['spi_out']:08x}")  # fmt: skip
