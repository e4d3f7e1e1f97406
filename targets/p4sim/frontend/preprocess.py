"""C preprocessing of P4 sources with pcpp, as p4c runs cpp.

The output keeps `#line N "file"` markers so the lexer can report errors at
their original file:line. `<core.p4>` and `<v1model.p4>` resolve to our own
bundled declarations in targets/p4sim/p4include/ after the user's -I paths.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from pcpp import Preprocessor

from targets.p4sim.frontend.errors import CompileError, Loc

BUNDLED_INCLUDE = Path(__file__).resolve().parent.parent / "p4include"


class _Cpp(Preprocessor):
    def __init__(self) -> None:
        super().__init__()
        self.errors: list[tuple[Loc, str]] = []
        self.line_directive = "#line"
        self.passthru_unfound_includes = False

    def on_error(self, file: str, line: int, msg: str) -> None:
        self.errors.append((Loc(str(file), int(line or 0), 1), str(msg).strip()))
        self.return_code += 1

    def on_include_not_found(
        self, is_malformed: bool, is_system_include: bool, curdir: str, includepath: str
    ) -> None:
        src = getattr(self, "source", None) or curdir
        line = getattr(getattr(self, "lastdirective", None), "lineno", 0)
        msg = f"cannot find include file {includepath}"
        self.errors.append((Loc(str(src), int(line or 0), 1), msg))
        self.return_code += 1
        raise _IncludeMissing()

    def on_comment(self, tok: object) -> bool:
        return False  # strip comments

    def on_unknown_macro_in_expr(self, ident: object) -> int:
        return 0  # cpp semantics: unknown identifiers in #if are 0


class _IncludeMissing(Exception):
    pass


def preprocess(
    path: str | os.PathLike[str],
    includes: Sequence[str | os.PathLike[str]] = (),
    defines: Mapping[str, str] | Sequence[str] = (),
) -> str:
    """Preprocess ``path``; raises CompileError naming file:line on failure."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise CompileError(Loc(str(p), 0, 0), f"cannot read program: {exc.strerror}") from None
    cpp = _Cpp()
    for inc in includes:
        cpp.add_path(str(inc))
    cpp.add_path(str(BUNDLED_INCLUDE))
    items = defines.items() if isinstance(defines, Mapping) else (_split_define(d) for d in defines)
    for name, value in items:
        cpp.define(f"{name} {value}")
    out = io.StringIO()
    try:
        cpp.parse(text, source=str(p))
        cpp.write(out)
    except _IncludeMissing:
        pass
    if cpp.errors:
        loc, msg = cpp.errors[0]
        raise CompileError(loc, msg) from None
    return out.getvalue()


def _split_define(d: str) -> tuple[str, str]:
    name, _, value = d.partition("=")
    return name, value if value else "1"
