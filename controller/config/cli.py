"""`sl3vpn config check FILE...`: validate daemon configuration files."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="work with C-PE / RR configuration files")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = csub.add_parser("check", help="validate configuration files; print ok or the errors")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument(
        "--no-secrets",
        action="store_true",
        help="do not read secrets (env/file): check structure only, e.g. off the device",
    )
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    from controller.config.errors import ConfigError
    from controller.config.loader import load_config

    status = 0
    for name in args.files:
        try:
            cfg = load_config(name, resolve_secrets=not args.no_secrets)
        except ConfigError as exc:
            status = 1
            for line in exc.lines():
                print(line, file=sys.stderr)
            continue
        except RecursionError:
            # PyYAML's scanner recurses per nesting level; the loader lets that through.
            status = 1
            print(f"{name}: YAML nests too deeply", file=sys.stderr)
            continue
        prefix = f"{name}: " if len(args.files) > 1 else ""
        print(f"{prefix}ok ({cfg.node.role} {cfg.node.name})")
    return status
