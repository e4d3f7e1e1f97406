"""Statements, actions, tables and controls -> specialised Python functions."""

from __future__ import annotations

from typing import Any

from targets.p4sim import types as T
from targets.p4sim.compiler.exprs import ExprGen
from targets.p4sim.compiler.infos import ActionInfo, ExternInfo, KeyInfo, TableInfo
from targets.p4sim.compiler.scope import Scope
from targets.p4sim.compiler.values import Emitter, Val, key, leaves, read, zero
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


def unparse(e: A.Expr) -> str:
    """Source text of a key expression as p4c writes it into P4Info."""
    if isinstance(e, A.Name):
        return e.name
    if isinstance(e, A.Member):
        return f"{unparse(e.expr)}.{e.name}"
    if isinstance(e, A.Index):
        return f"{unparse(e.expr)}[{unparse(e.index)}]"
    if isinstance(e, A.IntLit):
        return str(e.value)
    if isinstance(e, A.Slice):
        return f"{unparse(e.expr)}[{unparse(e.hi)}:{unparse(e.lo)}]"
    if isinstance(e, A.Call) and isinstance(e.func, A.Member) and e.func.name == "isValid":
        return f"{unparse(e.func.expr)}.$valid$"
    if isinstance(e, A.Call):
        return f"{unparse(e.func)}()"
    if isinstance(e, A.Binary):
        return f"{unparse(e.left)} {e.op} {unparse(e.right)}"
    if isinstance(e, A.Cast):
        return unparse(e.expr)
    return "key"


