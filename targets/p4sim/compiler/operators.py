"""Operators: unary, binary, shifts, concatenation and (aggregate) equality."""

from __future__ import annotations

import operator
from collections.abc import Callable

from targets.p4sim import types as T
from targets.p4sim.compiler.exprs import ExprGen, signed_src
from targets.p4sim.compiler.scope import Scope
from targets.p4sim.compiler.values import Val, read
from targets.p4sim.frontend import ast as A
from targets.p4sim.frontend.errors import Loc

ARITH = {"+", "-", "*", "/", "%", "|+|", "|-|"}
BITWISE = {"&", "|", "^"}
COMPARE = {"<", ">", "<=", ">="}
# / and % of int refuse negative operands (as p4c), so Python's floor division is P4's
INT_OPS: dict[str, Callable[[int, int], int | bool]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.floordiv,
    "%": operator.mod,
    "&": operator.and_,
    "|": operator.or_,
    "^": operator.xor,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


class OperatorGen(ExprGen):
    def unary(self, e: A.Unary, sc: Scope) -> Val:
        # no context type inside: an int operand folds in arbitrary precision first
        v = self.expr(e.expr, sc)
        t = v.type
        if e.op == "!":
            if t != T.BOOL:
                raise self.err(e.loc, f"! needs a bool operand, not {t}")
            if v.is_const:
                return Val(T.BOOL, repr(not v.const), const=not v.const)
            return Val(T.BOOL, f"(not {v.src})")
        if t == T.INFINT:
            if v.const is None:
                raise self.err(e.loc, "values of type int must be compile-time constants")
            if e.op == "~":  # p4c: the complement of an int has no width to complement in
                raise self.err(e.loc, "~ cannot be applied to an int: give it a width (8w0)")
            c = -v.const
            return Val(T.INFINT, repr(c), const=c)
        if not isinstance(t, T.BitsT):
            raise self.err(e.loc, f"{e.op} needs a bit<W>/int<W> operand, not {t}")
        if v.is_const:
            c = (-v.const if e.op == "-" else ~v.const) & t.mask
            return Val(t, repr(c), const=c)
        if e.op == "-":
            return Val(t, f"(-{v.src} & {t.mask})")
        return Val(t, f"({v.src} ^ {t.mask})")

    def binary(self, e: A.Binary, sc: Scope) -> Val:
        op = e.op
        if op in ("&&", "||"):
            a, b = self.cond(e.left, sc), self.cond(e.right, sc)
            if a.is_const and b.is_const:
                c = (a.const and b.const) if op == "&&" else (a.const or b.const)
                return Val(T.BOOL, repr(c), const=c)
            return Val(T.BOOL, f"({a.src} {'and' if op == '&&' else 'or'} {b.src})")
        # The context's type (`want`) is not pushed into the operands: int operands
        # fold in arbitrary precision and are cast only afterwards (P4_16 8.9,
        # 8.11.2), so `t[7:1] == 134 >> 1` compares with 67 as in p4c, not with 3.
        a = self.expr(e.left, sc)
        b = self.expr(e.right, sc, a.type if op not in ("<<", ">>", "++") else None)
        if op == "++":
            return self.concat(a, b, e.loc)
        if op in ("<<", ">>"):
            return self.shift(a, b, op, e.loc)
        aggregate = a.kind == "list" or b.kind == "list" or isinstance(a.type, T.StructT | T.StackT)
        if aggregate and op in ("==", "!="):
            return self.aggregate_eq(a, b, op, e.loc)
        a, b = self.unify(a, b, e.loc, op)
        t = a.type
        if op in ("/", "%") and b.is_const and b.const == 0:
            raise self.err(e.loc, "division by zero" if op == "/" else "modulo by zero")
        if op in ("==", "!="):
            if a.is_const and b.is_const:
                c = (a.const == b.const) == (op == "==")
                return Val(T.BOOL, repr(c), const=c)
            return Val(T.BOOL, f"({a.src} {op} {b.src})")
        if t == T.INFINT:
            return self.int_binary(a, b, op, e.loc)
        if not isinstance(t, T.BitsT):
            raise self.err(e.loc, f"operator {op} cannot be applied to {t}")
        w, m = t.width, t.mask
        sa, sb = a.src, b.src
        if t.signed and op in COMPARE | {"/", "%", "|+|", "|-|"}:
            sa, sb = signed_src(sa, w), signed_src(sb, w)
        if op in COMPARE:
            v = Val(T.BOOL, f"({sa} {op} {sb})")
        elif op in BITWISE:
            v = Val(t, f"({sa} {op} {sb})")
        elif op in ("+", "-", "*"):
            v = Val(t, f"(({sa} {op} {sb}) & {m})")
        elif op in ("/", "%"):
            if t.signed:
                raise self.err(e.loc, f"{op} is not defined on signed values")
            pyop = "//" if op == "/" else "%"
            v = Val(t, f"(({sa} {pyop} {sb}) if {sb} else 0)")
        elif op == "|+|":
            hi, lo = ((1 << (w - 1)) - 1, -(1 << (w - 1))) if t.signed else (m, 0)
            v = Val(t, f"(max({lo}, min({hi}, {sa} + {sb})) & {m})")
        elif op == "|-|":
            hi, lo = ((1 << (w - 1)) - 1, -(1 << (w - 1))) if t.signed else (m, 0)
            v = Val(t, f"(max({lo}, min({hi}, {sa} - {sb})) & {m})")
        else:
            raise self.err(e.loc, f"unknown operator {op}")
        if a.is_const and b.is_const:
            c = eval(v.src, {"_sx": _sx})  # folding our own generated arithmetic
            return Val(v.type, repr(c), const=c)
        return v

    def int_binary(self, a: Val, b: Val, op: str, loc: Loc) -> Val:
        """An operator on two int values, folded in arbitrary precision (P4_16 8.9.1)."""
        if a.const is None or b.const is None:
            raise self.err(loc, "values of type int must be compile-time constants")
        if op in ("|+|", "|-|"):
            raise self.err(loc, f"{op} needs operands with a width, not int")
        if op in ("/", "%") and (a.const < 0 or b.const < 0):
            what = "division" if op == "/" else "modulo"
            raise self.err(loc, f"{what} is not defined for negative int values")
        if op not in INT_OPS:
            raise self.err(loc, f"operator {op} cannot be applied to int")
        c = INT_OPS[op](a.const, b.const)
        if op in COMPARE:
            return Val(T.BOOL, repr(c), const=c)
        return self.int_val(c, loc)

    def int_val(self, c: int, loc: Loc) -> Val:
        if c.bit_length() > T.INT_BITS_LIMIT:
            raise self.err(loc, f"int constant of {c.bit_length()} bits: too large to fold")
        return Val(T.INFINT, repr(c), const=c)

    def shift(self, a: Val, b: Val, op: str, loc: Loc) -> Val:
        if a.type == T.INFINT and b.const is None:  # p4c infers no width from the context
            raise self.err(loc, "width of the left operand of a shift needs to be specified")
        if b.type == T.INFINT:
            if b.const is None or b.const < 0:
                raise self.err(loc, "shift amount must be a non-negative constant or unsigned")
        elif not (isinstance(b.type, T.BitsT) and not b.type.signed):
            raise self.err(loc, f"shift amount must be unsigned, not {b.type}")
        t = a.type
        if t == T.INFINT:
            if a.const is None or b.const is None:
                raise self.err(loc, "values of type int must be compile-time constants")
            if op == "<<" and a.const and b.const > T.INT_BITS_LIMIT:
                raise self.err(loc, f"int shifted left by {b.const} bits: too large to fold")
            return self.int_val(a.const << b.const if op == "<<" else a.const >> b.const, loc)
        if not isinstance(t, T.BitsT):
            raise self.err(loc, f"cannot shift a value of type {t}")
        if op == "<<":
            src = (
                f"(({a.src} << {b.src}) & {t.mask})"
                if b.const is None or b.const < t.width
                else "0"
            )
        elif t.signed:
            src = f"({signed_src(a.src, t.width)} >> {b.src} & {t.mask})"
        else:
            src = f"({a.src} >> {b.src})"
        if a.is_const and b.is_const:
            c = eval(src, {"_sx": _sx})
            return Val(t, repr(c), const=c)
        return Val(t, src)

    def concat(self, a: Val, b: Val, loc: Loc) -> Val:
        for v in (a, b):
            if not isinstance(v.type, T.BitsT):
                raise self.err(loc, f"++ needs bit<W>/int<W> operands, not {v.type}")
        assert isinstance(a.type, T.BitsT) and isinstance(b.type, T.BitsT)
        t = T.BitsT(a.type.width + b.type.width, a.type.signed)
        src = f"(({a.src} << {b.type.width}) | {b.src})"
        if a.is_const and b.is_const:
            c = (a.const << b.type.width) | b.const
            return Val(t, repr(c), const=c)
        return Val(t, src)

    def aggregate_eq(self, a: Val, b: Val, op: str, loc: Loc) -> Val:
        if a.kind != "list" and b.kind != "list":
            src = self.eq_src(a, b, loc)
            return Val(T.BOOL, src if op == "==" else f"(not {src})")
        la, lb = self.flatten(a, loc), self.flatten(b, loc)
        if len(la) != len(lb):
            raise self.err(loc, f"cannot compare {a.type} with {b.type}")
        parts = [
            f"{x.src} == {self.coerce(y, x.type, loc).src}" for x, y in zip(la, lb, strict=True)
        ]
        src = "(" + " and ".join(parts or ["True"]) + ")"
        return Val(T.BOOL, src if op == "==" else f"(not {src})")

    def eq_src(self, a: Val, b: Val, loc: Loc) -> str:
        """Equality of two values of one type: headers are equal when both are invalid,
        or both valid with equal fields (P4_16 spec, header equality)."""
        t = a.type
        if isinstance(t, T.StackT) and a.path is not None and b.path is not None:
            parts = [
                self.eq_src(
                    Val(t.elem, path=f"{a.path}[{i}]"), Val(t.elem, path=f"{b.path}[{i}]"), loc
                )
                for i in range(t.size)
            ]
        elif isinstance(t, T.StructT) and a.path is not None and b.path is not None:
            parts = [
                self.eq_src(self.field_of(a, n, loc), self.field_of(b, n, loc), loc)
                for n in t.fields
            ]
            if t.kind == "header":
                va, vb = read(a.path + ".$v"), read(b.path + ".$v")
                return f"({va} == {vb} and (not {va} or {' and '.join(parts) or 'True'}))"
        else:
            la, lb = self.flatten(a, loc), self.flatten(b, loc)
            parts = [
                f"{x.src} == {self.coerce(y, x.type, loc).src}" for x, y in zip(la, lb, strict=True)
            ]
        return "(" + (" and ".join(parts) or "True") + ")"

    def flatten(self, v: Val, loc: Loc, split_varbit: bool = True) -> list[Val]:
        """Scalar members of a value (list expression, struct/header path or scalar);
        a varbit field is its bits and its length unless ``split_varbit`` is false."""
        if v.kind == "list":
            out: list[Val] = []
            for i in v.items or []:
                out.extend(self.flatten(i, loc, split_varbit))
            return out
        if isinstance(v.type, T.StructT) and v.path is not None:
            out = []
            for n, _ft in v.type.fields.items():
                out.extend(self.flatten(self.field_of(v, n, loc), loc, split_varbit))
            return out
        if isinstance(v.type, T.VarbitT) and v.path is not None and split_varbit:
            return [
                Val(T.BitsT(v.type.max), read(v.path)),
                Val(T.BitsT(32), read(v.path + ".$len")),
            ]
        if isinstance(v.type, T.StackT) and v.path is not None:
            st = v.type
            return [
                x
                for i in range(st.size)
                for x in self.flatten(Val(st.elem, path=f"{v.path}[{i}]"), loc, split_varbit)
            ]
        return [v]

    # -- members, indices, slices ------------------------------------------------------------


def _sx(v: int, w: int) -> int:
    """Two's-complement value of a w-bit unsigned pattern."""
    return v - (1 << w) if v >> (w - 1) & 1 else v
