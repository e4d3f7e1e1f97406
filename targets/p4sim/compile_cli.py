"""``sl3vpn p4sim compile`` and ``sl3vpn p4sim stf``."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

_MACRO_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _define(text: str) -> str:
    """-D NAME[=VALUE] as cpp takes it; a bad NAME is a usage error, not a cpp message."""
    name = text.partition("=")[0]
    if not _MACRO_NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(f"{text!r}: NAME must be a C identifier")
    return text


def _include_dir(text: str) -> str:
    """-I DIR must exist: a mistyped include path would otherwise only show up as a
    missing #include much later."""
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: not a directory")
    return text


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("program", metavar="PROGRAM.p4")
    p.add_argument(
        "-D", dest="defines", action="append", default=[], metavar="NAME[=VALUE]", type=_define
    )
    p.add_argument(
        "-I", dest="includes", action="append", default=[], metavar="DIR", type=_include_dir
    )


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
        # An empty program has no declaration to point at ("?:0:0"): name the file instead.
        where = args.program if exc.loc.file == "?" else None
        print(f"{where}: error: {exc.reason}" if where else exc, file=sys.stderr)
        return None
    except UnicodeDecodeError as exc:
        # pcpp reads #include files itself and lets the decode error through.
        try:
            Path(args.program).read_bytes().decode()
            what = "a file it #includes"
        except UnicodeDecodeError:
            what = "the program"
        print(f"{args.program}: error: {what} is not UTF-8 text ({exc.reason})", file=sys.stderr)
        return None


def _write(path: str, text: str, program: str) -> bool:
    if Path(path).resolve() == Path(program).resolve():
        print(f"{path}: error: is the program itself; not overwriting it", file=sys.stderr)
        return False
    try:
        Path(path).write_text(text)
    except OSError as exc:
        print(f"{path}: error: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return False
    return True


def run_compile(args: argparse.Namespace) -> int:
    from google.protobuf import text_format  # type: ignore[import-untyped]

    from targets.p4sim.program import Program

    prog = _load(args)
    if not isinstance(prog, Program):
        return 1
    if args.p4info and not _write(
        args.p4info, text_format.MessageToString(prog.p4info), args.program
    ):
        return 1
    if args.emit_python and not _write(args.emit_python, prog.source, args.program):
        return 1
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
    except UnicodeDecodeError as exc:
        print(f"{args.stf}: error: not UTF-8 text ({exc.reason})", file=sys.stderr)
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
