"""Resolved P4 types of the checked IR."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class P4Type:
    def __str__(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class BitsT(P4Type):
    width: int
    signed: bool = False

    def __str__(self) -> str:
        return f"{'int' if self.signed else 'bit'}<{self.width}>"

    @property
    def mask(self) -> int:
        return (1 << self.width) - 1


@dataclass(frozen=True)
class VarbitT(P4Type):
    max: int

    def __str__(self) -> str:
        return f"varbit<{self.max}>"


@dataclass(frozen=True)
class SimpleT(P4Type):
    """bool, error, string, void, int (infinite precision), match_kind, _."""

    name: str

    def __str__(self) -> str:
        return self.name


BOOL = SimpleT("bool")
ERROR = SimpleT("error")
STRING = SimpleT("string")
VOID = SimpleT("void")
INFINT = SimpleT("int")
# int values (literals, folded constants) have at most this many bits: arbitrary
# precision, but bounded memory, and Python prints ints of at most 4300 digits
INT_BITS_LIMIT = 4096
MATCH_KIND = SimpleT("match_kind")
DONTCARE = SimpleT("_")


@dataclass(eq=False)
class StructT(P4Type):
    """header / struct / header_union with ordered fields."""

    name: str
    kind: str
    fields: dict[str, P4Type] = field(default_factory=dict)
    annotations: dict[str, list[Any]] = field(default_factory=dict)  # per field @field_list
    # every field's annotations as written (P4Info of a value_set over this struct)
    field_annotations: dict[str, list[Any]] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"

    @property
    def is_header(self) -> bool:
        return self.kind == "header"

    def bit_width(self) -> int:
        total = 0
        for t in self.fields.values():
            if isinstance(t, BitsT):
                total += t.width
            elif isinstance(t, VarbitT):
                pass
            elif isinstance(t, EnumT) and t.under is not None:
                total += t.under.width
            elif t == BOOL:
                total += 1
            elif isinstance(t, StructT):
                total += t.bit_width()
            elif isinstance(t, StackT):
                total += t.size * t.elem.bit_width()
        return total


@dataclass(eq=False)
class StackT(P4Type):
    elem: StructT
    size: int

    def __str__(self) -> str:
        return f"{self.elem.name}[{self.size}]"


@dataclass(eq=False)
class EnumT(P4Type):
    name: str
    members: dict[str, int]
    under: BitsT | None = None

    def __str__(self) -> str:
        return f"enum {self.name}"


@dataclass(eq=False)
class TupleT(P4Type):
    elems: list[P4Type]

    def __str__(self) -> str:
        return "tuple<" + ", ".join(map(str, self.elems)) + ">"


@dataclass(eq=False)
class ObjT(P4Type):
    """Non-value things: externs, tables, actions, controls, parsers, packages."""

    kind: str
    name: str
    decl: Any = None
    args: list[P4Type] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


def tuple_storage(t: TupleT) -> StructT:
    """How a ``tuple<...>`` variable is stored: a struct whose fields are named by
    position ("0", "1", ...), so that ``t[0]`` is its field "0"."""
    return StructT(str(t), "struct", {str(i): e for i, e in enumerate(t.elems)})


def is_tuple_storage(t: P4Type) -> bool:
    return isinstance(t, StructT) and t.kind == "struct" and t.name.startswith("tuple<")


def width_of(t: P4Type) -> int:
    """Bit width of a scalar type (bool = 1, serializable enum = underlying)."""
    if isinstance(t, BitsT):
        return t.width
    if t == BOOL:
        return 1
    if isinstance(t, EnumT) and t.under is not None:
        return t.under.width
    if isinstance(t, StructT):
        return t.bit_width()
    raise TypeError(f"{t} has no fixed bit width")


def same_stack(a: P4Type, b: P4Type) -> bool:
    """Two header stack types are the same type when element type and size are."""
    return (
        isinstance(a, StackT)
        and isinstance(b, StackT)
        and a.size == b.size
        and a.elem.name == b.elem.name
    )
