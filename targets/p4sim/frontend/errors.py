"""Compile errors carry a source position and print as `file:line:col: error: ...`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Loc:
    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


NOWHERE = Loc("<builtin>", 0, 0)


class CompileError(Exception):
    """A user-caused error in a P4 program (never a bug in p4sim)."""

    def __init__(self, loc: Loc, reason: str) -> None:
        super().__init__(f"{loc}: error: {reason}")
        self.loc = loc
        self.reason = reason
