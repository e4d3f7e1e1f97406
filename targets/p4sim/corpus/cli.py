"""``python -m targets.p4sim.corpus``: the figures of p4sim against p4c's corpus."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from targets.p4sim.corpus.cases import ENV_VAR, discover, find_testdata
from targets.p4sim.corpus.pool import run_cases
from targets.p4sim.corpus.report import (
    KINDS,
    Report,
    compare,
    read_pass_list,
    write_pass_list,
)


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m targets.p4sim.corpus",
        description="p4sim against p4c's testdata: STF samples, P4Info goldens, error programs",
    )
    p.add_argument("testdata", nargs="?", help=f"p4c's testdata/ (default: ${ENV_VAR})")
    p.add_argument("-j", "--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per case (default 120)")
    p.add_argument("--kind", action="append", choices=KINDS, help="only these kinds of case")
    p.add_argument("-k", dest="match", help="only cases whose name contains this")
    p.add_argument("-v", "--verbose", action="store_true", help="diffs and all STF failures")
    p.add_argument("--expected", type=Path, help="pass list to compare with (exit 1 on regression)")
    p.add_argument("--write-expected", type=Path, metavar="FILE", help="write the pass list")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    testdata = find_testdata(args.testdata)
    if testdata is None:
        where = args.testdata or f"${ENV_VAR}"
        print(f"error: {where}: not p4c's testdata directory (nor a p4c tree)", file=sys.stderr)
        return 2
    cases = [
        c
        for c in discover(testdata)
        if (not args.kind or c.kind in args.kind) and (not args.match or args.match in c.name)
    ]
    report = Report()
    for n, (case, outcome) in enumerate(run_cases(cases, args.jobs, args.timeout), 1):
        report.add(case, outcome)
        if not args.quiet:
            print(f"[{n}/{len(cases)}] {outcome.status:8} {case.key}", file=sys.stderr)
    for line in report.failure_lines(args.verbose):
        print(line)
    for line in report.figures():
        print(line)
    if args.write_expected:
        write_pass_list(args.write_expected, report.passed(), report.figures())
    if args.expected:
        regressions, improvements = compare(report, read_pass_list(args.expected))
        for key in improvements:
            print(f"now passes (update the list): {key}")
        for key in regressions:
            print(f"REGRESSION: {key}")
        return 1 if regressions else 0
    return 0
