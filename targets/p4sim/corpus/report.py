"""Figures and lists from a corpus run, and the comparison with a pass list."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from targets.p4sim.corpus.cases import Case
from targets.p4sim.corpus.checks import Outcome

KINDS = ("stf", "p4info", "error")


@dataclass
class Report:
    outcomes: dict[str, tuple[Case, Outcome]] = field(default_factory=dict)

    def add(self, case: Case, outcome: Outcome) -> None:
        self.outcomes[case.key] = (case, outcome)

    def of(self, kind: str) -> list[tuple[Case, Outcome]]:
        return [(c, o) for c, o in self.outcomes.values() if c.kind == kind]

    def passed(self) -> set[str]:
        return {k for k, (_, o) in self.outcomes.items() if o.status == "pass"}

    def internal(self) -> list[tuple[Case, Outcome]]:
        return [(c, o) for c, o in self.outcomes.values() if o.status == "internal"]

    def figures(self) -> list[str]:
        lines = []
        stf, info, err = self.of("stf"), self.of("p4info"), self.of("error")
        if stf:
            lines.append(f"STF:     {_npass(stf)} of {len(stf)} v1model samples pass")
        if info:
            n = _npass(info)
            lines.append(
                f"P4Info:  {n} of {len(info)} goldens identical ({100 * n / len(info):.1f} %)"
            )
        if err:
            same = sum(1 for _, o in err if o.p4c_line)
            lines.append(
                f"Errors:  {_npass(err)} of {len(err)} v1model p4_16_errors programs rejected "
                f"with file:line:col ({same} on the line p4c names)"
            )
        lines.append(f"Internal errors: {len(self.internal())}")
        return lines

    def failure_lines(self, verbose: bool = False) -> list[str]:
        out: list[str] = []
        for kind in KINDS:
            bad = [(c, o) for c, o in self.of(kind) if o.status != "pass"]
            if not bad:
                continue
            out.append(f"-- {kind} failures ({len(bad)})")
            for c, o in sorted(bad, key=lambda co: co[0].name):
                tag = "INTERNAL " if o.status == "internal" else ""
                out.append(f"{c.name}: {tag}{o.detail}")
                if verbose and o.long:
                    out.extend("    " + ln for ln in o.long.splitlines())
        return out


def _npass(items: list[tuple[Case, Outcome]]) -> int:
    return sum(1 for _, o in items if o.status == "pass")


def read_pass_list(path: Path) -> set[str]:
    """``KIND NAME`` per line; ``#`` starts a comment."""
    keys = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            keys.add(" ".join(line.split()))
    return keys


def write_pass_list(path: Path, keys: set[str], header: list[str]) -> None:
    body = [f"# {h}" for h in header] + sorted(keys)
    path.write_text("\n".join(body) + "\n")


def compare(report: Report, expected: set[str]) -> tuple[list[str], list[str]]:
    """(regressions, improvements) among the cases this run checked."""
    ran = set(report.outcomes)
    passed = report.passed()
    return sorted((expected & ran) - passed), sorted(passed - expected)
