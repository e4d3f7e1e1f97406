"""What code generation learns about a program's control-plane objects.

These records feed P4Info generation and the construction of run-time
state; they carry fully-qualified P4Info names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from targets.p4sim.frontend import ast as A


@dataclass(frozen=True)
class NewTypeInfo:
    """A ``type`` declaration (P4_16 7.6): P4Info names it (``type_name``) and
    describes it in ``type_info.new_types``."""

    name: str
    annotations: list[A.Annotation]  # @p4runtime_translation
    underlying: Any  # the P4 type it stands for, fully resolved


@dataclass
class ActionInfo:
    fq: str
    params: list[tuple[str, int]]  # (name, bitwidth)
    annotations: list[A.Annotation]
    fn: str = ""  # generated function name
    types: list[Any] = field(default_factory=list)  # P4 types of the params (P4Info type_info)
    new_types: list[NewTypeInfo | None] = field(default_factory=list)  # the params' `type`s


@dataclass
class KeyInfo:
    name: str
    match_kind: str
    width: int
    annotations: list[A.Annotation]
    type: Any = None  # the key expression's P4 type (P4Info type_info)
    new_type: NewTypeInfo | None = None  # the key expression is of a `type` declaration


@dataclass
class TableInfo:
    fq: str
    annotations: list[A.Annotation]
    keys: list[KeyInfo]
    actions: list[tuple[str, str, list[A.Annotation]]]  # (fq action, scope, annotations)
    default_action: tuple[str, tuple[int, ...]]
    const_default: bool
    size: int
    entries: list[tuple[list[Any], str, tuple[int, ...], int | None, Any]] | None
    direct_counter: str | None = None
    direct_meter: str | None = None
    implementation: str | None = None
    idle_timeout: bool = False
    gname: str = ""
    has_entries_prop: bool = False
    const_entries: bool = False
    applied: bool = False  # applied from live code: p4c drops other tables from P4Info
    decl: Any = None  # (declaration, instance prefix): one table object


@dataclass
class ExternInfo:
    kind: str  # counter, direct_counter, meter, direct_meter, register, ...
    fq: str
    annotations: list[A.Annotation]
    size: int = 0
    unit: str = ""  # counter/meter unit
    width: int = 0  # register cell width
    elem_type: Any = None  # register cell P4 type (P4Info type_spec)
    index_width: int = 32
    gname: str = ""
    table: str | None = None  # owner table of direct resources
    tables: list[str] = field(default_factory=list)  # tables using an action profile
    type_name: str = ""
    # value_set over a struct: (field name, bitwidth, annotations) in declaration order
    members: list[tuple[str, int, list[A.Annotation]]] = field(default_factory=list)


@dataclass
class DigestInfo:
    fq: str  # the struct type name
    fields: list[tuple[str, int]]
    annotations: list[A.Annotation] = field(default_factory=list)


@dataclass
class ControllerHeaderInfo:
    name: str  # "packet_in" / "packet_out"
    type_name: str
    fields: list[tuple[str, int, list[A.Annotation]]]
    annotations: list[A.Annotation]
    new_types: list[NewTypeInfo | None] = field(default_factory=list)  # per field
