"""``python -m targets.tofino PROG.p4 -o DIR``: compile a TNA program, print its stage usage."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from targets.tofino.compiler import TARGET_MACRO, CompilerNotFound, compile_tna, find_compiler


def _define(text: str) -> tuple[str, str]:
    name, _, value = text.partition("=")
    if not name:
        raise argparse.ArgumentTypeError(f"bad -D {text!r}: expected NAME or NAME=VALUE")
    return name, value or "1"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m targets.tofino", description=__doc__)
    p.add_argument("program", type=Path)
    p.add_argument("-o", "--out-dir", type=Path, required=True)
    p.add_argument("-I", dest="includes", type=Path, action="append", default=[])
    p.add_argument("-D", dest="defines", type=_define, action="append", default=[])
    p.add_argument("--target", choices=sorted(TARGET_MACRO), default="tofino")
    p.add_argument("--prefix", type=Path, help="where the compiler is installed (PREFIX/bin)")
    args = p.parse_args(argv)
    if not args.program.is_file():
        print(f"tofino: {args.program}: no such program", file=sys.stderr)
        return 2
    try:
        tool = find_compiler(args.prefix)
        result = compile_tna(
            args.program,
            args.out_dir,
            tool=tool,
            target=args.target,
            includes=args.includes,
            defines=dict(args.defines),
        )
    except CompilerNotFound as exc:
        print(f"tofino: {exc}", file=sys.stderr)
        return 2
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"tofino: running the compiler failed: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(result.output)
    if not result.ok:
        print(
            f"tofino: {args.program}: compilation failed (exit {result.returncode})",
            file=sys.stderr,
        )
        return 1
    if result.stages is None:
        print(f"tofino: {args.program}: the compiler reported no table placement", file=sys.stderr)
        return 1
    if not result.fits:
        print(
            f"tofino: {args.program}: table placement needs {result.stages}; {args.target} "
            f"has {result.stage_limit} per gress (the assembler rejects it)",
            file=sys.stderr,
        )
        return 1
    stages = result.stages
    print(f"tofino: {args.program}: compiled for {args.target}, {stages}; P4Info {result.p4info}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
