"""One corpus case, checked in this process: the code ``sl3vpn p4sim`` runs."""

from __future__ import annotations

import difflib
import re
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from targets.p4sim.corpus.cases import Case

_DIAGNOSTIC = re.compile(r"(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+): error: ")
_P4C_LOCATION = re.compile(r"([\w.+-]+\.p4)\((\d+)\)")


@dataclass(frozen=True)
class Outcome:
    """``status`` is ``pass``, ``fail`` or ``internal`` (a p4sim bug: a traceback,
    an "internal error" diagnostic or a timeout); ``detail`` is one line."""

    status: str
    detail: str = ""
    long: str = ""  # a diff or a longer explanation, for --verbose
    p4c_line: bool | None = None  # error cases: rejected on the line p4c names


def _internal(exc: BaseException) -> Outcome:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return Outcome("internal", f"{type(exc).__name__}: {exc}{where}".splitlines()[0])


def _compile_failure(exc: Exception) -> Outcome:
    text = str(exc).splitlines()[0]
    return Outcome("internal" if "internal error" in text else "fail", text)


def check(case: Case) -> Outcome:
    """Run one case; never raises for what a program or p4sim can do."""
    from targets.p4sim.frontend.errors import CompileError
    from targets.p4sim.program import load

    try:
        try:
            prog = load(case.program)
        except CompileError as exc:
            if case.kind == "error":
                return _rejected(case, str(exc))
            return _compile_failure(exc)
        if case.kind == "error":
            return Outcome("fail", "accepted (p4c rejects it)")
        if case.kind == "stf":
            return _stf(case, prog)
        return _p4info(case, prog)
    except (RecursionError, MemoryError) as exc:
        return Outcome("internal", type(exc).__name__)
    except Exception as exc:  # the corpus is there to find these
        return _internal(exc)


def _stf(case: Case, prog: Any) -> Outcome:
    from targets.p4sim.stf import StfError, run_stf
    from targets.p4sim.switch import Switch

    assert case.data is not None
    try:
        result = run_stf(Switch(prog), case.data.read_text())
    except StfError as exc:
        return Outcome("fail", f"stf: {exc}".splitlines()[0])
    if result.ok:
        return Outcome("pass")
    return Outcome("fail", result.failures[0].splitlines()[0], "\n".join(result.failures))


def canonical_p4info(msg: Any) -> str:
    """Text form with every repeated entity list ordered by id (p4c's order of
    entities is an implementation detail; ids and contents are not)."""
    from finsy.proto import p4i

    out = p4i.P4Info()
    out.CopyFrom(msg)
    for fd in out.DESCRIPTOR.fields:
        if not fd.is_repeated or fd.message_type is None:
            continue
        if fd.message_type.GetOptions().map_entry:
            continue
        items = list(getattr(out, fd.name))
        items.sort(key=lambda m: m.preamble.id if m.HasField("preamble") else 0)
        getattr(out, fd.name).clear()
        getattr(out, fd.name).extend(items)
    from google.protobuf import text_format  # type: ignore[import-untyped]

    text: str = text_format.MessageToString(out)
    return text


def _p4info(case: Case, prog: Any) -> Outcome:
    from finsy.proto import p4i
    from google.protobuf import text_format

    assert case.data is not None
    golden = p4i.P4Info()
    try:
        text_format.Parse(case.data.read_text(), golden)
    except text_format.ParseError as exc:
        return Outcome("fail", f"golden not readable with our P4Info schema: {exc}")
    want, got = canonical_p4info(golden), canonical_p4info(prog.p4info)
    if want == got:
        return Outcome("pass")
    diff = list(difflib.unified_diff(want.splitlines(), got.splitlines(), "p4c", "p4sim", n=2))
    first = next((d for d in diff[2:] if d[:1] in "+-"), "?")
    return Outcome("fail", f"differs: {first.strip()}", "\n".join(diff))


def _rejected(case: Case, message: str) -> Outcome:
    first = message.splitlines()[0]
    if "internal error" in first:
        return Outcome("internal", first)
    m = _DIAGNOSTIC.match(first)
    if m is None or int(m["line"]) < 1:
        return Outcome("fail", f"no file:line:col in {first!r}")
    return Outcome("pass", first, p4c_line=_same_line(case, Path(m["file"]).name, int(m["line"])))


def _same_line(case: Case, file: str, line: int) -> bool | None:
    """Whether p4c's first error (its expected stderr) names the same file and line."""
    stderr = case.program.parent.parent / "p4_16_errors_outputs" / (case.program.name + "-stderr")
    if not stderr.is_file():
        return None
    for text in stderr.read_text(errors="replace").splitlines():
        m = _P4C_LOCATION.search(text)
        if m and "error" in text:
            return (m[1], int(m[2])) == (file, line)
    return None
