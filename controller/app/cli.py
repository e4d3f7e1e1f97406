"""``sl3vpn cpe --config FILE`` and ``sl3vpn rr --config FILE``: run the daemon.

Exit codes: 0 after SIGTERM/SIGINT, 2 for a configuration or start-up problem
(one line naming the file and field), 1 for a failure while running.

The black address (IKE peer) of each red BGP neighbour comes from the
configuration's ``bgp.neighbors[].black_address``; ``--peer-black RED=BLACK``
overrides it per neighbour (or supplies it where the file has none).
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from controller.config import Config

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def add_parser(sub: argparse._SubParsersAction) -> None:
    for role, text in (("cpe", "run a C-PE"), ("rr", "run a red route reflector")):
        p = sub.add_parser(role, help=f"{text} (daemon; see controller/app/README.md)")
        p.add_argument("--config", required=True, metavar="FILE")
        p.add_argument(
            "--peer-black",
            action="append",
            default=[],
            metavar="RED=BLACK",
            help="black loopback of a red BGP neighbour (its IKE peer), overriding "
            "bgp.neighbors[].black_address; repeatable",
        )
        p.add_argument("--black-gateway", metavar="IP", help="default route on the black side")
        p.add_argument(
            "--keep-switch",
            action="store_true",
            help="leave the switch (p4sim or BMv2) and the ESP engine running on exit, so a "
            "restarted daemon adopts them and only reconciles",
        )
        p.add_argument(
            "--run-dir",
            default="/tmp",
            help="where the switch's and the engine's logs and PID files go",
        )
        p.set_defaults(func=run, role=role)


def parse_peer_black(items: list[str]) -> dict[IPAddress, IPAddress]:
    out: dict[IPAddress, IPAddress] = {}
    for item in items:
        red, sep, black = item.partition("=")
        try:
            if not sep:
                raise ValueError("expected RED=BLACK")
            out[ipaddress.ip_address(red)] = ipaddress.ip_address(black)
        except ValueError as exc:
            raise ValueError(f"--peer-black {item!r}: {exc}") from None
    return out


def peer_blacks(cfg: Config, overrides: dict[IPAddress, IPAddress]) -> dict[IPAddress, IPAddress]:
    """Red neighbour -> its black address: the configuration's, then the command line's."""
    out = {
        n.address: n.black_address
        for n in cfg.bgp.neighbors
        if n.type == "red" and n.black_address is not None
    }
    out.update(overrides)
    return out


def missing_black(cfg: Config, peers: dict[IPAddress, IPAddress]) -> str | None:
    """The one-line problem when a red neighbour has no black address, else None."""
    nbrs = cfg.bgp.neighbors
    missing = [str(n.address) for n in nbrs if n.type == "red" and n.address not in peers]
    if not missing:
        return None
    return (
        f"{cfg.source}: bgp.neighbors: no black address known for red neighbour(s) "
        f"{', '.join(missing)} (set bgp.neighbors[].black_address, its IKE peer, "
        "or give --peer-black RED=BLACK)"
    )


def run(args: argparse.Namespace) -> int:
    import asyncio
    from pathlib import Path

    from controller.api.logging import setup_logging
    from controller.api.server import ControlSocketError
    from controller.app.daemon import Daemon, DaemonError
    from controller.app.switch import SwitchError
    from controller.config import ConfigError, load_config

    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return 2
    if cfg.node.role != args.role:
        print(
            f"{args.config}: node.role: is {cfg.node.role}, but this is `sl3vpn {args.role}`",
            file=sys.stderr,
        )
        return 2
    try:
        peers = peer_blacks(cfg, parse_peer_black(args.peer_black))
        gateway = ipaddress.ip_address(args.black_gateway) if args.black_gateway else None
    except ValueError as exc:
        print(f"sl3vpn {args.role}: {exc}", file=sys.stderr)
        return 2
    problem = missing_black(cfg, peers)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    setup_logging(cfg.logging, cfg.node.name)
    base = Path(args.config).resolve().parent
    # The program path in the config is relative to the project (p4src/cpe.p4), as in
    # `sl3vpn config check`; fall back to the working directory, then the package.
    for candidate in (base, Path.cwd(), Path(__file__).resolve().parents[2]):
        launched = cfg.switch.launched
        if launched is None or (candidate / launched.program).is_file():
            base = candidate
            break
    try:
        daemon = Daemon(
            cfg,
            base,
            peers,
            black_gateway=gateway,
            keep_switch=args.keep_switch,
            run_dir=Path(args.run_dir),
            tune_gc=True,
        )
        return asyncio.run(daemon.run())
    except (DaemonError, SwitchError, ControlSocketError, OSError) as exc:
        print(f"sl3vpn {args.role}: {exc}", file=sys.stderr)
        return 2
