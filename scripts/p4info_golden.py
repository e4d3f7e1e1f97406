#!/usr/bin/env python3
"""Regenerate the P4Info golden files of p4src/cpe.p4 with the reference compiler.

    scripts/p4info_golden.py [--check]

For every set of -D defines the project compiles cpe.p4 with (VARIANTS below:
the packet suite and the static lab use none, the daemon passes CPU_PORT and
CRYPTO_PORT from its port roles, tests/p4src also tries other port numbers),
runs ``p4c-bm2-ss`` (from ``$SL3VPN_P4_PREFIX/bin``, else PATH, through
``targets.bmv2``) and stores the P4Info it writes, unchanged, as
p4src/golden/cpe.VARIANT.p4info.txtpb, and prints the compiler's warnings.
``--check`` writes nothing and exits 1 if a golden file is stale.

tests/p4src/test_p4info_golden.py compares p4sim's P4Info with these files on
every run (no tools needed) and, when p4c-bm2-ss is found, with a fresh
compile. Both compare after ordering every entity list by id (``canonical``),
the one freedom P4Runtime gives a P4Info.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from finsy.proto import p4i  # noqa: E402
from google.protobuf import text_format  # noqa: E402

from targets.bmv2 import COMPILER, CompileError, ToolMissing, compile_program  # noqa: E402

PROGRAM = REPO / "p4src" / "cpe.p4"
GOLDEN = REPO / "p4src" / "golden"
VARIANTS: dict[str, dict[str, str]] = {
    "default": {},  # bmv2_tests, the static lab (controller/lab/static_node.py)
    "daemon": {"CPU_PORT": "255", "CRYPTO_PORT": "254"},  # controller/app/switch.py
    "ports192": {"CPU_PORT": "192", "CRYPTO_PORT": "193"},  # tests/p4src/test_program.py
}
# Every repeated field of P4Info whose elements carry a preamble with an id.
_ENTITY_LISTS = (
    "tables", "actions", "action_profiles", "counters", "direct_counters", "meters",
    "direct_meters", "controller_packet_metadata", "value_sets", "registers", "digests",
    "externs",
)  # fmt: skip


def golden_path(variant: str) -> Path:
    return GOLDEN / f"cpe.{variant}.p4info.txtpb"


def parse(text: str) -> p4i.P4Info:
    return text_format.Parse(text, p4i.P4Info())


def canonical(info: p4i.P4Info) -> str:
    """The P4Info as text with every entity list ordered by id."""
    out = p4i.P4Info()
    out.CopyFrom(info)
    for name in _ENTITY_LISTS:
        if not hasattr(out, name):
            continue
        items = sorted(getattr(out, name), key=lambda m: m.preamble.id)
        copies = [type(m)() for m in items]
        for dst, src in zip(copies, items, strict=True):
            dst.CopyFrom(src)
        del getattr(out, name)[:]
        getattr(out, name).extend(copies)
    return str(text_format.MessageToString(out))


def p4sim_p4info(variant: str) -> p4i.P4Info:
    from targets.p4sim.program import load

    defines = [f"{k}={v}" for k, v in VARIANTS[variant].items()]
    return load(PROGRAM, (), defines).p4info


def p4c_p4info(variant: str) -> tuple[str, str]:
    """(P4Info text exactly as p4c wrote it, p4c's warnings).

    ToolMissing when p4c-bm2-ss is not installed, CompileError if it fails.
    """
    art = compile_program(PROGRAM, VARIANTS[variant])
    return art.p4info_path.read_text(), art.warnings


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only report stale golden files")
    args = ap.parse_args()
    stale = 0
    for variant in VARIANTS:
        try:
            text, warnings = p4c_p4info(variant)
        except (ToolMissing, CompileError) as exc:
            print(f"p4info_golden: {exc}", file=sys.stderr)
            return 2
        path = golden_path(variant)
        if warnings.strip():
            print(f"{COMPILER} warnings ({variant}):\n{warnings.rstrip()}")
        if path.is_file() and path.read_text() == text:
            print(f"{path.relative_to(REPO)}: up to date")
        elif args.check:
            print(f"{path.relative_to(REPO)}: stale")
            stale += 1
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"{path.relative_to(REPO)}: written")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
