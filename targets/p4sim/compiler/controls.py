"""Calls: header/stack methods, sub-controls, functions, extern instances and functions."""

from __future__ import annotations

from targets.p4sim import types as T
from targets.p4sim.compiler.externs import ExternGen
from targets.p4sim.compiler.scope import Scope
from targets.p4sim.compiler.values import Emitter, Val, key, leaves, read
from targets.p4sim.frontend import ast as A

METHOD_ARITY: dict[tuple[str, str], tuple[int, int]] = {
    ("packet_out", "emit"): (1, 1),
    ("packet_in", "extract"): (1, 2),
    ("packet_in", "lookahead"): (0, 0),
    ("packet_in", "advance"): (1, 1),
    ("packet_in", "length"): (0, 0),
    ("*", "isValid"): (0, 0),
    ("*", "setValid"): (0, 0),
    ("*", "setInvalid"): (0, 0),
    ("*", "minSizeInBits"): (0, 0),
    ("*", "minSizeInBytes"): (0, 0),
    ("table", "apply"): (0, 0),
    ("counter", "count"): (1, 1),
    ("direct_counter", "count"): (0, 0),
    ("meter", "execute_meter"): (2, 2),
    ("direct_meter", "read"): (1, 1),
    ("register", "read"): (1, 2),
    ("register", "write"): (2, 2),
    ("Checksum16", "get"): (1, 1),
    # TNA (tna.p4); its Counter keeps kind "counter", told apart by type name
    ("Counter", "count"): (1, 2),
    ("tna_checksum", "add"): (1, 1),
    ("tna_checksum", "subtract"): (1, 1),
    ("tna_checksum", "verify"): (0, 0),
    ("tna_checksum", "get"): (0, 0),
    ("tna_checksum", "update"): (1, 2),
    ("tna_hash", "get"): (1, 1),
}


