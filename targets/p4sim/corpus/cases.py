"""Which corpus files are v1model cases, and of which kind."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "SL3VPN_P4C_TESTDATA"

_INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]([^>"]+)[>"]', re.MULTILINE)
GOLDEN_SUFFIX = ".p4.p4info.txtpb"


@dataclass(frozen=True)
class Case:
    """One check: ``kind`` is ``stf``, ``p4info`` or ``error``; ``name`` is stable
    across snapshots (the path under testdata/ of the program)."""

    kind: str
    name: str
    program: Path
    data: Path | None  # the .stf, the golden P4Info, or None for an error program

    @property
    def key(self) -> str:
        return f"{self.kind} {self.name}"


def find_testdata(given: str | None = None) -> Path | None:
    """The corpus directory: ``given`` or $SL3VPN_P4C_TESTDATA, either the
    ``testdata`` directory itself or a p4c checkout holding it."""
    text = given or os.environ.get(ENV_VAR)
    if not text:
        return None
    p = Path(text)
    if (p / "testdata" / "p4_16_samples").is_dir():
        return p / "testdata"
    return p if (p / "p4_16_samples").is_dir() else None


def _includes(path: Path, seen: set[Path]) -> set[str]:
    """Base names of every file ``path`` includes, following local includes."""
    if path in seen or not path.is_file():
        return set()
    seen.add(path)
    names: set[str] = set()
    for inc in _INCLUDE.findall(path.read_text(errors="replace")):
        names.add(Path(inc).name)
        names |= _includes(path.parent / inc, seen)
    return names


def is_v1model(program: Path) -> bool:
    return "v1model.p4" in _includes(program, set())


def discover(testdata: Path) -> list[Case]:
    """Every v1model case of the corpus, in a stable order."""
    cases: list[Case] = []
    samples = testdata / "p4_16_samples"
    for stf in sorted(samples.rglob("*.stf")):
        prog = stf.with_suffix(".p4")
        if is_v1model(prog):
            cases.append(Case("stf", str(prog.relative_to(testdata)), prog, stf))
    for golden in sorted((testdata / "p4_16_samples_outputs").glob("*-bmv2" + GOLDEN_SUFFIX)):
        prog = samples / (golden.name[: -len(GOLDEN_SUFFIX)] + ".p4")
        if is_v1model(prog):
            cases.append(Case("p4info", str(prog.relative_to(testdata)), prog, golden))
    for prog in sorted((testdata / "p4_16_errors").glob("*.p4")):
        if is_v1model(prog):
            cases.append(Case("error", str(prog.relative_to(testdata)), prog, None))
    return cases
