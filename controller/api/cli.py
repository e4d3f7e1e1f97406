"""`sl3vpn show vrf|routes|bgp|sa|tunnels|tables|counters|drops|metrics [--json] [--socket PATH]`.

``show metrics`` prints what the daemon's Prometheus endpoint would serve,
through the control socket (handy where the HTTP listener is off).

The socket is, in order: ``--socket``, ``$SL3VPN_SOCKET``, the
``control_socket`` of ``--config FILE``, ``/run/sl3vpn/NODE.sock`` for
``--node NODE``, or the only socket in /run/sl3vpn. Exit 0 on success, 1 when
the daemon is not running or answers with an error (one line on stderr).
"""

from __future__ import annotations

import argparse
import glob
import math
import os
import sys

from controller.api.source import SHOW_KINDS

RUN_DIR = "/run/sl3vpn"
ENV_SOCKET = "SL3VPN_SOCKET"
MAX_TIMEOUT = 86400  # seconds; a reply that takes longer than a day is not coming


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "show",
        help="show a running daemon's VRFs, routes, BGP, SAs, tunnels, tables, counters, drops",
        description="Ask a running C-PE or RR daemon over its control socket.",
    )
    kinds = (*SHOW_KINDS, "metrics")
    p.add_argument("what", choices=kinds, metavar="WHAT", help="one of: " + ", ".join(kinds))
    p.add_argument("--json", action="store_true", help="print the data as JSON")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--socket", metavar="PATH", help=f"control socket (default: ${ENV_SOCKET}, ...)"
    )
    where.add_argument(
        "--config", metavar="FILE", help="take control_socket from this daemon config"
    )
    where.add_argument(
        "--node", metavar="NAME", type=_node, help=f"the daemon of this node: {RUN_DIR}/NAME.sock"
    )
    p.add_argument("--vrf", help="routes: only this VRF")
    p.add_argument("--family", choices=("ipv4", "ipv6"), help="routes: only this address family")
    p.add_argument(
        "--timeout", type=_timeout, default=10.0, metavar="SECONDS", help="reply timeout"
    )
    p.set_defaults(func=run_show)


def _timeout(text: str) -> float:
    """A positive, finite number of seconds (the socket refuses anything else)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a number of seconds") from None
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT:
        # The socket layer takes nanoseconds in 64 bits: 1e10 s would overflow there.
        raise argparse.ArgumentTypeError(
            f"{text!r}: must be a positive number of seconds, at most {MAX_TIMEOUT}"
        )
    return value


def _node(text: str) -> str:
    """A node name, not a path: it only selects a socket inside RUN_DIR."""
    if not text or "/" in text or "\0" in text or text in (".", ".."):
        raise argparse.ArgumentTypeError(f"{text!r}: not a node name")
    return text


class SocketNotFound(LookupError):
    pass


def socket_path(args: argparse.Namespace) -> str:
    if args.socket:
        return str(args.socket)
    if os.environ.get(ENV_SOCKET):
        return os.environ[ENV_SOCKET]
    if args.config:
        from controller.config import ConfigError, load_config

        try:
            return load_config(args.config, resolve_secrets=False).control_socket_path
        except ConfigError as exc:
            raise SocketNotFound(exc.lines()[0]) from None
        except OSError as exc:
            raise SocketNotFound(f"{args.config}: {exc.strerror or exc}") from None
    if args.node:
        return f"{RUN_DIR}/{args.node}.sock"
    found = sorted(glob.glob(f"{RUN_DIR}/*.sock"))
    if len(found) == 1:
        return found[0]
    if not found:
        raise SocketNotFound(
            f"daemon not running: no control socket in {RUN_DIR} (or give --socket PATH)"
        )
    names = ", ".join(os.path.basename(f).removesuffix(".sock") for f in found)
    raise SocketNotFound(
        f"several daemons run here ({names}): choose one with --node NAME or --socket PATH"
    )


def run_show(args: argparse.Namespace) -> int:
    from controller.api import client
    from controller.api.protocol import ReplyError
    from controller.api.render import RenderError, render, to_json

    if (args.vrf or args.family) and args.what != "routes":
        print(f"sl3vpn show {args.what}: --vrf and --family apply to routes only", file=sys.stderr)
        return 2
    try:
        path = socket_path(args)
        params = {"vrf": args.vrf, "family": args.family} if args.what == "routes" else {}
        if args.what == "metrics":
            exposition = client.metrics(path, timeout=args.timeout)
            text = to_json(exposition) if args.json else exposition
        else:
            data = client.show(path, args.what, timeout=args.timeout, **params)
            text = to_json(data) if args.json else render(args.what, data)
    except (SocketNotFound, client.DaemonNotRunning, ReplyError, RenderError) as exc:
        print(f"sl3vpn show {args.what}: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0
