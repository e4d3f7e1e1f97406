"""Run the open-source Tofino compiler on a TNA program and read the stage count it reports.

The compiler is p4c's Tofino back end (``backends/tofino`` in p4lang/p4c, built by
``targets/tofino/build-compiler``): the ``bf-p4c`` driver (compiler, assembler, logs) or
the bare ``p4c-barefoot`` compiler. Both take the same target/arch/P4Runtime flags; the
driver needs ``--verbose 1`` for its summary logs, the bare compiler ``-T table_summary:1``.

Table placement is written to ``<out>/**/table_summary.log`` (the driver) or to the
compiler's output (``p4c-barefoot -T table_summary:1``) with lines such as
``Number of stages in table allocation: 7`` and
``  Number of stages for ingress table allocation: 7`` (bf-p4c mau/table_summary.cpp);
the last allocation attempt is the one that counts.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# The driver first: it also runs the assembler, so a program that only the
# assembler rejects still fails here.
TOOL_NAMES = ("bf-p4c", "p4c-barefoot")
PREFIX_VARIABLES = ("SL3VPN_TOFINO_PREFIX", "SL3VPN_P4_PREFIX")
TARGET_MACRO = {"tofino": "1", "tofino2": "2"}
# MAU stages per gress. p4c-barefoot exits 0 for a placement that needs more (only
# the assembler, bfas, rejects it: "tofino supports up to 12 stages, using N").
STAGE_LIMIT = {"tofino": 12, "tofino2": 20}

_TOTAL = re.compile(r"Number of stages in table allocation:\s*(\d+)")
_PER_GRESS = re.compile(r"Number of stages for (ingress|egress|ghost) table allocation:\s*(-?\d+)")


class CompilerNotFound(Exception):
    """No Tofino compiler in the given prefix, the prefix variables or PATH."""


@dataclass(frozen=True)
class StageUsage:
    """MAU stages used by the placed program, overall and per gress."""

    total: int
    per_gress: Mapping[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        parts = ", ".join(f"{g} {n}" for g, n in sorted(self.per_gress.items()))
        return f"{self.total} stages" + (f" ({parts})" if parts else "")


@dataclass(frozen=True)
class CompileResult:
    command: tuple[str, ...]
    returncode: int
    output: str  # stdout and stderr, interleaved as the compiler wrote them
    out_dir: Path
    p4info: Path
    stages: StageUsage | None
    stage_limit: int = STAGE_LIMIT["tofino"]

    @property
    def ok(self) -> bool:
        """The compiler succeeded and wrote P4Info (placement length not checked)."""
        return self.returncode == 0 and self.p4info.is_file()

    @property
    def fits(self) -> bool:
        """ok, and the table placement fits the target's stages."""
        return self.ok and self.stages is not None and self.stages.total <= self.stage_limit


def find_compiler(prefix: Path | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """The compiler in PREFIX/bin, $SL3VPN_TOFINO_PREFIX/bin, $SL3VPN_P4_PREFIX/bin or PATH."""
    env = os.environ if env is None else env
    prefixes = [prefix] if prefix is not None else []
    prefixes += [Path(env[v]) for v in PREFIX_VARIABLES if env.get(v)]
    for p in prefixes:
        for name in TOOL_NAMES:
            tool = p / "bin" / name
            if tool.is_file() and os.access(tool, os.X_OK):
                return tool
    for name in TOOL_NAMES:
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return Path(found)
    return None


def compile_command(
    tool: Path,
    program: Path,
    out_dir: Path,
    *,
    target: str = "tofino",
    arch: str = "tna",
    includes: Sequence[Path] = (),
    defines: Mapping[str, str] | None = None,
) -> list[str]:
    """The command line that compiles ``program`` into ``out_dir`` with P4Info as text."""
    if target not in TARGET_MACRO:
        raise ValueError(
            f"unknown Tofino target {target!r} (expected one of {sorted(TARGET_MACRO)})"
        )
    # The bf-p4c driver is Python and imports packaging/jsonschema: build-compiler puts
    # them in PREFIX/venv, so run the driver with that interpreter when it is there.
    venv_python = tool.parent.parent / "venv" / "bin" / "python3"
    cmd = [str(venv_python)] if tool.name == "bf-p4c" and venv_python.is_file() else []
    cmd += [str(tool), "--target", target, "--arch", arch, "-o", str(out_dir)]
    # Standard P4Info messages (counters, not Tofino extern instances) and names
    # without the pipe prefix: what a P4Runtime controller of the v1model program reads.
    cmd += ["--p4runtime-files", str(out_dir / "p4info.txtpb"), "--p4runtime-force-std-externs"]
    if tool.name == "p4c-barefoot":
        cmd += [f"-D__TARGET_TOFINO__={TARGET_MACRO[target]}", "-T", "table_summary:1"]
    else:
        cmd += ["--verbose", "1"]
    cmd += [f"-I{d}" for d in includes]
    cmd += [f"-D{k}={v}" for k, v in (defines or {}).items()]
    cmd.append(str(program))
    return cmd


def parse_stage_usage(log_text: str) -> StageUsage | None:
    """Stages from a table_summary.log; None if it reports no allocation."""
    totals = _TOTAL.findall(log_text)
    if not totals:
        return None
    # Each allocation attempt prints the total then its per-gress lines: keep the last.
    last = log_text.rfind("Number of stages in table allocation:")
    per_gress = {g: int(n) for g, n in _PER_GRESS.findall(log_text[last:])}
    return StageUsage(total=int(totals[-1]), per_gress=per_gress)


def read_stage_usage(out_dir: Path) -> StageUsage | None:
    for log in sorted(out_dir.rglob("table_summary.log")):
        usage = parse_stage_usage(log.read_text(errors="replace"))
        if usage is not None:
            return usage
    return None


def compile_tna(
    program: Path,
    out_dir: Path,
    *,
    tool: Path | None = None,
    target: str = "tofino",
    includes: Sequence[Path] = (),
    defines: Mapping[str, str] | None = None,
    timeout: float = 3600.0,
) -> CompileResult:
    """Compile a TNA program; CompilerNotFound when no compiler is installed."""
    tool = tool or find_compiler()
    if tool is None:
        raise CompilerNotFound(
            f"no {' or '.join(TOOL_NAMES)} in $SL3VPN_TOFINO_PREFIX/bin, "
            "$SL3VPN_P4_PREFIX/bin or PATH"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    cmd = compile_command(tool, program, out_dir, target=target, includes=includes, defines=defines)
    proc = subprocess.run(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout
    )
    return CompileResult(
        command=tuple(cmd),
        returncode=proc.returncode,
        output=proc.stdout,
        out_dir=out_dir,
        p4info=out_dir / "p4info.txtpb",
        # bf-p4c writes table_summary.log; p4c-barefoot's -T table_summary:1 prints it.
        stages=read_stage_usage(out_dir) or parse_stage_usage(proc.stdout),
        stage_limit=STAGE_LIMIT[target],
    )
