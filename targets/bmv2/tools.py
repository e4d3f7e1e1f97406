"""Find the reference P4 tools: ``$SL3VPN_P4_PREFIX/bin`` first, then PATH.

The tools are built from source into a prefix outside the repository
(``build-p4-tools``, see the top README). Their shared libraries live in
``PREFIX/lib``; the binaries carry an rpath to it, and children we start also
get it on ``LD_LIBRARY_PATH`` so a prefix that was moved still works.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

PREFIX_ENV = "SL3VPN_P4_PREFIX"
COMPILER = "p4c-bm2-ss"
SWITCH = "simple_switch_grpc"


class ToolMissing(Exception):
    """A tool is not installed; the message names it and where it was looked for."""

    def __init__(self, tool: str, looked: str) -> None:
        super().__init__(f"{tool} not found (looked in {looked})")
        self.tool = tool


def prefix() -> Path | None:
    """The prefix named by SL3VPN_P4_PREFIX, if set and non-empty."""
    value = os.environ.get(PREFIX_ENV, "").strip()
    return Path(value) if value else None


def where_looked() -> str:
    """Both places a tool is searched, for error and skip messages."""
    pre = prefix()
    first = f"{PREFIX_ENV}/bin = {pre / 'bin'}" if pre else f"{PREFIX_ENV} (not set)"
    return f"{first}, then PATH"


def find_tool(name: str) -> Path:
    """The tool's path; ``ToolMissing`` naming it and both places looked otherwise."""
    pre = prefix()
    if pre is not None:
        candidate = pre / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if found is not None:
        return Path(found)
    raise ToolMissing(name, where_looked())


def missing_tools(names: tuple[str, ...] = (COMPILER, SWITCH)) -> list[str]:
    """Messages for each of ``names`` that cannot be found (empty: all present)."""
    missing = []
    for name in names:
        try:
            find_tool(name)
        except ToolMissing as exc:
            missing.append(str(exc))
    return missing


def tool_env(tool: Path) -> dict[str, str]:
    """The environment for running ``tool``: its prefix's lib dir on LD_LIBRARY_PATH."""
    env = dict(os.environ)
    lib = tool.resolve().parent.parent / "lib"
    if lib.is_dir():
        old = env.get("LD_LIBRARY_PATH")
        env["LD_LIBRARY_PATH"] = f"{lib}:{old}" if old else str(lib)
    return env
