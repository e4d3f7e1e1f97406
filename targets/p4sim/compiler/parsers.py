"""Parsers: state machines over the packet bytes, value sets, sub-parsers.

What a state does to the packet (extract, lookahead, advance) is ``packetio.py``."""

from __future__ import annotations

from targets.p4sim import types as T
from targets.p4sim.compiler.infos import ExternInfo
from targets.p4sim.compiler.packetio import PacketGen
from targets.p4sim.compiler.scope import Scope
from targets.p4sim.compiler.values import Emitter, Val
from targets.p4sim.frontend import ast as A
from targets.p4sim.frontend.errors import Loc


class ParserGen(PacketGen):
    def gen_parser(
        self, decl: A.ParserDecl, prefix: str, binds: dict[str, Val], *, sub: bool = False
    ) -> str:
        """A parser as one function. The top-level parser catches parser errors
        (setting parser_error); a sub-parser (``sub``) takes and returns the
        packet offset and lets errors and reject propagate to its caller, carrying
        the offset it stopped at: the packet_in is shared, so the payload resumes
        there (the caller's own offset is from before the sub-parser ran)."""
        sc = Scope(self.root_scope, prefix)
        sc.in_parser = True
        sc.names.update(binds)
        saved = self.em
        em = self.em = Emitter()
        fn = self.fresh("p_")
        em.lines.append(f"def {fn}(F, pkt, pos):" if sub else f"def {fn}(F, pkt):")
        em("L = len(pkt)")
        if not sub:
            em("pos = 0")
        for d in decl.locals:
            self.local_decl(d, sc)
        states = {s.name: i for i, s in enumerate(decl.states)}
        if "start" not in states:
            raise self.err(decl.loc, f"parser {decl.name} has no start state")
        states["accept"] = -1
        states["reject"] = -2
        if not _ends(decl):
            raise self.err(decl.loc, f"parser {decl.name} never reaches accept or reject")
        em(f"st = {states['start']}")
        em("n = 0")
        em("try:")
        em("    while True:")
        em("        n += 1")
        em("        if n > 4096:")
        em(f"            raise _PErr({self.err_code('ParserTimeout')})")
        em.depth += 2
        for i, s in enumerate(decl.states):
            em(f"{'if' if i == 0 else 'elif'} st == {i}:")
            em.indent()
            em("if _TR:")
            em(f"    _S.trace.append(('state', {s.name!r}))")
            ssc = sc.child()
            for stmt in s.stmts:
                self.stmt(stmt, ssc)
            self.transition(s, ssc, states)
            em.dedent()
        em.depth -= 2
        if sub:
            em("except (_PErr, _Reject) as _e:")
            em("    if _e.pos is None:  # the innermost parser's offset wins")
            em("        _e.pos = pos")
            em("    raise")
            self.funcs.append("\n".join(em.lines))
            self.em = saved
            return fn
        em("except _PErr as _pe:")
        em("    if _TR:")
        em("        _S.trace.append(('parser_error', _pe.code))")
        em("    F['sm.parser_error'] = _pe.code")
        em("    pos = pos if _pe.pos is None else _pe.pos")
        em("except _Reject as _rj:")
        em("    if _TR:")
        em("        _S.trace.append(('parser reject',))")
        em("    pos = pos if _rj.pos is None else _rj.pos")
        em("return pos")
        self.funcs.append("\n".join(em.lines))
        self.em = saved
        return fn

    def goto(self, target: str, states: dict[str, int], loc: Loc) -> str:
        if target not in states:
            raise self.err(loc, f"unknown parser state {target}")
        i = states[target]
        if i == -1:
            return "return pos"
        if i == -2:
            return "raise _Reject()"
        return f"st = {i}"

    def transition(self, s: A.StateDecl, sc: Scope, states: dict[str, int]) -> None:
        em = self.em
        tr = s.transition
        if tr is None:
            em("raise _Reject()")
            return
        if tr.select is None:
            em(self.goto(tr.state, states, tr.loc))
            return
        sel = [self.expr(x, sc) for x in tr.select]
        tvs = []
        for v in sel:
            tv = em.temp()
            em(f"{tv} = {v.src if v.type != T.BOOL else 'int(' + v.src + ')'}")
            tvs.append((tv, v))
        first = True
        for case in tr.cases:
            ks = case.keyset
            if len(ks) == 1 and len(tvs) > 1 and not isinstance(ks[0], A.Default):
                kv = self.expr(ks[0], sc)
                if kv.kind == "valueset":
                    conds = [self.valueset_match(kv, tvs)]
                else:
                    raise self.err(case.loc, f"select has {len(tvs)} values, keyset has 1")
            elif len(ks) == 1 and isinstance(ks[0], A.Default):
                conds = []
            else:
                if len(ks) != len(tvs):
                    raise self.err(case.loc, f"select has {len(tvs)} values, keyset has {len(ks)}")
                conds = [self.keyset_cond(k, tv, v, sc) for k, (tv, v) in zip(ks, tvs, strict=True)]
                conds = [c for c in conds if c != "True"]
            cond = " and ".join(conds) or "True"
            em(f"{'if' if first else 'elif'} {cond}:")
            first = False
            em(f"    {self.goto(case.state, states, case.loc)}")
        em("else:" if not first else "if True:")
        em(f"    raise _PErr({self.err_code('NoMatch')})")

    def keyset_cond(self, k: A.Expr, tv: str, v: Val, sc: Scope) -> str:
        t = v.type if v.type != T.BOOL else T.BitsT(1)
        if isinstance(k, A.Default):
            return "True"
        if isinstance(k, A.Mask):
            a = self.expr(k.value, sc, t)
            m = self.expr(k.mask, sc, t)
            if not (a.is_const and m.is_const):
                raise self.err(k.loc, "select masks must be compile-time constants")
            return f"({tv} & {m.src}) == ({a.src} & {m.src})"
        if isinstance(k, A.RangeExpr):
            lo, hi = self.expr(k.low, sc, t), self.expr(k.high, sc, t)
            if not (lo.is_const and hi.is_const):
                raise self.err(k.loc, "select ranges must be compile-time constants")
            return f"{lo.src} <= {tv} <= {hi.src}"
        kv = self.expr(k, sc, t)
        if kv.kind == "valueset":
            return self.valueset_match(kv, [(tv, v)])
        if not kv.is_const:
            raise self.err(k.loc, "select cases must be compile-time constants or value sets")
        if kv.type == T.BOOL:
            return f"{tv} == {int(kv.const)}"
        kv = self.coerce(kv, t if isinstance(t, T.BitsT) else v.type, k.loc)
        return f"{tv} == {kv.src}"

    def value_set(self, d: A.ValueSetDecl, sc: Scope) -> Val:
        info = ExternInfo("value_set", f"{sc.prefix}.{d.name}", d.annotations)
        t = self.env.resolve(d.type)
        info.size = int(self.expr(d.size, sc).const)
        if isinstance(t, T.StructT) and not t.is_header and t.kind == "struct":
            # P4Runtime spec 8.3 "ValueSet": one match field per member, each bit<W>.
            for fname, ft in t.fields.items():
                if not (isinstance(ft, T.BitsT) and not ft.signed):
                    raise self.err(
                        d.loc,
                        f"value_set {d.name}: struct field {fname} has type {ft}; "
                        "P4Runtime needs every field of a value_set struct to be bit<W>",
                    )
                info.members.append((fname, ft.width, t.field_annotations.get(fname, [])))
            info.width = t.bit_width()
        elif isinstance(t, T.BitsT) and not t.signed:
            info.width = t.width
        else:
            raise self.err(
                d.loc,
                f"value_set {d.name}: element type {t} cannot be programmed over P4Runtime "
                "(it must be bit<W> or a struct of bit<W> fields)",
            )
        info.gname = self.fresh("VS")
        self.G[info.gname] = []  # list of (value, mask) tuples, filled by the control plane
        self.externs[info.fq] = info
        return Val(t, kind="valueset", obj=info)

    def valueset_match(self, kv: Val, tvs: list[tuple[str, Val]]) -> str:
        """Any (value, mask) member of the value set matches the packed select values."""
        info: ExternInfo = kv.obj
        widths = [1 if v.type == T.BOOL else T.width_of(v.type) for _, v in tvs]
        shift = sum(widths)
        parts = []
        for (tv, _), w in zip(tvs, widths, strict=True):
            shift -= w
            parts.append(f"({tv} << {shift})" if shift else tv)
        packed = "(" + " | ".join(parts) + ")"
        return f"any(({packed} & _m) == _v for _v, _m in {info.gname})"

    def apply_subparser(self, base: Val, e: A.Call, sc: Scope) -> Val:
        if not sc.in_parser:
            raise self.err(e.loc, "a parser can only be applied from a parser state")
        decl, prefix, ctor = base.obj
        if not e.args:
            raise self.err(e.loc, f"parser {decl.name} needs its packet_in argument")
        pk = self.expr(e.args[0], sc)
        if pk.kind != "packet" or pk.obj != "in":
            raise self.err(e.args[0].loc, "the first argument must be the packet_in")
        rest = A.Call(e.loc, e.func, e.type_args, e.args[1:], e.arg_names[1:])
        binds = self.bind_params(decl.params[1:], rest, sc, prefix, f"parser {decl.name}")
        binds[decl.params[0].name] = pk
        sig = repr(("parser", prefix, sorted((k, v.path) for k, v in binds.items())))
        fn = self._control_cache.get(sig)
        if fn is None:
            saved_ro = self.readonly
            self.readonly = frozenset(
                v.path
                for p in decl.params[1:]
                if p.direction not in ("out", "inout")
                for v in [binds[p.name]]
                if v.path is not None
            )
            try:
                fn = self.gen_parser(decl, prefix, {**binds, **ctor}, sub=True)
            finally:
                self.readonly = saved_ro
            self._control_cache[sig] = fn
        self.em(f"pos = {fn}(F, pkt, pos)")
        return Val(T.VOID)


def _ends(decl: A.ParserDecl) -> bool:
    """Whether accept or reject is reachable from start (a select without a default
    case can reject); p4c refuses a parser that can only loop."""
    by_name = {s.name: s for s in decl.states}
    seen, todo = set(), ["start"]
    while todo:
        name = todo.pop()
        if name in ("accept", "reject"):
            return True
        st = by_name.get(name)
        if st is None:  # an unknown state: reported where the transition names it
            return True
        if name in seen:
            continue
        seen.add(name)
        tr = st.transition
        if tr is None:  # no transition statement: reject
            return True
        if tr.select is None:
            todo.append(tr.state)
            continue
        if not any(all(isinstance(k, A.Default) for k in c.keyset) for c in tr.cases):
            return True
        todo.extend(c.state for c in tr.cases)
    return False
