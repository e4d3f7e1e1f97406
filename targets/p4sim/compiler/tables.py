"""Tables: keys, action lists, default actions, entries -> one lookup function each."""

from __future__ import annotations

from typing import Any

from targets.p4sim import types as T
from targets.p4sim.compiler.infos import ActionInfo, ExternInfo, KeyInfo, TableInfo
from targets.p4sim.compiler.scope import Scope
from targets.p4sim.compiler.stmts import StmtGen, qualify
from targets.p4sim.compiler.values import Emitter, Val
from targets.p4sim.frontend import ast as A


class TableGen(StmtGen):
    def gen_table(self, d: A.TableDecl, sc: Scope) -> Val:
        fq = qualify(sc.prefix, d)
        other = self.tables.get(fq)
        if other is not None and (other.decl[0] is not d or other.decl[1] != sc.prefix):
            raise self.err(d.loc, f"name {fq!r} is used for more than one table in P4Info")
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
                w = self.width(v.type, k.loc)
            else:
                raise self.err(k.loc, f"table key cannot have type {v.type}")
            ka = next((a for a in k.annotations if a.name == "name"), None)
            if ka is not None and ka.args:
                name = str(ka.args[0])
            else:
                kn = self.key_name(k.expr, sc)
                if kn is None:
                    raise self.err(k.expr.loc, "complex key expression requires a @name annotation")
                name = kn
            nt = None
            if isinstance(k.expr, A.Member):
                nt = self.env.field_new_type(self.expr(k.expr.expr, sc).type, k.expr.name)
            keys.append(KeyInfo(name, k.match_kind, w, k.annotations, v.type, nt))
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
            info = self.gen_action(av, self.bind_action_list_args(av, ref, sc) or None)
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
        scopes = {fqa: scope for fqa, scope, _ in actions}
        for ent in getattr(d.prop("entries"), "value", None) or []:  # p4c checks these first
            av_info = act_vals.get(ent.action.name)
            if av_info is not None and scopes.get(av_info[1].fq) == "DEFAULT_ONLY":
                raise self.err(ent.loc, f"entry: action {ent.action.name} is @defaultonly")
        dp = d.prop("default_action")
        if dp is not None:
            ref = dp.value
            if ref.name not in act_vals:
                raise self.err(
                    ref.loc, f"default action {ref.name} is not in the actions of {d.name}"
                )
            if scopes.get(act_vals[ref.name][1].fq) == "TABLE_ONLY":
                raise self.err(dp.loc, f"default_action: action {ref.name} is @tableonly")
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
        bmv2_priorities = False
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
                    if not pa.args or not isinstance(pa.args[0], int):
                        raise self.err(pa.loc, "@priority needs an integer argument")
                    pv = pa.args[0]
                    bmv2_priorities = True
                entries.append(
                    (
                        ks,
                        act_vals[ent.action.name][1].fq,
                        self.const_args(act_vals[ent.action.name], ent.action, sc),
                        pv if pv is not None else None,
                        ent.loc,
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
        if bmv2_priorities and entries:
            # BMv2's @priority: the smallest number wins, and an entry without one has
            # its position (1, 2, ...); p4sim's priorities are P4Runtime's (largest wins).
            bmv2 = [e[3] if e[3] is not None else i for i, e in enumerate(entries, 1)]
            top = max(bmv2) + 1
            entries = [(*e[:3], top - b, e[4]) for e, b in zip(entries, bmv2, strict=True)]
            tinfo.entries = entries
        elif entries and any(e[3] is not None for e in entries):
            tinfo.entries = self.entry_priorities(d, entries, sc)
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
            if isinstance(ip.value, A.Call):
                raise self.err(
                    ip.loc,
                    "p4sim needs a named action_profile/action_selector instance here "
                    "(declare it in the control and write its name)",
                )
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
        tinfo.decl = (d, sc.prefix)
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

    def entry_priorities(self, d: A.TableDecl, entries: list[Any], sc: Scope) -> list[Any]:
        """P4's rule once any entry has 'priority =': the first must have one; each
        entry without one takes the previous one minus priority_delta (plus, when
        largest_priority_wins is false), and must stay positive."""
        if entries[0][3] is None:
            raise self.err(entries[0][4], "entry must have a priority")
        dp, lp = d.prop("priority_delta"), d.prop("largest_priority_wins")
        delta = int(self.expr(dp.value, sc).const) if dp is not None else 1
        largest = bool(self.expr(lp.value, sc).const) if lp is not None else True
        out, prev = [], 0
        for ks, act, args, pv, loc in entries:
            prev = pv if pv is not None else (prev - delta if largest else prev + delta)
            if prev < 1:
                raise self.err(d.loc, f"{d.name}: overflow in priority computation")
            out.append((ks, act, args, prev, loc))
        if not largest:  # p4sim's priorities are P4Runtime's: the largest number wins
            top = max(e[3] for e in out) + 1
            out = [(*e[:3], top - e[3], e[4]) for e in out]
        return out

    def key_name(self, e: A.Expr, sc: Scope) -> str | None:
        """A key's P4Info name as p4c's front end builds it; None where p4c needs @name
        (anything but names, fields, constant indexes, slices, '&', isValid())."""
        if isinstance(e, A.Name):
            return e.name
        if isinstance(e, A.IntLit):
            return {16: hex, 2: bin, 8: oct}.get(e.base, str)(e.value)
        if isinstance(e, A.Member):
            base = self.key_name(e.expr, sc)
            t = self.expr(e.expr, sc).type
            fname = e.name
            if isinstance(t, T.StructT):  # a field's @name is its control-plane name
                na = next(
                    (a for a in t.field_annotations.get(e.name, []) if a.name == "name"), None
                )
                fname = str(na.args[0]) if na is not None and na.args else fname
            if fname.startswith("."):
                return fname[1:]
            return f"{base}.{fname}" if base is not None else None
        parts: list[A.Expr]
        if isinstance(e, A.Index):
            parts, fmt = [e.expr, e.index], "{}[{}]"
        elif isinstance(e, A.Slice):
            parts, fmt = [e.expr, e.hi, e.lo], "{}[{}:{}]"
        elif isinstance(e, A.Binary) and e.op == "&":
            parts, fmt = [e.left, e.right], "{} & {}"
        elif isinstance(e, A.Call) and isinstance(e.func, A.Member) and not e.args:
            if e.func.name != "isValid":
                return None
            parts, fmt = [e.func.expr], "{}.$valid$"
        else:
            return None
        names = [self.key_name(x, sc) for x in parts]
        return None if None in names else fmt.format(*names)

    def bind_action_list_args(self, av: Val, ref: A.ActionRefAst, sc: Scope) -> dict[str, Val]:
        """Arguments written in the actions list bind the directional parameters."""
        decl = av.obj[0]
        dparams = [p for p in decl.params if p.direction]
        if len(ref.args) != len(dparams):
            raise self.err(
                ref.loc, f"action {ref.name} needs {len(dparams)} arguments in the actions list"
            )
        bound: dict[str, Val] = {}
        for p, a in zip(dparams, ref.args, strict=True):
            pt = self.env.resolve(p.type)
            v = self.coerce(self.expr(a, sc, pt), pt, a.loc, f"argument {p.name}")
            if v.path is None or v.slice is not None:
                raise self.err(a.loc, f"argument {p.name} must be a field or header reference")
            if p.direction in ("out", "inout"):
                self.check_writable(v, a.loc)
            bound[p.name] = v
        return bound

    def const_args(
        self, entry: tuple[Val, ActionInfo], ref: A.ActionRefAst, sc: Scope
    ) -> tuple[int, ...]:
        av, _info = entry
        decl = av.obj[0]
        dirless = [p for p in decl.params if not p.direction]
        args = list(ref.args)
        if len(args) == len(decl.params) != len(dirless):
            # Written in full, as P4 wants it: the directional arguments repeat the
            # actions list's (already bound there); the others are the values.
            args = [a for p, a in zip(decl.params, args, strict=True) if not p.direction]
        if len(args) != len(dirless):
            raise self.err(
                ref.loc, f"action {ref.name} needs {len(dirless)} arguments, got {len(ref.args)}"
            )
        out = []
        for p, a in zip(dirless, args, strict=True):
            pt = self.env.resolve(p.type)
            v = self.coerce(self.expr(a, sc, pt), pt, a.loc)
            if not v.is_const:
                raise self.err(a.loc, "action argument must be a compile-time constant")
            out.append(int(v.const))
        return tuple(out)

    def keyset_value(self, x: A.Expr, k: KeyInfo, sc: Scope) -> Any:
        t = T.BitsT(k.width)
        if k.match_kind in ("exact", "optional") and isinstance(x, A.Mask | A.RangeExpr):
            raise self.err(x.loc, f"invalid key expression: a mask or range on {k.match_kind} key")
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