class StmtGen(ExprGen):
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

    def glob(self, obj: Any, prefix: str) -> str:
        n = self.fresh(prefix)
        self.G[n] = obj
        return n

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
            rhs = self.expr(s.rhs, sc, lhs.type)
            self.assign(lhs, rhs, s.loc)
        elif isinstance(s, A.CallStmt):
            self.call(s.call, sc, stmt=True)
        elif isinstance(s, A.If):
            c = self.cond(s.cond, sc)
            em(f"if {c.src}:")
            em.indent()
            self.sub(s.then, sc)
            em.dedent()
            if s.other is not None:
                em("else:")
                em.indent()
                self.sub(s.other, sc)
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
                if fq is None:
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
        args = []
        for p in decl.params:
            pt = self.env.resolve(p.type)
            if bound and p.name in bound:
                sc.names[p.name] = bound[p.name]
                continue
            pn = f"p_{p.name}"
            args.append(pn)
            sc.names[p.name] = Val(pt, pn, kind="pyvar")
            if not p.direction:
                params.append(
                    (local_name(p), T.width_of(pt) if not isinstance(pt, T.SimpleT) else 1)
                )
        fn = self.fresh("a_")
        info = ActionInfo(fq, params, decl.annotations, fn)
        self._action_cache[repr(cache_key)] = info
        saved = self.em
        self.em = Emitter()
        self.em.lines.append(f"def {fn}(F{''.join(', ' + a for a in args)}):")
        self.block(decl.body, sc)
        self.funcs.append("\n".join(self.em.lines))
        self.em = saved
        return info

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
            else:
                srcs.append(v.src)
        if len(call.args) < len(decl.params):
            raise self.err(call.loc, f"action {decl.name} needs {len(decl.params)} arguments")
        info = self.gen_action(av, bound or None)
        self.em(f"{info.fn}(F{''.join(', ' + s for s in srcs)})")

    # -- tables -------------------------------------------------------------------------
    def gen_table(self, d: A.TableDecl, sc: Scope) -> Val:
        fq = qualify(sc.prefix, d)
        keys: list[KeyInfo] = []
        key_srcs: list[str] = []
        selector_vals: list[Val] = []
        kp = d.prop("key")
        fem = Emitter()
        saved = self.em
        self.em = fem
        fn = self.fresh("t_")
        fem.lines.append(f"def {fn}(F):")
        for k in kp.value if kp else []:
            v = self.expr(k.expr, sc)
            if k.match_kind not in self.env.match_kinds:
                raise self.err(k.loc, f"unknown match kind {k.match_kind}")
            if k.match_kind == "selector":
                selector_vals.append(v)
                continue
            if v.type == T.BOOL:
                src, w = f"int({v.src})", 1
            elif isinstance(v.type, T.BitsT | T.EnumT) or v.type == T.ERROR:
                src = v.src
                w = T.width_of(v.type) if v.type != T.ERROR else 32
            else:
                raise self.err(k.loc, f"table key cannot have type {v.type}")
            name = unparse(k.expr)
            ka = next((a for a in k.annotations if a.name == "name"), None)
            if ka is not None and ka.args:
                name = str(ka.args[0])
            keys.append(KeyInfo(name, k.match_kind, w, k.annotations))
            key_srcs.append(src)
        ap = d.prop("actions")
        if ap is None:
            raise self.err(d.loc, f"table {d.name} has no actions property")
        act_vals: dict[str, tuple[Val, ActionInfo]] = {}
        actions: list[tuple[str, str, list[A.Annotation]]] = []
        for ref in ap.value:
            av = sc.lookup(ref.name) or self.name(A.Name(ref.loc, ref.name), sc)
            if av.kind != "action":
                raise self.err(ref.loc, f"{ref.name} is not an action")
            info = self.gen_action(av)
            self.actions.setdefault(info.fq, info)
            self._action_decls[info.fq] = av.obj[0]
            names = {a.name for a in ref.annotations}
            scope = (
                "DEFAULT_ONLY"
                if "defaultonly" in names
                else ("TABLE_ONLY" if "tableonly" in names else "TABLE_AND_DEFAULT")
            )
            actions.append((info.fq, scope, ref.annotations))
            act_vals[ref.name] = (av, info)
            act_vals[info.fq] = (av, info)
        dp = d.prop("default_action")
        if dp is not None:
            ref = dp.value
            if ref.name not in act_vals:
                raise self.err(
                    ref.loc, f"default action {ref.name} is not in the actions of {d.name}"
                )
            default = (act_vals[ref.name][1].fq, self.const_args(act_vals[ref.name], ref, sc))
        else:
            # p4c's default: NoAction, added to the table's actions as @defaultonly.
            if "NoAction" not in act_vals:
                na = self.name(A.Name(d.loc, "NoAction", dotted=True), sc)
                info_na = self.gen_action(na)
                self.actions.setdefault(info_na.fq, info_na)
                self._action_decls[info_na.fq] = na.obj[0]
                actions.append((info_na.fq, "DEFAULT_ONLY", []))
                act_vals["NoAction"] = (na, info_na)
            default = ("NoAction", ())
        size_p = d.prop("size")
        size = int(self.expr(size_p.value, sc).const) if size_p else 1024
        entries = None
        ep = d.prop("entries")
        if ep is not None:
            entries = []
            for i, ent in enumerate(ep.value):
                if len(ent.keyset) != len(keys):
                    raise self.err(
                        ent.loc, f"entry has {len(ent.keyset)} keys, table has {len(keys)}"
                    )
                ks = [self.keyset_value(x, ki, sc) for x, ki in zip(ent.keyset, keys, strict=True)]
                if ent.action.name not in act_vals:
                    raise self.err(
                        ent.action.loc, f"{ent.action.name} is not an action of {d.name}"
                    )
                pv = self.expr(ent.priority, sc).const if ent.priority is not None else None
                pa = next((a for a in ent.annotations if a.name == "priority"), None)
                if pa is not None:
                    pv = int(pa.args[0])
                entries.append(
                    (
                        ks,
                        act_vals[ent.action.name][1].fq,
                        self.const_args(act_vals[ent.action.name], ent.action, sc),
                        pv if pv is not None else None,
                    )
                )
                del i
        tinfo = TableInfo(
            fq,
            d.annotations,
            keys,
            actions,
            default,
            bool(dp and dp.is_const),
            size,
            entries,
        )
        tinfo.has_entries_prop = ep is not None
        tinfo.const_entries = ep is not None and ep.is_const
        for prop_name, attr in (("counters", "direct_counter"), ("meters", "direct_meter")):
            p = d.prop(prop_name)
            if p is not None:
                iv = self.expr(p.value, sc)
                if iv.kind != "inst":
                    raise self.err(p.loc, f"{prop_name} must name a direct extern instance")
                ext: ExternInfo = iv.obj
                ext.table = fq
                setattr(tinfo, attr, ext.fq)
        ip = d.prop("implementation")
        prof: ExternInfo | None = None
        if ip is not None:
            pv = self.expr(ip.value, sc)
            if pv.kind != "inst" or pv.obj.kind not in ("action_profile", "action_selector"):
                raise self.err(ip.loc, "implementation must name an action_profile/action_selector")
            prof = pv.obj
            assert prof is not None
            if prof.table is None:
                prof.table = fq
            prof.tables.append(fq)
            tinfo.implementation = prof.fq
            if selector_vals and prof.kind != "action_selector":
                raise self.err(ip.loc, "selector keys need an action_selector")
        st = d.prop("support_timeout")
        tinfo.idle_timeout = bool(st and self.expr(st.value, sc).const)
        tg = self.fresh("T")
        tinfo.gname = tg
        ag = self.fresh("AT")
        self.G[ag] = {fqa: act_vals[fqa][1].fn for fqa, _, _ in actions}
        self._action_tables.append((ag, tinfo))
        self.tables[fq] = tinfo
        self.em(f"_e = {tg}.lookup(({''.join(s + ', ' for s in key_srcs)}))")
        self.em("if _e is None:")
        self.em(f"    _e = {tg}.default_entry")
        self.em("    _hit = False")
        self.em("else:")
        self.em("    _hit = True")
        if tinfo.direct_counter:
            self.em("    _e.packets += 1")
            self.em("    _e.bytes += F['sm.packet_length']")
        if tinfo.direct_meter:
            self.em(
                f"F['$dm.{tinfo.direct_meter}'] = "
                f"_dmeter(_e, F['sm.packet_length'], {tinfo.direct_meter!r})"
            )
        self.em("_a = _e.action")
        if prof is not None:
            packed, nbits = self.packed_src(  # type: ignore[attr-defined]
                Val(T.TupleT([v.type for v in selector_vals]), items=selector_vals, kind="list"),
                d.loc,
            )
            h = f"_hashv({prof.unit!r}, {packed}, {nbits})" if selector_vals else "0"
            self.em("if _a.__class__ is not _AC:")
            self.em(f"    _a = {prof.gname}.resolve(_a, {h})")
            self.em("    if _a is None:")
            self.em(f"        _e = {tg}.default_entry")
            self.em("        _hit = False")
            self.em("        _a = _e.action")
        self.em("if _TR:")
        self.em(
            f"    _S.trace.append(('table', {fq!r}, _hit, _a.action, _a.args,"
            " _e.matches if _hit else None))"
        )
        self.em(f"{ag}[_a.action](F, *_a.args)")
        self.em("return _hit, _a.action")
        self.funcs.append("\n".join(fem.lines))
        self.em = saved
        return Val(T.VOID, kind="table", obj=(tinfo, fn))

    def const_args(
        self, entry: tuple[Val, ActionInfo], ref: A.ActionRefAst, sc: Scope
    ) -> tuple[int, ...]:
        av, _info = entry
        decl = av.obj[0]
        dirless = [p for p in decl.params if not p.direction]
        if len(ref.args) != len(dirless):
            raise self.err(
                ref.loc, f"action {ref.name} needs {len(dirless)} arguments, got {len(ref.args)}"
            )
        out = []
        for p, a in zip(dirless, ref.args, strict=True):
            pt = self.env.resolve(p.type)
            v = self.coerce(self.expr(a, sc, pt), pt, a.loc)
            if not v.is_const:
                raise self.err(a.loc, "action argument must be a compile-time constant")
            out.append(int(v.const))
        return tuple(out)

    def keyset_value(self, x: A.Expr, k: KeyInfo, sc: Scope) -> Any:
        t = T.BitsT(k.width)
        if isinstance(x, A.Default):
            return None
        if isinstance(x, A.Mask):
            return ("mask", self.keyset_const(x.value, t, sc), self.keyset_const(x.mask, t, sc))
        if isinstance(x, A.RangeExpr):
            return ("range", self.keyset_const(x.low, t, sc), self.keyset_const(x.high, t, sc))
        return ("value", self.keyset_const(x, t, sc))

    def keyset_const(self, x: A.Expr, t: T.BitsT, sc: Scope) -> int:
        v = self.expr(x, sc, t)
        if v.type == T.BOOL and v.is_const:
            return int(v.const)
        if not v.is_const:
            raise self.err(x.loc, "keyset values must be compile-time constants")
        return int(v.const) & t.mask
