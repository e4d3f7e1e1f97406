"""``sl3vpn p4sim run``: the p4sim switch process, with simple_switch_grpc's flags.

    sl3vpn p4sim run [PROGRAM.p4] [--device-id N] [-i PORT@IFACE ...]
                     [--packet-in ipc://PATH] [--pcap [DIR]] [--log-console]
                     [--no-p4] [--thrift-port N] [--trace]
                     [-- --grpc-server-addr HOST:PORT --cpu-port N]

Options BMv2 takes after ``--`` (``--grpc-server-addr``, ``--cpu-port``) are
accepted there and as ordinary options. ``--thrift-port`` is accepted and
ignored (p4sim has no Thrift API).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

DEFAULT_GRPC_ADDR = "0.0.0.0:9559"


def _add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device-id", type=int, default=0)
    p.add_argument(
        "-i", "--interface", action="append", default=[], metavar="PORT@IFACE",
        help="bind switch port PORT to Linux interface IFACE (AF_PACKET); repeatable",
    )  # fmt: skip
    p.add_argument("--packet-in", metavar="ADDR", help="nanomsg PAIR address (ipc://...)")
    p.add_argument("--pcap", nargs="?", const=".", metavar="DIR", help="write per-port pcaps")
    p.add_argument("--log-console", action="store_true", help="log to the console")
    p.add_argument("--no-p4", action="store_true", help="start without a program")
    p.add_argument("--thrift-port", type=int, help="accepted for compatibility; ignored")
    p.add_argument("--trace", action="store_true", help="print a per-packet pipeline trace")
    p.add_argument("--grpc-server-addr", default=DEFAULT_GRPC_ADDR, metavar="HOST:PORT")
    p.add_argument("--cpu-port", type=int, default=None)
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE")


def add_run_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "run",
        help="run the p4sim switch with a P4Runtime server (simple_switch_grpc's flags)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_options(p)
    p.add_argument("program", nargs="?", metavar="PROGRAM.p4", help="P4 program to load at start")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def _target_options(args: argparse.Namespace) -> argparse.Namespace:
    """Parse what follows the program and BMv2's ``--``: the same options again.

    argparse stops option parsing at the first positional of a subcommand, so
    ``PROGRAM.p4 -i 1@veth1 -- --cpu-port 255`` arrives here as a remainder.
    """
    rest = ([args.program] if args.program else []) + [x for x in args.rest if x != "--"]
    again = argparse.ArgumentParser(prog="sl3vpn p4sim run", add_help=False)
    _add_options(again)
    again.add_argument("program", nargs="?")
    args.program = None
    try:
        return again.parse_intermixed_args(rest, namespace=args)
    except SystemExit:
        raise SystemExit(f"sl3vpn p4sim run: cannot parse options: {' '.join(rest)}") from None


def _interfaces(specs: list[str]) -> list[tuple[int, str]]:
    out = []
    for spec in specs:
        num, sep, name = spec.partition("@")
        if not sep or not num.isdigit() or not name:
            raise SystemExit(f"sl3vpn p4sim run: -i {spec!r}: expected PORT@IFACE, e.g. 1@veth1")
        out.append((int(num), name))
    return out


def run(args: argparse.Namespace) -> int:
    args = _target_options(args)
    level = logging.INFO if args.log_console else logging.WARNING
    logging.basicConfig(level=level, stream=sys.stderr, format="p4sim: %(message)s")
    try:
        return asyncio.run(serve(args))
    except (OSError, ValueError) as exc:
        print(f"sl3vpn p4sim run: {exc}", file=sys.stderr)
        return 1


async def serve(args: argparse.Namespace) -> int:
    from targets.p4sim.runtime.bundle import bundle_from_path
    from targets.p4sim.runtime.device import Device
    from targets.p4sim.runtime.loader import load_engine
    from targets.p4sim.runtime.ports import (
        AfPacketPort,
        NanomsgTransport,
        PcapRecorder,
        PortManager,
    )
    from targets.p4sim.runtime.program import ProgramError
    from targets.p4sim.runtime.server import start_server
    from targets.p4sim.runtime.table_gc import TableGc

    device = Device(getattr(args, "loader", None) or load_engine, args.device_id, args.cpu_port)
    if args.program and not args.no_p4:
        defines = dict(d.partition("=")[::2] for d in args.defines)
        try:
            device.load_at_start(bundle_from_path(Path(args.program), defines))
        except (ProgramError, OSError) as exc:
            print(f"sl3vpn p4sim run: {args.program}: {exc}", file=sys.stderr)
            return 1
    # A process of its own: what Writes add to the tables is kept out of GC passes.
    device.after_write = TableGc().after_write
    if args.trace:
        device.tracer = lambda line: print(line, file=sys.stderr, flush=True)
    ports = PortManager(device, PcapRecorder(Path(args.pcap)) if args.pcap else None)
    device.emit = ports.emit
    for number, ifname in _interfaces(args.interface):
        ports.add(number, AfPacketPort(number, ifname))
    if args.packet_in:
        ports.set_default(NanomsgTransport(args.packet_in))
    server, port = await start_server(device, args.grpc_server_addr)
    ports.start()
    host = args.grpc_server_addr.rsplit(":", 1)[0]
    print(f"p4sim: device {args.device_id} serving P4Runtime on {host}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop(0.5)
        ports.close()
    return 0
