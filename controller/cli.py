"""The `sl3vpn` command: one entry point, one subcommand per capability.

Each subcommand lives in its own module, which exposes
``add_parser(subparsers) -> None``; the parser it adds sets ``func`` to a
callable taking the parsed arguments and returning the exit code. Modules keep
heavy imports inside their run functions so that ``sl3vpn --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
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
    """Run one subcommand; its exit code (argparse's SystemExit passes through)."""
    try:
        return _run(argv)
    except KeyboardInterrupt:  # Ctrl-C, also while the subcommand modules import
        print("sl3vpn: interrupted", file=sys.stderr)
        return 130


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    name = f"sl3vpn {args.command}"
    try:
        return int(func(args))
    except BrokenPipeError:
        # The reader went away (`| head`): not an error worth a line. Point stdout at
        # /dev/null so the interpreter's final flush does not complain either.
        _discard_stdout()
        return 141  # what a shell reports for a writer ended by SIGPIPE
    # Safety net for what a subcommand did not catch where it happens: one line, no
    # traceback. Each subcommand is expected to name the file and place itself.
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        if exc.filename is None:  # maybe stdout itself (e.g. /dev/full): no 2nd error at exit
            _discard_stdout()
        print(f"{name}: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except UnicodeDecodeError as exc:
        print(f"{name}: input is not UTF-8 text ({exc.reason})", file=sys.stderr)
        return 1


def _discard_stdout() -> None:
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return  # not a real file (captured in tests, or already closed)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
