"""``sl3vpn p4sim``: the p4sim software P4 target.

Subcommands: ``run`` (the switch with its P4Runtime server,
targets/p4sim/runtime/cli.py). The engine adds ``compile`` and ``stf`` here:
one ``add_..._parser(sub)`` call each in :func:`add_parser`. What ``run``
needs from the engine is in targets/p4sim/runtime/README.md (load_program).
"""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from targets.p4sim.compile_cli import add_compile_parser, add_stf_parser
    from targets.p4sim.runtime.cli import add_run_parser

    p = subparsers.add_parser("p4sim", help="the p4sim software P4 target")
    sub = p.add_subparsers(dest="p4sim_command", metavar="SUBCOMMAND")
    add_run_parser(sub)
    add_compile_parser(sub)
    add_stf_parser(sub)

    def usage(args: argparse.Namespace) -> int:
        p.print_help(sys.stderr)  # a usage error: stdout stays for results
        return 2

    p.set_defaults(func=usage)
