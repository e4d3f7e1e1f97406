"""Compile a v1model program with ``p4c-bm2-ss``, cached by what determines the output.

The cache key is a SHA-256 over every source file under the program's folder
(path and content), the main file's name, the defines, the compiler's version
line and the flags. An entry is a folder ``<key>/`` holding ``program.json``
(BMv2's device config), ``p4info.txtpb`` and ``warnings.txt``; it is written
to a temporary folder and renamed into place, so concurrent compiles of the
same program (several daemons of a lab) never see a half-written entry.

The cache lives outside the repository: ``$SL3VPN_BMV2_CACHE``, else
``$XDG_CACHE_HOME/sl3vpn/bmv2``, else ``~/.cache/sl3vpn/bmv2``, else a folder
under the system temp dir when the home is not writable.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath

from targets.bmv2.tools import COMPILER, find_tool, tool_env

SOURCE_SUFFIXES = (".p4", ".p4h", ".h")
CACHE_ENV = "SL3VPN_BMV2_CACHE"
FLAGS = ("--arch", "v1model")
COMPILE_TIMEOUT = 600.0


class CompileError(Exception):
    """p4c-bm2-ss rejected the program; the message carries its first error lines."""


@dataclass(frozen=True)
class Artifacts:
    json_path: Path  # BMv2 JSON: the device config pushed over P4Runtime
    p4info_path: Path  # P4Info, protobuf text format
    warnings: str  # the compiler's stderr for a successful compile
    key: str
    cached: bool  # found in the cache rather than compiled now


def default_cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV, "").strip()
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "sl3vpn" / "bmv2"


def program_sources(program: Path) -> dict[str, bytes]:
    """Every source file under the program's folder, by POSIX path relative to it."""
    root = program.parent
    return {
        str(PurePosixPath(*p.relative_to(root).parts)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in SOURCE_SUFFIXES
    }


def cache_key(sources: dict[str, bytes], main: str, defines: dict[str, str], version: str) -> str:
    """The cache key of one compile (pure: no file or process access)."""
    h = hashlib.sha256()

    def part(data: bytes) -> None:  # length-prefixed, so no two inputs run together
        h.update(len(data).to_bytes(8, "big") + data)

    for name in sorted(sources):
        part(name.encode())
        part(sources[name])
    part(main.encode())
    for name in sorted(defines):
        part(f"{name}={defines[name]}".encode())
    part(version.encode())
    part(" ".join(FLAGS).encode())
    return h.hexdigest()[:32]


def compile_argv(
    compiler: Path, program: Path, defines: dict[str, str], json_out: Path, p4info_out: Path
) -> list[str]:
    argv = [str(compiler), *FLAGS, "--p4runtime-files", str(p4info_out), "-o", str(json_out)]
    argv += [f"-D{name}={value}" for name, value in sorted(defines.items())]
    return [*argv, str(program)]


@cache
def _version(compiler: Path, mtime: float) -> str:
    proc = subprocess.run(
        [str(compiler), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        env=tool_env(compiler),
    )
    text = (proc.stdout + proc.stderr).strip()
    return " ".join(text.split()) or f"{compiler} (no version)"


def compiler_version(compiler: Path) -> str:
    """The compiler's ``--version`` output on one line (cached per binary and mtime)."""
    return _version(compiler, compiler.stat().st_mtime)


def compile_program(
    program: Path, defines: dict[str, str] | None = None, cache_dir: Path | None = None
) -> Artifacts:
    """The BMv2 JSON and P4Info of ``program``, from the cache or compiled now."""
    defines = dict(defines or {})
    compiler = find_tool(COMPILER)
    program = program.resolve()
    if not program.is_file():
        raise CompileError(f"{program}: no such P4 program")
    key = cache_key(program_sources(program), program.name, defines, compiler_version(compiler))
    roots = [cache_dir] if cache_dir is not None else [default_cache_dir(), _tmp_cache()]
    for root in roots:
        entry = root / key
        if (entry / "program.json").is_file() and (entry / "p4info.txtpb").is_file():
            return _artifacts(entry, key, cached=True)
        try:
            root.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
        except OSError:
            continue  # an unwritable home (a lab user): try the next place
        try:
            _run_compiler(compiler, program, defines, work)
            with contextlib.suppress(OSError):  # another process won the race: use its entry
                work.rename(entry)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return _artifacts(entry, key, cached=False)
    raise CompileError(f"BMv2 compile cache: none of {', '.join(map(str, roots))} is writable")


def _tmp_cache() -> Path:
    """The fallback cache: it lives as long as the system temp dir."""
    return Path(tempfile.gettempdir()) / f"sl3vpn-bmv2-cache-{os.getuid()}"


def _run_compiler(compiler: Path, program: Path, defines: dict[str, str], work: Path) -> None:
    argv = compile_argv(compiler, program, defines, work / "program.json", work / "p4info.txtpb")
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=COMPILE_TIMEOUT, env=tool_env(compiler)
        )
    except subprocess.TimeoutExpired:
        raise CompileError(f"{program}: {COMPILER} took over {COMPILE_TIMEOUT:g}s") from None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        errors = [ln for ln in lines if "error" in ln.lower()] or lines
        detail = "; ".join(errors[:3]) if errors else f"exit status {proc.returncode}"
        raise CompileError(f"{program}: {COMPILER} failed: {detail}")
    (work / "warnings.txt").write_text(proc.stderr)


def _artifacts(entry: Path, key: str, cached: bool) -> Artifacts:
    warnings = entry / "warnings.txt"
    text = warnings.read_text() if warnings.is_file() else ""
    return Artifacts(entry / "program.json", entry / "p4info.txtpb", text, key, cached)