class ControlGen(ExternGen):
    # -- calls ----------------------------------------------------------------------------
    def call(self, e: A.Call, sc: Scope, stmt: bool = False) -> Val:
        f = self.expr(e.func, sc)
        if f.kind == "action":
            if not stmt:
                raise self.err(e.loc, "an action call cannot be used as a value")
            if sc.in_parser:
                raise self.err(e.loc, "actions cannot be called from a parser")
            self.call_action(f, e, sc)
            return Val(T.VOID)
        if f.kind == "method":
            base, name = f.obj
            return self.method(base, name, e, sc)
        if f.kind == "extfunc":
            return self.extern_function(f.obj.name, e, sc)
        if f.kind == "func":
            return self.user_function(f.obj, e, sc)
        raise self.err(e.loc, "this expression cannot be called")

    def method(self, base: Val, name: str, e: A.Call, sc: Scope) -> Val:
        em = self.em
        kind = base.kind
        if kind == "inst":
            kind = "Counter" if base.obj.type_name == "Counter" else base.obj.kind
        elif kind == "packet":
            kind = f"packet_{base.obj}"
        arity = METHOD_ARITY.get((kind, name)) or METHOD_ARITY.get(("*", name))
        if arity is not None and not arity[0] <= len(e.args) <= arity[1]:
            want = str(arity[0]) if arity[0] == arity[1] else f"{arity[0]} or {arity[1]}"
            raise self.err(e.loc, f"{name} takes {want} argument(s), got {len(e.args)}")
        if base.kind == "table":
            if name != "apply":
                raise self.err(e.loc, f"tables have no method {name}")
            if sc.in_action:
                raise self.err(e.loc, "tables cannot be applied from an action")
            info, fn = base.obj
            if not self.dead:
                info.applied = True
            tv = em.temp()
            em(f"{tv} = {fn}(F)")
            return Val(T.VOID, tv, kind="tableresult", obj=info)
        if base.kind == "subparser":
            if name != "apply":
                raise self.err(e.loc, f"parsers have no method {name}")
            return self.apply_subparser(base, e, sc)  # type: ignore[attr-defined]
        if base.kind == "control":
            if name != "apply":
                raise self.err(e.loc, f"controls have no method {name}")
            return self.apply_control(base, e, sc)
        if base.kind == "packet":
            return self.packet_method(base, name, e, sc)  # type: ignore[attr-defined]
        if base.kind == "inst":
            return self.extern_method(base, name, e, sc)
        t = base.type
        if isinstance(t, T.StructT):
            return self.header_method(base, name, e)
        if isinstance(t, T.StackT):
            return self.stack_method(base, name, e, sc)
        raise self.err(e.loc, f"cannot call {name} here")

    def header_method(self, base: Val, name: str, e: A.Call) -> Val:
        t = base.type
        assert isinstance(t, T.StructT)
        p = self.need_path(base, e.loc, f"receiver of {name}()")
        if name == "isValid":
            if t.kind == "header_union":
                ors = " or ".join(read(f"{p}.{m}.$v") for m in t.fields) or "False"
                return Val(T.BOOL, f"({ors})")
            if t.kind != "header":
                raise self.err(e.loc, f"isValid() needs a header, not {t}")
            return Val(T.BOOL, read(p + ".$v"))
        if name in ("minSizeInBits", "minSizeInBytes"):
            w = t.bit_width()
            c = w if name == "minSizeInBits" else w // 8
            return Val(T.INFINT, repr(c), const=c)
        if t.kind != "header":
            raise self.err(e.loc, f"{name}() needs a header, not {t}")
        em = self.em
        vk = key(p + ".$v")
        if name in ("setValid", "setInvalid"):
            self.check_writable(base, e.loc)
        if name == "setValid":
            # An invalid header becomes valid with all fields zero (see README).
            em(f"if not F[{vk}]:")
            for lp, _lt in leaves(t, p)[1:]:
                em(f"    F[{key(lp)}] = 0")
            em(f"    F[{vk}] = True")
            self.invalidate_siblings(base)
        elif name == "setInvalid":
            em(f"F[{vk}] = False")
        else:
            raise self.err(e.loc, f"headers have no method {name}")
        return Val(T.VOID)

    def invalidate_siblings(self, hv: Val) -> None:
        if isinstance(hv.obj, tuple) and hv.obj and hv.obj[0] == "inunion":
            upath, ut = hv.obj[1], hv.obj[2]
            for m in ut.fields:
                mp = f"{upath}.{m}"
                if mp != hv.path:
                    self.em(f"F[{key(mp + '.$v')}] = False")

    def stack_method(self, base: Val, name: str, e: A.Call, sc: Scope) -> Val:
        t = base.type
        assert isinstance(t, T.StackT)
        self.need_path(base, e.loc, f"receiver of {name}()")
        if len(e.args) != 1:
            raise self.err(e.loc, f"{name} takes one argument")
        n = self.expr(e.args[0], sc)
        if not n.is_const or n.const < 0:
            raise self.err(e.loc, f"{name} needs a non-negative constant count")
        count, size, p = int(n.const), t.size, self.need_path(base, e.loc)
        self.check_writable(base, e.loc)
        em = self.em
        elem_leaves = [lp[len(p) + 3 :] for lp, _ in leaves(t.elem, f"{p}[0]")]

        def copy(dst: int, src: int) -> None:
            for suf in elem_leaves:
                em(f"F[{key(f'{p}[{dst}]{suf}')}] = F[{key(f'{p}[{src}]{suf}')}]")

        def clear(i: int) -> None:
            em(f"F[{key(f'{p}[{i}].$v')}] = False")

        if name == "push_front":
            for i in range(size - 1, -1, -1):
                if i >= count:
                    copy(i, i - count)
                else:
                    clear(i)
            em(f"F[{key(p + '.$n')}] = min({size}, F[{key(p + '.$n')}] + {count})")
        elif name == "pop_front":
            for i in range(size):
                if i + count < size:
                    copy(i, i + count)
                else:
                    clear(i)
            em(f"F[{key(p + '.$n')}] = max(0, F[{key(p + '.$n')}] - {count})")
        else:
            raise self.err(e.loc, f"header stacks have no method {name}")
        return Val(T.VOID)

    # -- controls and functions ----------------------------------------------------------------
    def bind_params(
        self, params: list[A.Param], e: A.Call, sc: Scope, slot_prefix: str, what: str
    ) -> dict[str, Val]:
        if len(e.args) > len(params):
            raise self.err(e.loc, f"too many arguments to {what}")
        binds: dict[str, Val] = {}
        for i, p in enumerate(params):
            if i >= len(e.args):
                if p.default is None:
                    raise self.err(e.loc, f"missing argument {p.name} of {what}")
                a = p.default
            else:
                a = e.args[i]
            pt = self.env.resolve(p.type)
            v = self.expr(a, sc, pt)
            if v.kind == "default":
                slot = f"$arg.{slot_prefix}.{p.name}"
                self.alloc(pt, slot)
                binds[p.name] = Val(pt, read(slot), path=slot)
                continue
            v = self.coerce(v, pt, a.loc, f"argument {p.name}")
            if p.direction in ("out", "inout") or (v.path is not None and v.slice is None):
                if p.direction in ("out", "inout") and (v.path is None or v.slice is not None):
                    raise self.err(a.loc, f"argument {p.name} of {what} must be an lvalue")
                if p.direction in ("out", "inout"):
                    self.check_writable(v, a.loc)
                binds[p.name] = v
            else:
                slot = f"$arg.{slot_prefix}.{p.name}"
                self.alloc(pt, slot)
                lv = (
                    Val(pt, read(slot), path=slot)
                    if not isinstance(pt, T.StructT)
                    else Val(pt, path=slot)
                )
                self.assign(lv, v, a.loc)
                binds[p.name] = lv
        return binds

    def apply_control(self, base: Val, e: A.Call, sc: Scope) -> Val:
        decl, prefix, ctor = base.obj
        binds = self.bind_params(decl.params, e, sc, prefix, f"control {decl.name}")
        sig = repr((prefix, sorted((k, v.path) for k, v in binds.items())))
        fn = self._control_cache.get(sig)
        if fn is None:
            ro = frozenset(
                v.path
                for p in decl.params
                if p.direction not in ("out", "inout")
                for v in [binds[p.name]]
                if v.path is not None
            )
            fn = self.gen_control(decl, prefix, {**binds, **ctor}, ro)
            self._control_cache[sig] = fn
        self.em(f"{fn}(F)")
        return Val(T.VOID)

    def gen_control(
        self,
        decl: A.ControlDecl,
        prefix: str,
        binds: dict[str, Val],
        readonly: frozenset[str] = frozenset(),
    ) -> str:
        saved_ro, self.readonly = self.readonly, readonly
        try:
            return self._gen_control(decl, prefix, binds)
        finally:
            self.readonly = saved_ro

    def _gen_control(self, decl: A.ControlDecl, prefix: str, binds: dict[str, Val]) -> str:
        return self.gen_block(decl, prefix, binds, "c_", "F", control=True)

    def gen_block(
        self,
        decl: A.ControlDecl,
        prefix: str,
        binds: dict[str, Val],
        name: str,
        params: str,
        control: bool,
    ) -> str:
        """A control's body (or a deparser's, ``control=False``) as ``def <name>N(params):``."""
        sc = Scope(self.root_scope, prefix)
        sc.names.update(binds)
        if control:
            sc.control = decl
        saved = self.em
        self.em = Emitter()
        fn = self.fresh(name)
        self.em.lines.append(f"def {fn}({params}):")
        for d in decl.locals:
            self.local_decl(d, sc)
        self.block(decl.body, sc)
        self.funcs.append("\n".join(self.em.lines))
        self.em = saved
        return fn

    def local_decl(self, d: A.Decl, sc: Scope) -> None:
        if d.name in sc.names and not isinstance(d, A.VarDecl):
            raise self.err(d.loc, f"{d.name} is already declared in this scope")
        if isinstance(d, A.VarDecl):
            self.var_decl(d, sc)
        elif isinstance(d, A.ActionDecl):
            sc.names[d.name] = Val(T.VOID, kind="action", obj=(d, sc))
        elif isinstance(d, A.TableDecl):
            sc.names[d.name] = self.gen_table(d, sc)
        elif isinstance(d, A.Instance):
            sc.names[d.name] = self.instantiate(d, sc)
        elif isinstance(d, A.ValueSetDecl):
            sc.names[d.name] = self.value_set(d, sc)  # type: ignore[attr-defined]
        else:
            raise self.err(d.loc, f"unsupported local declaration {type(d).__name__}")

    def user_function(self, decl: A.FunctionDecl, e: A.Call, sc: Scope) -> Val:
        """Call a function; out/inout parameters alias the caller's lvalues.

        A function with out/inout parameters is specialised per distinct set
        of argument paths (like actions called with directional arguments).
        """
        rt = self.env.resolve(decl.ret)
        if len(e.args) != len(decl.params):
            raise self.err(e.loc, f"{decl.name} takes {len(decl.params)} arguments")
        srcs: list[str] = []
        bound: dict[str, Val] = {}
        for p, a in zip(decl.params, e.args, strict=True):
            pt = self.env.resolve(p.type)
            v = self.coerce(self.expr(a, sc, pt), pt, a.loc, f"argument {p.name}")
            if p.direction in ("out", "inout"):
                if v.path is None or v.slice is not None:
                    raise self.err(a.loc, f"argument {p.name} of {decl.name} must be an lvalue")
                self.check_writable(v, a.loc)
                bound[p.name] = v
            elif isinstance(pt, T.StructT | T.StackT):
                bound[p.name] = self.spill(v, pt, a.loc)
            else:
                srcs.append(v.src)
        sig = f"{id(decl)}:{sorted((k, v.path) for k, v in bound.items())}"
        fn = self._fn_cache.get(sig)
        if fn is None:
            fn = self.fresh("f_")
            self._fn_cache[sig] = fn
            fsc = Scope(self.root_scope, decl.name)
            fsc.names["$ret"] = Val(rt)
            if isinstance(rt, T.StructT | T.StackT):  # returned through storage
                self.alloc(rt, f"$ret.{fn}")
                fsc.names["$ret"] = Val(rt, path=f"$ret.{fn}")
            args = []
            copies: list[tuple[Val, Val, str]] = []
            for p in decl.params:
                pt = self.env.resolve(p.type)
                if p.name in bound and p.direction in ("out", "inout"):
                    fsc.names[p.name] = local = self.param_copy(p, pt)
                    copies.append((bound[p.name], local, p.direction))
                elif p.name in bound:
                    fsc.names[p.name] = bound[p.name]
                else:
                    fsc.names[p.name] = Val(pt, f"p_{p.name}", kind="pyvar")
                    args.append(f"p_{p.name}")
            saved = self.em
            self.em = Emitter()
            self.em.lines.append(f"def {fn}(F{''.join(', ' + a for a in args)}):")
            self.body_with_copies(copies, decl.body, fsc, decl.loc)
            self.funcs.append("\n".join(self.em.lines))
            self.em = saved
        call = f"{fn}(F{''.join(', ' + s for s in srcs)})"
        if rt == T.VOID:
            self.em(call)
            return Val(T.VOID)
        if isinstance(rt, T.StructT | T.StackT):
            # a header/struct result: copied out of the function's storage at once, so
            # that two calls in one expression keep their own results
            self.em(call)
            res = Val(rt, path=f"$rv.{self.fresh('')}")
            self.alloc(rt, res.path or "")
            self.assign(res, Val(rt, path=f"$ret.{fn}"), e.loc)
            return res
        return Val(rt, call)
