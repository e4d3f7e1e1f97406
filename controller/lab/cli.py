"""``sl3vpn lab up TOPOLOGY.yml | status | move NODE ADDRESS | down``: the lab's namespaces."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("lab", help="build, inspect or remove a lab topology (network namespaces)")
    lab = p.add_subparsers(dest="lab_command", metavar="SUBCOMMAND")
    up = lab.add_parser(
        "up",
        help="bring a topology up (as root; otherwise in a private user namespace, "
        "in the foreground)",
    )
    up.add_argument("topology", metavar="TOPOLOGY.yml")
    up.add_argument("--prefix", help="namespace prefix (default sl3-<topology name>)")
    up.add_argument("--timeout", type=float, default=120.0, help="readiness limit, seconds")
    up.add_argument(
        "--daemons",
        action="store_true",
        help="run `sl3vpn cpe`/`sl3vpn rr` (BGP + IKE) in the nodes instead of the lab's "
        "static data plane",
    )
    add_target_option(up)
    up.set_defaults(func=run_up)
    st = lab.add_parser("status", help="processes, SAs and counters of a running lab")
    st.add_argument("--prefix", help="which lab (default: the only one up)")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=run_status)
    mv = lab.add_parser(
        "move",
        help="give a node a new black loopback (mobility): underlay routing, then the daemon",
    )
    mv.add_argument("node")
    mv.add_argument("address", metavar="NEW_BLACK_LOOPBACK")
    mv.add_argument("--prefix", help="which lab (default: the only one up)")
    mv.set_defaults(func=run_move)
    dn = lab.add_parser("down", help="stop a lab's processes and delete its namespaces")
    dn.add_argument("--prefix", help="which lab (default: the only one up)")
    dn.set_defaults(func=run_down)

    def usage(args: argparse.Namespace) -> int:
        p.print_help()
        return 2

    p.set_defaults(func=usage)


def add_target_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--target",
        choices=("p4sim", "bmv2"),
        default="p4sim",
        help="the switch in every node: p4sim (default) or BMv2's simple_switch_grpc "
        "(p4c-bm2-ss and simple_switch_grpc from $SL3VPN_P4_PREFIX/bin or PATH)",
    )
    p.add_argument(
        "--program",
        choices=("v1model", "tna"),
        default="v1model",
        help="the C-PE program: p4src/cpe.p4 (v1model, default) or p4src/cpe_tna.p4 "
        "(TNA, on p4sim with the daemons only)",
    )


def _err(msg: str) -> int:
    print(f"sl3vpn lab: {msg}", file=sys.stderr)
    return 1


NOT_SEEN = (
    " (a lab brought up without root lives in its own namespaces: run this in the "
    "shell `nsenter ...` that its `lab up` printed)"
)


def _which(prefix: str | None) -> str:
    from controller.lab.state import labs

    if prefix:
        return prefix
    try:
        up = labs()
    except PermissionError:
        up = []
    if len(up) == 1:
        return up[0]
    if not up:
        raise LookupError("no lab is up" + (NOT_SEEN if os.geteuid() != 0 else ""))
    raise LookupError(f"several labs are up ({', '.join(up)}): give --prefix")


def run_up(args: argparse.Namespace) -> int:
    from controller.lab import userns
    from controller.lab.lab import up

    try:
        userns.prepare(sys.argv[1:], args.topology, args.daemons)  # not root: re-executes
        state = up(args.topology, args.prefix, timeout=args.timeout, daemons=args.daemons,
                   target=args.target, program=args.program)  # fmt: skip
    except Exception as exc:  # every lab failure is reported as one line
        return _err(str(exc) if str(exc) else type(exc).__name__)
    if userns.inside():
        return _foreground(state.prefix, userns.nsenter_hint())
    return 0


def _foreground(prefix: str, hint: str) -> int:
    """An unprivileged lab exists only in this process tree: keep it until Ctrl-C."""
    from controller.lab.lab import down
    from controller.lab.state import run_dir_for

    print(
        f"lab {prefix} runs in a private user + network namespace, only while this command "
        "runs; Ctrl-C takes it down.\n"
        f"  a shell inside it (sl3vpn lab status, ip netns, ping ...): {hint}",
        flush=True,
    )

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        while (run_dir_for(prefix) / "state.json").exists():  # or `lab down` from inside
            time.sleep(0.5)
    except KeyboardInterrupt:
        down(prefix)
    return 0


def run_status(args: argparse.Namespace) -> int:
    from controller.lab.lab import status

    try:
        info = status(_which(args.prefix))
    except LookupError as exc:
        return _err(str(exc))
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(
        f"lab {info['prefix']} ({info['mode']} data plane on {info['target']}), "
        f"topology {info['topology']}"
    )
    print(f"  namespaces: {len(info['namespaces'])}")  # type: ignore[arg-type]
    nodes = info["nodes"]
    assert isinstance(nodes, dict)
    for node, n in nodes.items():
        state = "running" if n["running"] else "NOT RUNNING"
        print(f"  {node:<8} pid {n['pid']:<8} {state}")
        if info["mode"] == "daemon":
            _daemon_lines(n)
            continue
        for sa in n.get("sas", []):
            tenant = f" tenant {sa['tenant']}" if sa["tenant"] else ""
            udp = " udp-encap" if sa["udp_encap"] else ""
            print(
                f"    SA {sa['sa_index']:>3} {sa['direction']:<3} SPI {sa['spi']} "
                f"peer {sa['peer']}{tenant}{udp}: {sa['packets']} packets, "
                f"{sa['bytes']} bytes, {sa['errors']} errors"
            )
    return 0


def _daemon_lines(n: dict[str, object]) -> None:
    """A daemon's sessions and SAs from its status snapshot (details: `sl3vpn show`)."""
    bgp = n.get("bgp") or []
    sas = n.get("sas") or {}
    assert isinstance(bgp, list) and isinstance(sas, dict)
    up = sum(b.get("state") == "Established" for b in bgp)
    child = sas.get("child", [])
    print(f"    BGP {up}/{len(bgp)} established; IKE SAs {len(sas.get('ike', []))}")
    for c in child:
        print(
            f"    CHILD_SA {c['name']:<10} peer {c['peer']:<15} "
            f"{c['packets_in']}/{c['packets_out']} packets in/out"
        )


def run_move(args: argparse.Namespace) -> int:
    from controller.lab.lab import LabError
    from controller.lab.move import move

    try:
        old, new = move(_which(args.prefix), args.node, args.address)
    except (LookupError, LabError, OSError) as exc:
        return _err(str(exc))
    print(f"{args.node}: black loopback {old} -> {new} (underlay re-routed, daemon told)")
    return 0


def run_down(args: argparse.Namespace) -> int:
    from controller.lab.lab import down

    try:
        prefix = _which(args.prefix)
    except LookupError as exc:
        return _err(str(exc))
    if down(prefix) is None:
        return _err(f"no lab {prefix!r} is up" + (NOT_SEEN if os.geteuid() != 0 else ""))
    return 0
