"""``sl3vpn p4sim compile`` and ``sl3vpn p4sim stf``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("program", metavar="PROGRAM.p4")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]")
    p.add_argument("-I", dest="includes", action="append", default=[], metavar="DIR")


def add_compile_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("compile", help="check a P4 program and write its P4Info")
    _common(p)
    p.add_argument("--p4info", metavar="OUT.txtpb", help="write P4Info in protobuf text format")
    p.add_argument("--emit-python", metavar="OUT.py", help="write the generated Python")
    p.set_defaults(func=run_compile)


def add_stf_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("stf", help="run a p4c-style STF test against a program")
    _common(p)
    p.add_argument("stf", metavar="TEST.stf")
    p.add_argument("-v", "--verbose", action="store_true", help="print a trace per packet")
    p.set_defaults(func=run_stf_cmd)


def _load(args: argparse.Namespace) -> object | None:
    from targets.p4sim.frontend.errors import CompileError
    from targets.p4sim.program import load

    try:
        return load(args.program, args.includes, args.defines)
    except CompileError as exc:
        print(exc, file=sys.stderr)
        return None


def run_compile(args: argparse.Namespace) -> int:
    from google.protobuf import text_format  # type: ignore[import-untyped]

    from targets.p4sim.program import Program

    prog = _load(args)
    if not isinstance(prog, Program):
        return 1
    if args.p4info:
        Path(args.p4info).write_text(text_format.MessageToString(prog.p4info))
    if args.emit_python:
        Path(args.emit_python).write_text(prog.source)
    return 0


def run_stf_cmd(args: argparse.Namespace) -> int:
    from targets.p4sim.program import Program
    from targets.p4sim.stf import StfError, run_stf
    from targets.p4sim.switch import Switch

    prog = _load(args)
    if not isinstance(prog, Program):
        return 1
    try:
        text = Path(args.stf).read_text()
    except OSError as exc:
        print(f"{args.stf}: error: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        result = run_stf(Switch(prog), text, print if args.verbose else None)
    except StfError as exc:
        print(f"{args.stf}: error: {exc}", file=sys.stderr)
        return 1
    for f in result.failures:
        print(f"{args.stf}: FAIL {f}", file=sys.stderr)
    if result.ok:
        print(f"{args.stf}: PASS ({result.packets} packets, {result.expects} expects)")
        return 0
    return 1
