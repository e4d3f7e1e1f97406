"""Global environment: declared types, constants, errors, enums, externs.

Resolves type references to P4Types and folds compile-time constants; errors
name the position of the offending source.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from targets.p4sim import types as T
from targets.p4sim.compiler.infos import NewTypeInfo
from targets.p4sim.frontend import ast as A
from targets.p4sim.frontend.errors import CompileError, Loc

# Folds a constant expression in a bit<W> context (or none): the expression generator's
# (gen.fold_const), handed in so that this module does not import the generator.
ConstFolder = Callable[["Env", A.Expr, "T.BitsT | None"], Any]


class Env:
    def __init__(self, program: A.Program, fold: ConstFolder) -> None:
        self.program = program
        self._fold = fold
        self.decls: dict[str, A.Decl] = {}
        self.types: dict[str, T.P4Type] = {}
        self.consts: dict[str, tuple[T.P4Type, Any]] = {}
        self.errors: dict[str, int] = {}
        self.match_kinds: set[str] = set()
        self.actions: dict[str, A.ActionDecl] = {}
        self.functions: dict[str, A.FunctionDecl] = {}
        self.externs: dict[str, A.ExternDecl] = {}
        self.extern_functions: dict[str, A.ExternDecl] = {}
        self.blocks: dict[str, A.ParserDecl | A.ControlDecl] = {}
        self.type_decls: dict[str, A.Decl] = {}
        self.instances: list[A.Instance] = []
        self._pending: dict[str, A.Decl] = {}
        for d in program.decls:
            self._declare(d)

    def _declare(self, d: A.Decl) -> None:
        if isinstance(d, A.ErrorDecl):
            for m in d.members:
                self.errors.setdefault(m, len(self.errors))
            return
        if isinstance(d, A.MatchKindDecl):
            self.match_kinds.update(d.members)
            return
        if isinstance(d, A.ExternDecl) and d.is_function:
            self.extern_functions[d.name] = d  # overloads: last one wins; arity checked at call
            return
        if isinstance(d, A.ActionDecl):
            self.actions[d.name] = d
            return
        if isinstance(d, A.FunctionDecl):
            self.functions[d.name] = d
            return
        if isinstance(d, A.Instance):
            self.instances.append(d)
            return
        if isinstance(d, A.VarDecl):
            if not d.is_const:
                raise CompileError(d.loc, f"global variable {d.name} must be const")
            ty = self.resolve(d.type)
            assert d.init is not None
            self.consts[d.name] = (ty, self.const_value(d.init, ty))
            return
        if d.name in self.types or d.name in self.type_decls:
            prev = self.type_decls.get(d.name)
            if not (isinstance(d, A.TypeDeclProto) and isinstance(prev, A.TypeDeclProto)):
                raise CompileError(d.loc, f"{d.name} is already declared")
        self.type_decls[d.name] = d
        if isinstance(d, A.ExternDecl):
            self.externs[d.name] = d
        elif isinstance(d, A.ParserDecl | A.ControlDecl):
            self.blocks[d.name] = d
        elif isinstance(d, A.StructDecl | A.TypedefDecl | A.EnumDecl):
            self.types[d.name] = self._build_type(d)

    def _build_type(self, d: A.Decl) -> T.P4Type:
        if isinstance(d, A.StructDecl):
            st = T.StructT(d.name, d.kind)
            for f in d.fields:
                if f.name in st.fields:
                    raise CompileError(f.loc, f"duplicate field {f.name} in {d.name}")
                ft = self.resolve(f.type)
                scalar = isinstance(ft, T.BitsT | T.VarbitT | T.EnumT) or ft == T.BOOL
                if d.kind == "header" and not (scalar or _bits_struct(ft)):
                    raise CompileError(f.loc, f"header field {f.name} cannot have type {ft}")
                if d.kind == "header_union" and not (isinstance(ft, T.StructT) and ft.is_header):
                    raise CompileError(f.loc, f"header_union member {f.name} must be a header")
                st.fields[f.name] = ft
                st.field_annotations[f.name] = list(f.annotations)
                fl = f.anno("field_list")
                if fl is not None:
                    st.annotations[f.name] = fl.args
            return st
        if isinstance(d, A.TypedefDecl):
            return self.resolve(d.type)
        assert isinstance(d, A.EnumDecl)
        under = None
        if d.underlying is not None:
            u = self.resolve(d.underlying)
            if not isinstance(u, T.BitsT):
                raise CompileError(d.loc, f"enum {d.name} underlying type must be bit<W>/int<W>")
            under = u
        members: dict[str, int] = {}
        for i, (name, val) in enumerate(d.members):
            if under is not None:
                if val is None:
                    raise CompileError(d.loc, f"serializable enum member {name} needs a value")
                members[name] = self.const_value(val, under)
            else:
                members[name] = i
        return T.EnumT(d.name, members, under)

    # -- types ----------------------------------------------------------------
    def new_type(self, ref: A.TypeRef) -> NewTypeInfo | None:
        """The ``type`` declaration ``ref`` names, through typedefs; p4sim erases new
        types to what they stand for, P4Info names them."""
        seen: set[str] = set()
        while ref.kind == "name" and ref.name not in seen:
            seen.add(ref.name)
            d = self.type_decls.get(ref.name)
            if not isinstance(d, A.TypedefDecl):
                return None
            if d.is_newtype:
                renamed = d.anno("name")
                name = str(renamed.args[0]) if renamed is not None and renamed.args else d.name
                return NewTypeInfo(name, d.annotations, self.types[d.name])
            ref = d.type
        return None

    def field_new_type(self, t: T.P4Type, field: str) -> NewTypeInfo | None:
        """The ``type`` declaration a struct/header field was declared with."""
        d = self.type_decls.get(t.name) if isinstance(t, T.StructT) else None
        if not isinstance(d, A.StructDecl):
            return None
        f = next((f for f in d.fields if f.name == field), None)
        return self.new_type(f.type) if f is not None else None

    def resolve(self, ref: A.TypeRef, generics: dict[str, T.P4Type] | None = None) -> T.P4Type:
        k = ref.kind
        if k in ("bit", "int", "varbit"):
            assert ref.width is not None
            w = self.const_value(ref.width, T.INFINT)
            if not isinstance(w, int) or w <= 0 or w > 4096:
                raise CompileError(ref.loc, f"invalid width {w} for {k}")
            return T.VarbitT(w) if k == "varbit" else T.BitsT(w, k == "int")
        simple = {
            "bool": T.BOOL,
            "error": T.ERROR,
            "string": T.STRING,
            "void": T.VOID,
            "infint": T.INFINT,
            "match_kind": T.MATCH_KIND,
            "dontcare": T.DONTCARE,
        }
        if k in simple:
            return simple[k]
        if k == "stack":
            assert ref.size is not None
            elem = self.resolve(ref.args[0], generics)
            if not isinstance(elem, T.StructT) or elem.kind not in ("header", "header_union"):
                raise CompileError(ref.loc, f"header stack element must be a header, not {elem}")
            n = self.const_value(ref.size, T.INFINT)
            return T.StackT(elem, int(n))
        if k == "tuple":
            return T.TupleT([self.resolve(a, generics) for a in ref.args])
        if generics and ref.name in generics:
            return generics[ref.name]
        if ref.name in self.types:
            return self.types[ref.name]
        if ref.name in self.type_decls:
            d = self.type_decls[ref.name]
            kind = "extern" if isinstance(d, A.ExternDecl) else getattr(d, "kind", "block")
            if isinstance(d, A.ParserDecl):
                kind = "parser"
            elif isinstance(d, A.ControlDecl):
                kind = "control"
            return T.ObjT(kind, ref.name, d, [self.resolve(a, generics) for a in ref.args])
        raise CompileError(ref.loc, f"unknown type {ref.name}")

    # -- constants --------------------------------------------------------------
    def const_value(self, e: A.Expr, ty: T.P4Type) -> Any:
        """Fold a compile-time constant expression; `ty` gives the width context."""
        # Typed by the expression generator, so bit<W> operations wrap at W and int
        # ones fold in arbitrary precision before their implicit cast (P4_16 8.9).
        v = self._fold(self, e, ty if isinstance(ty, T.BitsT) else None)
        if isinstance(ty, T.BitsT) and isinstance(v, int) and not isinstance(v, bool):
            return v & ty.mask
        return v

    def error_loc(self, loc: Loc, msg: str) -> CompileError:
        return CompileError(loc, msg)


def _bits_struct(t: T.P4Type) -> bool:
    """A struct of bit-like fields (nested such structs included): P4 allows it in a header."""
    if not isinstance(t, T.StructT) or t.kind != "struct":
        return False
    return all(
        isinstance(ft, T.BitsT | T.EnumT) or ft == T.BOOL or _bits_struct(ft)
        for ft in t.fields.values()
    )
