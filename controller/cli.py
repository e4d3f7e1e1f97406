"""The `sl3vpn` command: one entry point, one subcommand per capability.

Each subcommand lives in its own module, which exposes
``add_parser(subparsers) -> None``; the parser it adds sets ``func`` to a
callable taking the parsed arguments and returning the exit code. Modules keep
heavy imports inside their run functions so that ``sl3vpn --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

import controller

# Subcommand modules, in the order `sl3vpn --help` lists them.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "controller.demo",
    "controller.ipsec.ike.pki_cli",
    "targets.p4sim.cli",
    "controller.config.cli",
    "controller.app.cli",
    "controller.lab.cli",
    "controller.api.cli",
    "controller.bgp.wire.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sl3vpn",
        description="Secured L3VPN C-PE: data plane, BGP, IKEv2/ESP and the p4sim P4 target.",
    )
    parser.add_argument("--version", action="version", version=f"sl3vpn {controller.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
