"""Expression typing and code generation (P4_16 width and sign rules)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from targets.p4sim import types as T
from targets.p4sim.compiler.scope import Scope
from targets.p4sim.compiler.values import Emitter, Val, read
from targets.p4sim.frontend import ast as A
from targets.p4sim.frontend.errors import CompileError, Loc

if TYPE_CHECKING:
    from targets.p4sim.compiler.env import Env


def signed_src(src: str, w: int) -> str:
    return f"_sx({src}, {w})"


class ExprGen:
    env: Env
    em: Emitter
    dead: int  # > 0 while generating code p4c's constant folding removes

    def maybe_dead(self, e: A.Expr, sc: Scope, want: T.P4Type | None, dead: bool) -> Val:
        """An operand p4c folds away is checked, but neither run nor seen by P4Info."""
        if not dead:
            return self.expr(e, sc, want)
        start = len(self.em.lines)
        self.dead += 1
        try:
            return self.expr(e, sc, want)
        finally:
            self.dead -= 1
            del self.em.lines[start:]

    def err(self, loc: Loc, msg: str) -> CompileError:
        return CompileError(loc, msg)

    def width(self, t: T.P4Type, loc: Loc) -> int:
        """Bit width of a type that must have one (bit/int/bool/serializable enum)."""
        if t == T.ERROR:
            return 32
        try:
            return T.width_of(t)
        except TypeError:
            raise self.err(loc, f"{t} has no fixed bit width here") from None

    def need_path(self, v: Val, loc: Loc, what: str = "this expression") -> str:
        """The storage path of an lvalue, or a compile error naming ``what``."""
        if v.path is None:
            raise self.err(loc, f"{what} must be a header, struct or field reference")
        return v.path

    # -- names --------------------------------------------------------------------
    def name(self, e: A.Name, sc: Scope) -> Val:
        v = None if e.dotted else sc.lookup(e.name)
        if v is not None:
            return v
        env = self.env
        if e.name in env.consts:
            ty, c = env.consts[e.name]
            return Val(ty, repr(c), const=c)
        if e.name in env.actions:
            return Val(T.VOID, kind="action", obj=(env.actions[e.name], None))
        if e.name == "error":
            return Val(T.ERROR, kind="errorns")
        if e.name in env.types:
            return Val(env.types[e.name], kind="type")
        if e.name in env.functions:
            return Val(T.VOID, kind="func", obj=env.functions[e.name])
        if e.name in env.extern_functions:
            return Val(T.VOID, kind="extfunc", obj=env.extern_functions[e.name])
        if e.name in env.type_decls:
            return Val(T.VOID, kind="typedecl", obj=env.type_decls[e.name])
        raise self.err(e.loc, f"unknown name {e.name}")

    # -- main entry -----------------------------------------------------------------
    def expr(self, e: A.Expr, sc: Scope, want: T.P4Type | None = None) -> Val:
        v = self._expr(e, sc, want)
        if want is not None and v.type == T.INFINT and isinstance(want, T.BitsT):
            return self.coerce(v, want, e.loc)
        return v

    def _expr(self, e: A.Expr, sc: Scope, want: T.P4Type | None) -> Val:
        if isinstance(e, A.IntLit):
            if e.width is None:
                return Val(T.INFINT, repr(e.value), const=e.value)
            t = T.BitsT(e.width, e.signed)
            if e.signed and not -(1 << (e.width - 1)) <= e.value < (1 << e.width):
                raise self.err(e.loc, f"value {e.value} does not fit in {t}")
            c = e.value & t.mask
            return Val(t, repr(c), const=c)
        if isinstance(e, A.BoolLit):
            return Val(T.BOOL, repr(e.value), const=e.value)
        if isinstance(e, A.StrLit):
            return Val(T.STRING, repr(e.value), const=e.value)
        if isinstance(e, A.Name):
            return self.name(e, sc)
        if isinstance(e, A.Member):
            return self.member(e, sc)
        if isinstance(e, A.Index):
            return self.index(e, sc)
        if isinstance(e, A.Slice):
            return self.slice(e, sc)
        if isinstance(e, A.Call):
            return self.call(e, sc)
        if isinstance(e, A.Unary):
            return self.unary(e, sc)
        if isinstance(e, A.Binary):
            return self.binary(e, sc)
        if isinstance(e, A.Cond):
            cv = self.cond(e.cond, sc)
            # arms fold on their own; the context's bit<W> applies to the result
            arm_want = None if isinstance(want, T.BitsT) else want
            a = self.maybe_dead(e.then, sc, arm_want, cv.is_const and not cv.const)
            bt = a.type if a.type != T.INFINT else arm_want
            b = self.maybe_dead(e.other, sc, bt, cv.is_const and bool(cv.const))
            if a.type == T.INFINT and b.type == T.INFINT:  # p4c too, even if cond is constant
                raise self.err(e.loc, "?: needs a width on at least one of its int arms")
            a, b = self.unify(a, b, e.loc, "?:")
            if cv.is_const:
                return a if cv.const else b
            return Val(a.type, f"({a.src} if {cv.src} else {b.src})")
        if isinstance(e, A.Cast):
            return self.cast(self.env.resolve(e.to), self.expr(e.expr, sc), e.loc)
        if isinstance(e, A.ListExpr):
            items = [self.expr(x, sc) for x in e.items]
            return Val(T.TupleT([i.type for i in items]), items=items, kind="list")
        if isinstance(e, A.StructExpr):
            items = [self.expr(x, sc) for _, x in e.fields]
            return Val(
                T.TupleT([i.type for i in items]),
                items=items,
                names=[n for n, _ in e.fields],
                kind="list",
            )
        if isinstance(e, A.TypeExpr):
            return Val(self.env.resolve(e.ref), kind="type")
        if isinstance(e, A.Default):
            return Val(T.DONTCARE, kind="default")
        raise self.err(e.loc, f"unsupported expression {type(e).__name__}")

    def cond(self, e: A.Expr, sc: Scope) -> Val:
        v = self.expr(e, sc)
        if v.type != T.BOOL:
            raise self.err(e.loc, f"condition must be bool, not {v.type}")
        return v

    # -- conversions ------------------------------------------------------------------
    def coerce(self, v: Val, t: T.P4Type, loc: Loc, what: str = "value") -> Val:
        """Implicit conversion of ``v`` to ``t`` (P4_16 §8.11.2), or a type error."""
        if v.type == t or t == T.DONTCARE:
            return v
        if v.kind == "list" and isinstance(t, T.StructT | T.TupleT):
            return v
        if isinstance(t, T.BitsT) and v.type == T.INFINT:
            c = v.const
            if c is None:
                raise self.err(loc, f"cannot convert a run-time int to {t}")
            if not t.signed and c >= 1 << t.width:
                # p4c warns and truncates; so do we.
                pass
            c &= t.mask
            return Val(t, repr(c), const=c)
        if isinstance(t, T.BitsT) and isinstance(v.type, T.EnumT) and v.type.under == t:
            return Val(t, v.src, const=v.const)
        if isinstance(t, T.EnumT) and isinstance(v.type, T.EnumT) and t.name == v.type.name:
            return v
        if isinstance(t, T.StructT) and isinstance(v.type, T.StructT) and t.name == v.type.name:
            return v
        if T.same_stack(t, v.type):
            return v
        raise self.err(loc, f"cannot use {v.type} as {what} of type {t}")

    def unify(self, a: Val, b: Val, loc: Loc, op: str) -> tuple[Val, Val]:
        if a.type == T.INFINT and isinstance(b.type, T.BitsT):
            a = self.coerce(a, b.type, loc)
        elif b.type == T.INFINT and isinstance(a.type, T.BitsT):
            b = self.coerce(b, a.type, loc)
        elif isinstance(a.type, T.EnumT) and a.type.under is not None and b.type == T.INFINT:
            b = self.coerce(b, a.type.under, loc)
            a = Val(a.type.under, a.src, const=a.const)
        if a.type != b.type:
            same_name = getattr(a.type, "name", None) == getattr(b.type, "name", 0)
            if isinstance(a.type, T.EnumT | T.StructT) and same_name:
                return a, b
            if T.same_stack(a.type, b.type):
                return a, b
            raise self.err(loc, f"operands of {op} have different types: {a.type} and {b.type}")
        return a, b

    def cast(self, t: T.P4Type, v: Val, loc: Loc) -> Val:
        s = v.type
        if s == t:
            return v
        if isinstance(t, T.BitsT):
            if s == T.INFINT:
                return self.coerce(v, t, loc)
            if s == T.BOOL:
                if t.width != 1:
                    raise self.err(loc, f"cannot cast bool to {t}")
                if v.is_const:
                    return Val(t, repr(int(v.const)), const=int(v.const))
                return Val(t, f"int({v.src})")
            if isinstance(s, T.EnumT) and s.under is not None:
                v = Val(s.under, v.src, const=v.const)
                s = s.under
            if isinstance(s, T.BitsT):
                src = v.src
                if s.signed and t.width > s.width:
                    src = signed_src(src, s.width)
                if v.is_const:
                    c = v.const
                    if s.signed and t.width > s.width and c >> (s.width - 1):
                        c -= 1 << s.width
                    c &= t.mask
                    return Val(t, repr(c), const=c)
                if t.width >= s.width and not s.signed:
                    return Val(t, src)
                return Val(t, f"({src} & {t.mask})")
        if t == T.BOOL and isinstance(s, T.BitsT) and s.width == 1:
            if v.is_const:
                return Val(T.BOOL, repr(bool(v.const)), const=bool(v.const))
            return Val(T.BOOL, f"({v.src} == 1)")
        if isinstance(t, T.EnumT) and t.under is not None:
            inner = self.cast(t.under, v, loc)
            return Val(t, inner.src, const=inner.const)
        if isinstance(t, T.StructT) and v.kind == "list":
            return Val(t, items=v.items, names=v.names, kind="list")
        raise self.err(loc, f"cannot cast {s} to {t}")

    # -- operators ------------------------------------------------------------------------
    def field_of(self, v: Val, name: str, loc: Loc) -> Val:
        t = v.type
        assert isinstance(t, T.StructT)
        if name not in t.fields:
            raise self.err(loc, f"{t} has no field {name}")
        ft = t.fields[name]
        if v.kind == "list":
            assert v.items is not None and v.names is not None
            return v.items[v.names.index(name)]
        if v.path is None:
            raise self.err(loc, f"cannot access field {name} of this expression")
        p = f"{v.path}.{name}"
        if isinstance(ft, T.StructT | T.StackT):
            if t.kind == "header_union":
                # a member of `stack.next` remembers the stack: extract advances it
                nxt = v.obj if isinstance(v.obj, tuple) and v.obj[:1] == ("next",) else None
                return Val(ft, path=p, obj=("inunion", v.path, t, nxt, name))
            return Val(ft, path=p)
        return Val(ft, read(p), path=p)

    def member(self, e: A.Member, sc: Scope) -> Val:
        n = e.name
        if n == "apply" and isinstance(e.expr, A.Name) and sc.lookup(e.expr.name) is None:
            blk = self.env.blocks.get(e.expr.name)
            if blk is not None and not blk.ctor_params:
                # P4 lets a parser/control type be applied directly: an instance of it
                # named after the type (p4c's InstantiateDirectCalls, P4Info names too).
                ref = A.TypeRef(e.expr.loc, "name", name=blk.name)
                inst = self.instantiate(A.Instance(e.expr.loc, blk.name, ref, []), sc)  # type: ignore[attr-defined]
                return Val(T.VOID, kind="method", obj=(inst, n))
        base = self.expr(e.expr, sc)
        if base.kind == "errorns":
            if n not in self.env.errors:
                raise self.err(e.loc, f"unknown error {n}")
            c = self.env.errors[n]
            return Val(T.ERROR, repr(c), const=c)
        if base.kind == "type":
            t = base.type
            if isinstance(t, T.EnumT):
                if n not in t.members:
                    raise self.err(e.loc, f"enum {t.name} has no member {n}")
                c = t.members[n]
                return Val(t, repr(c), const=c)
            raise self.err(e.loc, f"type {t} has no member {n}")
        if base.kind == "tableresult":
            if n == "hit":
                return Val(T.BOOL, f"{base.src}[0]")
            if n == "miss":
                return Val(T.BOOL, f"(not {base.src}[0])")
            if n == "action_run":
                return Val(T.VOID, f"{base.src}[1]", kind="action_run", obj=base.obj)
            raise self.err(e.loc, f"table apply result has no member {n}")
        if base.kind in ("table", "inst", "packet", "control", "subparser"):
            return Val(T.VOID, kind="method", obj=(base, n))
        t = base.type
        if isinstance(t, T.StructT):
            if n in t.fields:
                return self.field_of(base, n, e.loc)
            if n in ("isValid", "setValid", "setInvalid", "minSizeInBits", "minSizeInBytes"):
                return Val(T.VOID, kind="method", obj=(base, n))
            raise self.err(e.loc, f"{t} has no field or method {n}")
        if isinstance(t, T.StackT):
            p = self.need_path(base, e.loc, "header stack")
            if n == "next":
                return Val(t.elem, path=f"{p}[{{F['{p}.$n']}}]", kind="val", obj=("next", p, t))
            if n == "last":
                return Val(t.elem, path=f"{p}[{{F['{p}.$n'] - 1}}]", obj=("last", p, t))
            if n == "lastIndex":
                return Val(T.BitsT(32), f"((F['{p}.$n'] - 1) & 0xFFFFFFFF)")
            if n == "nextIndex":
                return Val(T.BitsT(32), f"F['{p}.$n']")
            if n == "size":
                return Val(T.BitsT(32), repr(t.size), const=t.size)
            if n in ("push_front", "pop_front"):
                return Val(T.VOID, kind="method", obj=(base, n))
            raise self.err(e.loc, f"header stack has no member {n}")
        raise self.err(e.loc, f"{t} has no member {n}")

    def index(self, e: A.Index, sc: Scope) -> Val:
        base = self.expr(e.expr, sc)
        idx = self.expr(e.index, sc)
        t = base.type
        if isinstance(t, T.StackT):
            p = base.path
            if idx.is_const:
                if not 0 <= idx.const < t.size:
                    raise self.err(e.loc, f"index {idx.const} out of bounds for {t}")
                return Val(t.elem, path=f"{p}[{idx.const}]")
            return Val(t.elem, path=f"{p}[{{{idx.src}}}]")
        if base.kind == "list" and idx.is_const and base.items is not None:
            return base.items[idx.const]
        if T.is_tuple_storage(t) and idx.is_const:
            assert isinstance(t, T.StructT)
            if str(idx.const) not in t.fields:
                raise self.err(e.loc, f"index {idx.const} out of bounds for {t.name}")
            return self.field_of(base, str(idx.const), e.loc)
        raise self.err(e.loc, f"cannot index a value of type {t}")

    def slice(self, e: A.Slice, sc: Scope) -> Val:
        base = self.expr(e.expr, sc)
        hi, lo = self.expr(e.hi, sc), self.expr(e.lo, sc)
        if not (hi.is_const and lo.is_const):
            raise self.err(e.loc, "slice bounds must be compile-time constants")
        t = base.type
        h, low = int(hi.const), int(lo.const)
        if t == T.INFINT and base.is_const and 0 <= low <= h:
            # a slice of an int constant: its two's complement bits (p4c 1.2.4.8 folds it)
            c = (base.const >> low) & ((1 << (h - low + 1)) - 1)
            return Val(T.BitsT(h - low + 1), repr(c), const=c)
        if not isinstance(t, T.BitsT):
            raise self.err(e.loc, f"cannot slice a value of type {t}")
        if not (0 <= low <= h < t.width):
            raise self.err(e.loc, f"slice [{h}:{low}] out of range for {t}")
        w = h - low + 1
        rt = T.BitsT(w)
        src = f"(({base.src} >> {low}) & {(1 << w) - 1})"
        if base.is_const:
            c = (base.const >> low) & ((1 << w) - 1)
            return Val(rt, repr(c), const=c)
        if base.slice is not None and isinstance(base.obj, Val):
            # a slice of a slice is a slice of the whole value (as an l-value too)
            off = base.slice[1]
            return Val(rt, src, path=base.path, slice=(off + h, off + low), obj=base.obj)
        return Val(rt, src, path=base.path, slice=(h, low), obj=base)

    # implemented by the operator generator (operators.py)
    def unary(self, e: A.Unary, sc: Scope) -> Val:  # overridden
        raise NotImplementedError

    def binary(self, e: A.Binary, sc: Scope) -> Val:  # overridden
        raise NotImplementedError

    # implemented by the statement generator
    def call(self, e: A.Call, sc: Scope, stmt: bool = False) -> Val:  # overridden
        raise NotImplementedError
