"""C preprocessing of P4 sources with pcpp, as p4c runs cpp.

The output keeps `#line N "file"` markers so the lexer can report errors at
their original file:line. `<core.p4>` and `<v1model.p4>` resolve to our own
bundled declarations in targets/p4sim/p4include/ after the user's -I paths.

Only regular files up to ``MAX_SOURCE_BYTES`` are read, the program and every
include alike: `#include "/dev/zero"` would otherwise be read until the kernel
kills the compiler, and a FIFO would block it forever.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from pcpp import Preprocessor

from targets.p4sim.frontend.errors import CompileError, Loc

BUNDLED_INCLUDE = Path(__file__).resolve().parent.parent / "p4include"
# Far above any real P4 program (ours are tens of KiB), far below memory trouble.
MAX_SOURCE_BYTES = 16 * 1024 * 1024
_TOO_LARGE = f"larger than {MAX_SOURCE_BYTES // (1024 * 1024)} MiB"


def _refusal(path: str) -> str | None:
    """Why ``path`` must not be read as P4 source, or None; OSError if it is absent."""
    st = os.stat(path)
    if stat.S_ISDIR(st.st_mode):
        # As cpp: a directory on the include path is skipped, the search goes on.
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    if st.st_size > MAX_SOURCE_BYTES:
        return _TOO_LARGE
    return None


def _read_bounded(handle: IO[str]) -> str:
    # The size was checked before opening; a file growing meanwhile is still cut off.
    data = handle.read(MAX_SOURCE_BYTES + 1)
    if len(data) > MAX_SOURCE_BYTES:
        raise _TooLarge(_TOO_LARGE)
    return data


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

    def on_file_open(self, is_system_include: bool, includepath: str) -> IO[str]:
        # pcpp probes every include path with this hook; OSError means "try the next".
        why = _refusal(includepath)
        if why is None:
            handle = super().on_file_open(is_system_include, includepath)
            try:
                return io.StringIO(_read_bounded(handle))
            except _TooLarge as exc:
                why = str(exc)
            finally:
                handle.close()
        src = getattr(self, "source", None) or includepath
        line = getattr(getattr(self, "lastdirective", None), "lineno", 0)
        msg = f"cannot include {includepath}: {why}"
        self.errors.append((Loc(str(src), int(line or 0), 1), msg))
        self.return_code += 1
        raise _IncludeMissing()

    def on_comment(self, tok: object) -> bool:
        return False  # strip comments

    def on_unknown_macro_in_expr(self, ident: object) -> int:
        return 0  # cpp semantics: unknown identifiers in #if are 0


class _IncludeMissing(Exception):
    """Stops preprocessing at an include that failed (the error is already recorded)."""


class _TooLarge(Exception):
    pass


def preprocess(
    path: str | os.PathLike[str],
    includes: Sequence[str | os.PathLike[str]] = (),
    defines: Mapping[str, str] | Sequence[str] = (),
) -> str:
    """Preprocess ``path``; raises CompileError naming file:line on failure."""
    p = Path(path)
    try:
        why = _refusal(str(p))
        if why is None:
            with p.open() as handle:
                text = _read_bounded(handle)
    except _TooLarge as exc:
        why = str(exc)
    except OSError as exc:
        raise CompileError(Loc(str(p), 0, 0), f"cannot read program: {exc.strerror}") from None
    if why is not None:
        raise CompileError(Loc(str(p), 0, 0), f"cannot read program: {why}")
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
