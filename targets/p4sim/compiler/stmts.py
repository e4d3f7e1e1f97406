"""Statements, actions, tables and controls -> specialised Python functions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from targets.p4sim import types as T
from targets.p4sim.compiler.infos import ActionInfo, ExternInfo, NewTypeInfo, TableInfo
from targets.p4sim.compiler.operators import OperatorGen
from targets.p4sim.compiler.scope import Scope
from targets.p4sim.compiler.values import Emitter, Val, hoist_indexes, key, leaves, read, zero
from targets.p4sim.frontend import ast as A
from targets.p4sim.frontend.errors import Loc


def local_name(d: A.Decl) -> str:
    """The P4Info-visible name of a declaration: its @name, else its own name."""
    a = d.anno("name")
    if a is not None and a.args:
        return str(a.args[0])
    return d.name


def qualify(prefix: str, d: A.Decl) -> str:
    n = local_name(d)
    if n.startswith("."):
        return n[1:]
    return f"{prefix}.{n}" if prefix else n


class StmtGen(OperatorGen):
    """Generates Python source for statements; mixes in with the extern generator."""

    funcs: list[str]
    G: dict[str, Any]
    template: dict[str, Any]
    actions: dict[str, ActionInfo]
    tables: dict[str, TableInfo]
    externs: dict[str, ExternInfo]
    nfunc: int
    root_scope: Scope
    _action_cache: dict[str, ActionInfo]
    _control_cache: dict[str, str]
    _fn_cache: dict[str, str]
    _action_tables: list[tuple[str, TableInfo]]
    _action_decls: dict[str, A.ActionDecl]
    called_actions: set[str]  # actions called from live apply blocks
    readonly: frozenset[str] = frozenset()  # storage roots bound to `in` parameters

    def check_writable(self, v: Val, loc: Loc) -> None:
        """Reject writes to `in` / directionless parameters (P4_16 §6.8)."""
        if v.kind == "pyvar":
            raise self.err(loc, f"cannot assign to read-only parameter {v.src[2:]}")
        p = v.path
        if p is None and isinstance(v.obj, Val):
            p = v.obj.path
        if p is not None and any(
            p == r or p.startswith(r + ".") or p.startswith(r + "[") for r in self.readonly
        ):
            raise self.err(loc, f"cannot write to {p.split('.')[-1]}: it is an 'in' parameter")

    def fresh(self, prefix: str) -> str:
        self.nfunc += 1
        return f"{prefix}{self.nfunc}"

    def alloc(self, t: T.P4Type, path: str) -> None:
        for p, lt in leaves(t, path):
            self.template[p] = zero(lt)

    # -- statements --------------------------------------------------------------------
    def block(self, b: A.Block, sc: Scope) -> None:
        inner = sc.child()
        start = len(self.em.lines)
        for s in b.stmts:
            self.stmt(s, inner)
        if len(self.em.lines) == start:
            self.em("pass")

    def stmt(self, s: A.Stmt, sc: Scope) -> None:
        em = self.em
        if isinstance(s, A.Block):
            self.block(s, sc)
        elif isinstance(s, A.Assign):
            lhs = self.expr(s.lhs, sc)
            if lhs.path is not None and "{" in lhs.path:
                done: dict[str, str] = {}
                lhs = replace(lhs, path=hoist_indexes(lhs.path, em, done))
                if isinstance(lhs.obj, Val) and lhs.obj.path is not None:  # a slice's base
                    lhs.obj = replace(lhs.obj, path=hoist_indexes(lhs.obj.path, em, done))
            rhs = self.expr(s.rhs, sc, lhs.type)
            self.assign(lhs, rhs, s.loc)
        elif isinstance(s, A.CallStmt):
            result = self.call(s.call, sc, stmt=True)
            if result.kind == "val" and result.src and not result.is_const:
                # a function's value is discarded, its side effects are not
                em(result.src)
        elif isinstance(s, A.If):
            c = self.cond(s.cond, sc)
            em(f"if {c.src}:")
            em.indent()
            self.live_or_dead(s.then, sc, not c.is_const or bool(c.const))
            em.dedent()
            if s.other is not None:
                em("else:")
                em.indent()
                self.live_or_dead(s.other, sc, not c.is_const or not c.const)
                em.dedent()
        elif isinstance(s, A.Exit):
            em("raise _Exit()")
        elif isinstance(s, A.Return):
            if s.value is not None:
                ret = sc.lookup("$ret")
                if ret is None:
                    raise self.err(s.loc, "return with a value outside a function")
                v = self.expr(s.value, sc, ret.type if ret else None)
                if ret is not None:
                    v = self.coerce(v, ret.type, s.loc, "return value")
                if ret.path is not None:  # a header/struct result goes through storage
                    self.assign(ret, v, s.loc)
                    em("return")
                else:
                    em(f"return {v.src}")
            else:
                em("return")
        elif isinstance(s, A.Switch):
            self.switch(s, sc)
        elif isinstance(s, A.VarDecl):
            self.var_decl(s, sc)
        elif isinstance(s, A.Instance):
            raise self.err(s.loc, "instantiation is not allowed inside a block")
        elif isinstance(s, A.Empty):
            pass
        else:
            raise self.err(s.loc, f"unsupported statement {type(s).__name__}")

    def sub(self, s: A.Stmt, sc: Scope) -> None:
        start = len(self.em.lines)
        self.stmt(s, sc.child())
        if len(self.em.lines) == start:
            self.em("pass")

    def var_decl(self, s: A.VarDecl, sc: Scope) -> None:
        if s.name in sc.names:
            raise self.err(s.loc, f"{s.name} is already declared in this scope")
        t = self.env.resolve(s.type)
        if s.is_const:
            assert s.init is not None
            v = self.coerce(self.expr(s.init, sc, t), t, s.loc)
            if not v.is_const:
                raise self.err(s.loc, f"constant {s.name} needs a compile-time value")
            sc.names[s.name] = v
            return
        if isinstance(t, T.TupleT):
            t = T.tuple_storage(t)
        if t in (T.INFINT, T.STRING, T.VOID) or isinstance(t, T.ObjT):
            raise self.err(s.loc, f"variables of type {t} are not supported")
        path = f"$l.{sc.prefix}.{s.name}.{self.fresh('')}"
        self.alloc(t, path)
        lv = (
            Val(t, read(path), path=path)
            if not isinstance(t, T.StructT | T.StackT)
            else Val(t, path=path)
        )
        if s.init is not None:
            self.assign(lv, self.expr(s.init, sc, t), s.loc)
        else:
            for p, lt in leaves(t, path):  # BMv2 zeroes uninitialised locals
                self.em(f"F[{key(p)}] = {zero(lt)!r}")
        sc.names[s.name] = lv

    def assign(self, lhs: Val, rhs: Val, loc: Loc) -> None:
        self.check_writable(lhs, loc)
        t = lhs.type
        if lhs.slice is not None:
            hi, lo = lhs.slice
            base = lhs.obj
            assert isinstance(base, Val)
            bpath = self.need_path(base, loc, "sliced value")
            rhs = self.coerce(rhs, t, loc)
            m = ((1 << (hi - lo + 1)) - 1) << lo
            k = key(bpath)
            full = (1 << T.width_of(base.type)) - 1
            self.em(f"F[{k}] = (F[{k}] & {~m & full}) | (({rhs.src} << {lo}) & {m})")
            return
        if isinstance(t, T.StructT | T.StackT):
            self.assign_aggregate(lhs, rhs, loc)
            return
        rhs = self.coerce(rhs, t, loc)
        if lhs.path is not None:
            self.em(f"F[{key(lhs.path)}] = {rhs.src}")
        else:
            raise self.err(loc, "left-hand side of an assignment must be an lvalue")

    def assign_aggregate(self, lhs: Val, rhs: Val, loc: Loc) -> None:
        t = lhs.type
        lpath = self.need_path(lhs, loc, "left-hand side of the assignment")
        if rhs.kind == "list":
            if not isinstance(t, T.StructT) or rhs.items is None:
                raise self.err(loc, f"cannot assign a list to {t}")
            names = rhs.names or list(t.fields)
            if len(rhs.items) != len(t.fields):
                raise self.err(
                    loc, f"initializer has {len(rhs.items)} fields, {t} has {len(t.fields)}"
                )
            if len(names) != len(t.fields) or set(names) != set(t.fields):
                raise self.err(loc, f"initializer does not match the fields of {t}")
            if t.kind == "header":
                self.em(f"F[{key(lpath + '.$v')}] = True")
            for n, item in zip(names, rhs.items, strict=True):
                self.assign(self.field_of(lhs, n, loc), item, loc)
            return
        if rhs.kind == "invalid":
            self.em(f"F[{key(lpath + '.$v')}] = False")
            return
        rhs = self.coerce(rhs, t, loc)
        rpath = self.need_path(rhs, loc, "right-hand side of the assignment")
        for (pd, _), (ps, _) in zip(leaves(t, lpath), leaves(t, rpath), strict=True):
            self.em(f"F[{key(pd)}] = F[{key(ps)}]")

    def switch(self, s: A.Switch, sc: Scope) -> None:
        em = self.em
        if sc.in_action:  # as p4c's BMv2 back end
            raise self.err(s.loc, "switch statements are not supported in actions")
        defaults = [c for c in s.cases if c.label is None]
        if len(defaults) > 1:
            raise self.err(defaults[1].loc, "switch statement has more than one default label")
        sel = self.expr(s.expr, sc)
        tv = em.temp()
        is_action_run = sel.kind == "action_run"
        em(f"{tv} = {sel.src}")
        first = True
        pending: list[str] = []
        for case in s.cases:
            if case.label is None:
                cond = "True"
            elif is_action_run:
                if not isinstance(case.label, A.Name):
                    raise self.err(case.loc, "action_run cases must name actions")
                table: TableInfo = sel.obj
                fq = next(
                    (
                        a
                        for a, _, _ in table.actions
                        if a.split(".")[-1] == case.label.name or a == case.label.name
                    ),
                    None,
                )
                av = sc.lookup(case.label.name)
                if av is not None and av.kind == "action":
                    fq = self.action_fq(av)
                if fq not in {a for a, _, _ in table.actions}:
                    raise self.err(
                        case.label.loc, f"{case.label.name} is not an action of the table"
                    )
                cond = f"{tv} == {fq!r}"
            else:
                lv = self.coerce(self.expr(case.label, sc, sel.type), sel.type, case.loc)
                if not lv.is_const:
                    raise self.err(case.loc, "switch labels must be compile-time constants")
                cond = f"{tv} == {lv.src}"
            pending.append(cond)
            if case.body is None:
                continue
            em(f"{'if' if first else 'elif'} {' or '.join(pending)}:")
            first = False
            pending = []
            em.indent()
            self.block(case.body, sc)
            em.dedent()

    # -- actions ------------------------------------------------------------------------
    def action_fq(self, av: Val) -> str:
        decl, owner = av.obj
        prefix = owner.prefix if owner is not None else ""
        return qualify(prefix, decl)

    def gen_action(self, av: Val, bound: dict[str, Val] | None = None) -> ActionInfo:
        decl, owner = av.obj
        fq = self.action_fq(av)
        cache_key = (
            id(decl),
            id(owner),
            tuple(sorted((bound or {}).items(), key=lambda kv: kv[0])) if bound else (),
        )
        cached = self._action_cache.get(repr(cache_key))
        if cached is not None:
            return cached
        sc = Scope(owner if owner is not None else self.root_scope)
        sc.in_action = True
        params: list[tuple[str, int]] = []
        ptypes: list[T.P4Type] = []
        new_types: list[NewTypeInfo | None] = []
        args = []
        copies: list[tuple[Val, Val, str]] = []  # (argument, the parameter's copy, direction)
        for p in decl.params:
            pt = self.env.resolve(p.type)
            if bound and p.name in bound:
                sc.names[p.name] = local = self.param_copy(p, pt)
                copies.append((bound[p.name], local, p.direction))
                continue
            pn = f"p_{p.name}"
            args.append(pn)
            sc.names[p.name] = Val(pt, pn, kind="pyvar")
            if not p.direction:
                params.append((local_name(p), self.width(pt, p.loc) if pt != T.BOOL else 1))
                ptypes.append(pt)
                new_types.append(self.env.new_type(p.type))
        fn = self.fresh("a_")
        info = ActionInfo(fq, params, decl.annotations, fn, ptypes, new_types)
        self._action_cache[repr(cache_key)] = info
        saved = self.em
        self.em = Emitter()
        self.em.lines.append(f"def {fn}(F{''.join(', ' + a for a in args)}):")
        self.body_with_copies(copies, decl.body, sc, decl.loc)
        self.funcs.append("\n".join(self.em.lines))
        self.em = saved
        return info

    def param_copy(self, p: A.Param, pt: T.P4Type) -> Val:
        """Storage for a parameter's copy (P4_16 6.8 copy-in/copy-out): the body works
        on it, not on the argument, so aliased arguments and exits behave as specified."""
        path = f"$cp.{p.name}.{self.fresh('')}"
        self.alloc(pt, path)
        aggregate = isinstance(pt, T.StructT | T.StackT)
        return Val(pt, path=path) if aggregate else Val(pt, read(path), path=path)

    def body_with_copies(
        self, copies: list[tuple[Val, Val, str]], body: A.Block, sc: Scope, loc: Loc
    ) -> None:
        """Copy in, run ``body``, copy out in parameter order however it ends
        (return, exit); ``copies`` holds (argument, the parameter's copy, direction)."""
        for arg, local, direction in copies:
            if direction == "out":  # uninitialised, as p4sim's locals: zero (headers invalid)
                for lp, lt in leaves(local.type, local.path or ""):
                    self.em(f"F[{key(lp)}] = {zero(lt)!r}")
            else:
                self.assign(local, arg, loc)
        if any(d != "in" for _, _, d in copies):
            self.em("try:")
            self.em.indent()
            self.block(body, sc)
            self.em.dedent()
            self.em("finally:")
            self.em.indent()
            for arg, local, direction in copies:
                if direction != "in":
                    self.assign(arg, local, loc)
            self.em.dedent()
        else:
            self.block(body, sc)

    def spill(self, v: Val, t: T.P4Type, loc: Loc) -> Val:
        """A header/struct/stack passed by value ('in'): a copy in fresh storage (a
        list expression or a function result has no storage of its own)."""
        res = Val(t, path=f"$in.{self.fresh('')}")
        self.alloc(t, res.path or "")
        self.assign(res, v, loc)
        return res

    def live_or_dead(self, s: A.Stmt, sc: Scope, live: bool) -> None:
        """A branch p4c's constant folding removes is still checked and generated, but
        what it applies or calls does not reach P4Info (p4c's dead-code elimination)."""
        self.dead += not live
        try:
            self.sub(s, sc)
        finally:
            self.dead -= not live

    def call_action(self, av: Val, call: A.Call, sc: Scope) -> None:
        decl = av.obj[0]
        if len(call.args) > len(decl.params):
            raise self.err(call.loc, f"too many arguments to action {decl.name}")
        bound: dict[str, Val] = {}
        srcs = []
        for p, a in zip(decl.params, call.args, strict=False):
            pt = self.env.resolve(p.type)
            v = self.coerce(self.expr(a, sc, pt), pt, a.loc, f"argument {p.name}")
            if p.direction in ("out", "inout"):
                if v.path is None:
                    raise self.err(a.loc, f"argument {p.name} must be an lvalue")
                bound[p.name] = v
            elif isinstance(pt, T.StructT | T.StackT):
                bound[p.name] = self.spill(v, pt, a.loc)
            else:
                srcs.append(v.src)
        if len(call.args) < len(decl.params):
            raise self.err(call.loc, f"action {decl.name} needs {len(decl.params)} arguments")
        info = self.gen_action(av, bound or None)
        self.actions.setdefault(info.fq, info)
        self._action_decls[info.fq] = decl
        if not sc.in_action and not self.dead:
            # p4c keeps an action called from an apply block (after removing its
            # directional parameters), so P4Info lists it; calls from actions are inlined.
            self.called_actions.add(info.fq)
        self.em(f"{info.fn}(F{''.join(', ' + s for s in srcs)})")
