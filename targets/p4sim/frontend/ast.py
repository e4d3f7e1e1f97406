"""AST of P4_16 programs. Every node carries its source position.

Expression nodes get a ``type`` slot filled in by the checker; the checked
tree is the IR the executor and the P4Info generator consume.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from targets.p4sim.frontend.errors import Loc


@dataclass
class Annotation:
    name: str
    args: list[Any]  # expressions, or raw token texts for unstructured bodies
    loc: Loc


@dataclass
class Node:
    loc: Loc


# ---- type references ------------------------------------------------------
@dataclass
class TypeRef(Node):
    """bit<W>/int<W>/varbit<W>/bool/error/string/int, a named type, T[N], tuple<..>."""

    kind: str  # "bit", "int", "varbit", "bool", "error", "string", "infint", "name",
    # "stack", "tuple", "void", "dontcare", "match_kind"
    width: Expr | None = None
    name: str = ""
    args: list[TypeRef] = field(default_factory=list)  # generic args / tuple elems / stack elem
    size: Expr | None = None


# ---- expressions ----------------------------------------------------------
@dataclass
class Expr(Node):
    def __post_init__(self) -> None:
        self.type: Any = None


@dataclass
class IntLit(Expr):
    value: int
    width: int | None = None
    signed: bool = False
    base: int = 10  # as written (p4c keeps it in key names)


@dataclass
class BoolLit(Expr):
    value: bool


@dataclass
class StrLit(Expr):
    value: str


@dataclass
class Name(Expr):
    name: str
    dotted: bool = False  # `.name` top-level reference


@dataclass
class Member(Expr):
    expr: Expr
    name: str


@dataclass
class Index(Expr):
    expr: Expr
    index: Expr


@dataclass
class Slice(Expr):
    expr: Expr
    hi: Expr
    lo: Expr


@dataclass
class Call(Expr):
    func: Expr
    type_args: list[TypeRef]
    args: list[Expr]
    arg_names: list[str | None] = field(default_factory=list)


@dataclass
class Unary(Expr):
    op: str
    expr: Expr


@dataclass
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass
class Cond(Expr):
    cond: Expr
    then: Expr
    other: Expr


@dataclass
class Cast(Expr):
    to: TypeRef
    expr: Expr


@dataclass
class ListExpr(Expr):
    items: list[Expr]


@dataclass
class StructExpr(Expr):
    fields: list[tuple[str, Expr]]
    type_name: TypeRef | None = None


@dataclass
class TypeExpr(Expr):
    """A type used where an expression is expected (e.g. `bit<8>` in a call)."""

    ref: TypeRef


@dataclass
class Default(Expr):
    """`default` / `_` in select cases and keysets."""


@dataclass
class Mask(Expr):
    value: Expr
    mask: Expr


@dataclass
class RangeExpr(Expr):
    low: Expr
    high: Expr


# ---- statements -----------------------------------------------------------
@dataclass
class Stmt(Node):
    pass


@dataclass
class Assign(Stmt):
    lhs: Expr
    rhs: Expr


@dataclass
class CallStmt(Stmt):
    call: Call


@dataclass
class If(Stmt):
    cond: Expr
    then: Stmt
    other: Stmt | None


@dataclass
class Block(Stmt):
    stmts: list[Stmt]


@dataclass
class Exit(Stmt):
    pass


@dataclass
class Return(Stmt):
    value: Expr | None


@dataclass
class SwitchCase(Node):
    label: Expr | None  # None = default
    body: Block | None  # None = fall through to next case


@dataclass
class Switch(Stmt):
    expr: Expr
    cases: list[SwitchCase]


@dataclass
class Empty(Stmt):
    pass


# ---- declarations ---------------------------------------------------------
@dataclass
class Decl(Node):
    name: str
    annotations: list[Annotation] = field(default_factory=list, kw_only=True)

    def anno(self, name: str) -> Annotation | None:
        return next((a for a in self.annotations if a.name == name), None)


@dataclass
class VarDecl(Decl, Stmt):
    type: TypeRef
    init: Expr | None
    is_const: bool = False


@dataclass
class FieldDecl(Decl):
    type: TypeRef


@dataclass
class StructDecl(Decl):
    kind: str  # "header", "struct", "header_union"
    fields: list[FieldDecl]
    type_params: list[str] = field(default_factory=list)


@dataclass
class TypedefDecl(Decl):
    type: TypeRef
    is_newtype: bool = False


@dataclass
class EnumDecl(Decl):
    members: list[tuple[str, Expr | None]]
    underlying: TypeRef | None = None


@dataclass
class ErrorDecl(Decl):
    members: list[str]


@dataclass
class MatchKindDecl(Decl):
    members: list[str]


@dataclass
class Param(Decl):
    direction: str  # "in", "out", "inout", "" (directionless)
    type: TypeRef
    default: Expr | None = None


@dataclass
class MethodProto(Decl):
    ret: TypeRef | None  # None for constructors
    params: list[Param]
    type_params: list[str] = field(default_factory=list)
    is_abstract: bool = False


@dataclass
class ExternDecl(Decl):
    type_params: list[str]
    methods: list[MethodProto]
    is_function: bool = False


@dataclass
class TypeDeclProto(Decl):
    """parser/control/package type declarations (no body)."""

    kind: str
    params: list[Param]
    type_params: list[str] = field(default_factory=list)


@dataclass
class Instance(Decl, Stmt):
    type: TypeRef
    args: list[Expr]
    arg_names: list[str | None] = field(default_factory=list)  # `name = arg`, else None


@dataclass
class ActionDecl(Decl):
    params: list[Param]
    body: Block


@dataclass
class FunctionDecl(Decl):
    ret: TypeRef
    params: list[Param]
    body: Block


@dataclass
class TableProp(Node):
    name: str
    value: Any  # list[KeyElement] | list[ActionRefAst] | Expr | list[EntryAst]
    is_const: bool = False
    annotations: list[Annotation] = field(default_factory=list)


@dataclass
class KeyElement(Node):
    expr: Expr
    match_kind: str
    annotations: list[Annotation]


@dataclass
class ActionRefAst(Node):
    name: str
    args: list[Expr]
    annotations: list[Annotation]


@dataclass
class EntryAst(Node):
    keyset: list[Expr]
    action: ActionRefAst
    priority: Expr | None
    annotations: list[Annotation]


@dataclass
class TableDecl(Decl):
    props: list[TableProp]

    def prop(self, name: str) -> TableProp | None:
        return next((p for p in self.props if p.name == name), None)


@dataclass
class SelectCase(Node):
    keyset: list[Expr]
    state: str


@dataclass
class Transition(Node):
    select: list[Expr] | None  # None = direct transition
    cases: list[SelectCase]
    state: str = ""


@dataclass
class StateDecl(Decl):
    stmts: list[Stmt]
    transition: Transition | None


@dataclass
class ValueSetDecl(Decl):
    type: TypeRef
    size: Expr


@dataclass
class ParserDecl(Decl):
    params: list[Param]
    ctor_params: list[Param]
    locals: list[Decl]
    states: list[StateDecl]
    type_params: list[str] = field(default_factory=list)


@dataclass
class ControlDecl(Decl):
    params: list[Param]
    ctor_params: list[Param]
    locals: list[Decl]
    body: Block
    type_params: list[str] = field(default_factory=list)


@dataclass
class Program:
    decls: list[Decl]
