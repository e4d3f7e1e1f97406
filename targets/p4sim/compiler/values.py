"""Compile-time values of the code generator and the storage layout.

Packet state at run time is one dict ``F`` of flat keys: ``hdr.ipv4.ttl``
for a field, ``hdr.ipv4.$v`` for a header's validity, ``hdr.mpls.$n`` for a
stack's next index, ``hdr.opt.data.$len`` for a varbit's current length.
A storage path may contain ``{python-expr}`` pieces (dynamic stack indices);
such paths are emitted as f-strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from targets.p4sim import types as T


@dataclass
class Val:
    type: T.P4Type
    src: str = ""  # Python expression of a scalar value
    const: Any = None  # folded compile-time value, if known
    path: str | None = None  # storage path of an lvalue / aggregate
    items: list[Val] | None = None  # list / struct expression members
    names: list[str] | None = None  # struct expression field names
    kind: str = "val"  # val | type | errorns | action | func | method | table | inst | ...
    obj: Any = None
    slice: tuple[int, int] | None = None  # (hi, lo) for slice lvalues

    @property
    def is_const(self) -> bool:
        return self.const is not None


def _segments(path: str) -> list[tuple[str, bool]]:
    """A storage path as (text, is_index_expression) pieces: ``{EXPR}`` is a dynamic
    stack index (Python source, itself possibly holding braces)."""
    out: list[tuple[str, bool]] = []
    text, i = "", 0
    while i < len(path):
        if path[i] != "{":
            text += path[i]
            i += 1
            continue
        depth, j = 1, i + 1
        while depth:
            depth += {"{": 1, "}": -1}.get(path[j], 0)
            j += 1
        if text:
            out.append((text, False))
        out.append((path[i + 1 : j - 1], True))
        text, i = "", j
    if text:
        out.append((text, False))
    return out


def key(path: str) -> str:
    """Python source of the dict key for a storage path.

    The key of a path with dynamic indexes is a concatenation, not an f-string:
    an index that itself reads a dynamic path would nest f-strings with the same
    quotes, which Python 3.11 rejects.
    """
    if "{" not in path:
        return repr(path)
    parts = [f"str({x})" if is_expr else repr(x) for x, is_expr in _segments(path)]
    return "(" + " + ".join(parts) + ")"


def hoist_indexes(path: str, em: Emitter, done: dict[str, str]) -> str:
    """``path`` with each dynamic stack index computed now into a temporary (P4
    evaluates an assignment's left-hand side before its right-hand side)."""
    out = ""
    for x, is_expr in _segments(path):
        if not is_expr:
            out += x
            continue
        if x not in done:
            done[x] = em.temp()
            em(f"{done[x]} = {x}")
        out += "{" + done[x] + "}"
    return out


def read(path: str) -> str:
    if "{" in path:  # dynamic stack index: out-of-range reads give 0 rather than failing
        return f"F.get({key(path)}, 0)"
    return f"F[{key(path)}]"


def leaves(t: T.P4Type, path: str) -> list[tuple[str, T.P4Type]]:
    """Scalar storage slots of a value of type ``t`` stored at ``path``."""
    if isinstance(t, T.StructT):
        out: list[tuple[str, T.P4Type]] = []
        if t.kind == "header":
            out.append((path + ".$v", T.BOOL))
        for name, ft in t.fields.items():
            out.extend(leaves(ft, f"{path}.{name}"))
        return out
    if isinstance(t, T.StackT):
        out = [(path + ".$n", T.INFINT)]
        for i in range(t.size):
            out.extend(leaves(t.elem, f"{path}[{i}]"))
        return out
    if isinstance(t, T.VarbitT):
        return [(path, t), (path + ".$len", T.INFINT)]
    return [(path, t)]


def zero(t: T.P4Type) -> Any:
    return False if t == T.BOOL else 0


def headers_in(t: T.P4Type, path: str) -> list[tuple[str, T.StructT]]:
    """All header instances (incl. stack elements and union members) under ``path``."""
    out: list[tuple[str, T.StructT]] = []
    if isinstance(t, T.StructT):
        if t.kind == "header":
            return [(path, t)]
        for name, ft in t.fields.items():
            out.extend(headers_in(ft, f"{path}.{name}"))
    elif isinstance(t, T.StackT):
        for i in range(t.size):
            out.extend(headers_in(t.elem, f"{path}[{i}]"))
    return out


@dataclass
class Emitter:
    lines: list[str] = field(default_factory=list)
    depth: int = 1
    ntemp: int = 0

    def __call__(self, line: str) -> None:
        self.lines.append("    " * self.depth + line)

    def temp(self) -> str:
        self.ntemp += 1
        return f"_t{self.ntemp}"

    def indent(self) -> Emitter:
        self.depth += 1
        return self

    def dedent(self) -> None:
        self.depth -= 1

    def __enter__(self) -> Emitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.depth -= 1
