"""v1model extern instances (counters, meters, registers, profiles, checksums)
and extern functions (hash, clone, resubmit, recirculate, digest, checksums, ...)."""

from __future__ import annotations

from typing import Any

from targets.p4sim import types as T
from targets.p4sim.compiler.infos import ExternInfo
from targets.p4sim.compiler.scope import Scope
from targets.p4sim.compiler.stmts import qualify
from targets.p4sim.compiler.tables import TableGen
from targets.p4sim.compiler.values import Val, read
from targets.p4sim.frontend import ast as A
from targets.p4sim.frontend.errors import Loc

EXTERN_KINDS = {
    "counter",
    "direct_counter",
    "meter",
    "direct_meter",
    "register",
    "Checksum16",
    "action_profile",
    "action_selector",
    # TNA (tna.p4): Counter is an indexed counter as above; Checksum the
    # parser/deparser ones'-complement unit (not a P4Runtime object).
    "Counter",
    "Checksum",
    "Hash",
}


class ExternGen(TableGen):
    digest_types: dict[str, Any]
    list_digests: dict[int, str]  # id of a digest call of a list -> its P4Info name
    # what makes p4c create P4Info type_info besides P4Info objects: extern function
    # calls outside parsers, extern instances of any type
    type_info_uses: int

    def instantiate(self, d: A.Instance, sc: Scope) -> Val:
        tname = d.type.name
        fq = qualify(sc.prefix, d)
        if tname in self.env.blocks:
            decl = self.env.blocks[tname]
            ctor: dict[str, Val] = {}
            for p, a in zip(decl.ctor_params, d.args, strict=False):
                pt = self.env.resolve(p.type)
                ctor[p.name] = self.coerce(self.expr(a, sc, pt), pt, a.loc)
            if isinstance(decl, A.ParserDecl):
                if not sc.in_parser:
                    raise self.err(d.loc, "parsers can only be instantiated in parsers")
                return Val(T.VOID, kind="subparser", obj=(decl, fq, ctor))
            if sc.in_parser:
                raise self.err(d.loc, "controls cannot be instantiated in parsers")
            return Val(T.VOID, kind="control", obj=(decl, fq, ctor))
        if tname not in EXTERN_KINDS:
            raise self.err(d.type.loc, f"cannot instantiate {tname} here")
        args = [self.expr(a, sc) for a in d.args]
        info = ExternInfo(tname, fq, d.annotations, type_name=tname)
        targs = [self.env.resolve(a) for a in d.type.args]
        if tname == "Counter":
            # TNA Counter<W, I>(size, CounterType_t): P4Info and state as v1model's counter.
            if len(args) != 2 or not args[0].is_const:
                raise self.err(d.loc, "Counter needs (size, type) arguments")
            info.kind = "counter"
            info.size = int(args[0].const)
            info.unit = self.enum_member_name(args[1], d.loc, "CounterType_t").lower()
            if info.size < 1:
                raise self.err(d.loc, "Counter size must be positive")
            if len(targs) == 2:
                info.index_width = self.width(targs[1], d.loc)
        elif tname == "Checksum":
            info.kind = "tna_checksum"
        elif tname == "Hash":
            from targets.p4sim.tna_hashes import SUPPORTED

            if len(args) != 1 or len(targs) != 1:
                raise self.err(d.loc, "p4sim models Hash<W>(algorithm), not CRCPolynomial hashes")
            info.kind = "tna_hash"
            info.unit = self.enum_member_name(args[0], d.loc, "HashAlgorithm_t")
            info.width = self.width(targs[0], d.loc)
            if info.unit not in SUPPORTED:
                raise self.err(d.loc, f"p4sim does not model Hash algorithm {info.unit} yet")
        elif tname in ("counter", "meter"):
            if len(args) != 2 or not args[0].is_const:
                raise self.err(d.loc, f"{tname} needs (size, type) arguments")
            info.size = int(args[0].const)
            unit_enum = "CounterType" if tname == "counter" else "MeterType"
            info.unit = self.enum_member_name(args[1], d.loc, unit_enum)
            if info.size < 1:
                raise self.err(d.loc, f"{tname} size must be positive")
            if targs:
                info.index_width = self.width(targs[0], d.loc)
        elif tname in ("direct_counter", "direct_meter"):
            if len(args) != 1:
                raise self.err(d.loc, f"{tname} needs a type argument")
            unit_enum = "CounterType" if tname == "direct_counter" else "MeterType"
            info.unit = self.enum_member_name(args[0], d.loc, unit_enum)
        elif tname in ("action_profile", "action_selector"):
            sel = tname == "action_selector"
            if len(args) != (3 if sel else 1) or not args[1 if sel else 0].is_const:
                raise self.err(
                    d.loc, f"{tname} needs " + ("(algorithm, size, width)" if sel else "(size)")
                )
            info.size = int(args[1 if sel else 0].const)
            if sel:
                info.unit = self.enum_member_name(args[0], d.loc, "HashAlgorithm")
                info.width = int(args[2].const) if args[2].is_const else 32
        elif tname == "register":
            if len(args) < 1 or not args[0].is_const or not targs:
                raise self.err(d.loc, "register needs a cell type and a size")
            info.size = int(args[0].const)
            info.width = self.width(targs[0], d.loc)
            info.elem_type = targs[0]
            if len(targs) > 1:
                info.index_width = self.width(targs[1], d.loc)
        info.gname = self.fresh("X")
        self.G[info.gname] = None  # filled in with the run-time object later
        if tname not in ("Checksum16", "Checksum", "Hash"):
            self.externs[fq] = info
        else:
            self.type_info_uses += 1
        return Val(T.ObjT("extern", tname), kind="inst", obj=info)

    def args_in_order(self, e: A.Call, params: list[A.Param]) -> list[A.Expr]:
        """A call's arguments in parameter order: P4_16 lets them be named
        (`algo = ...`) in any order, all named or none."""
        names = e.arg_names
        if not names or all(n is None for n in names):
            return e.args
        known = [p.name for p in params]
        if None in names or len(set(names)) != len(names) or not set(names) <= set(known):
            raise self.err(e.loc, "arguments must all be named, once each: " + ", ".join(known))
        by_name = dict(zip(names, e.args, strict=True))
        given = [p for p in known if p in by_name]
        if given != known[: len(given)]:
            missing = next(p for p in known if p not in by_name)
            raise self.err(e.loc, f"missing argument {missing}")
        return [by_name[p] for p in given]

    def list_digest_name(self, e: A.Call) -> str:
        """A digest of a list (a tuple type) has no type name: p4c calls it
        ``digest_N``, N counting such digest calls in the order it meets them."""
        names = self.list_digests
        return names.setdefault(id(e), f"digest_{len(names)}")

    def enum_member_name(self, v: Val, loc: Loc, enum: str | None = None) -> str:
        t = v.type
        if enum is not None and not (isinstance(t, T.EnumT) and t.name == enum):
            raise self.err(loc, f"expected a {enum} member, not {t}")
        if isinstance(t, T.EnumT) and v.is_const:
            name = next((n for n, c in t.members.items() if c == v.const), None)
            if name is not None:
                return name
        raise self.err(loc, f"expected an enum member (e.g. HashAlgorithm.crc16), not {t}")

    def data_width(self, t: T.P4Type, loc: Loc) -> int:
        """Width of a value in hash, checksum, digest or log data: p4c's BMv2 back end
        gives errors and enums without an underlying type 32 bits (their code)."""
        if t == T.ERROR or (isinstance(t, T.EnumT) and t.under is None):
            return 32
        try:
            return T.width_of(t)
        except TypeError:
            raise self.err(loc, f"cannot hash or checksum a value of type {t}") from None

    def fields_src(self, v: Val, loc: Loc) -> str:
        parts = []
        for f in self.flatten(v, loc):
            t = f.type
            if t == T.BOOL:
                parts.append(f"(int({f.src}), 1)")
            elif t == T.INFINT:
                raise self.err(loc, "field list values need a width (cast the constant)")
            else:
                parts.append(f"({f.src}, {self.data_width(t, loc)})")
        return "(" + "".join(p + ", " for p in parts) + ")"

    def packed_src(self, v: Val, loc: Loc) -> tuple[str, int | str]:
        """One Python int expression packing the fields MSB-first, and its width (an
        expression when a varbit field's current length is part of it)."""
        items: list[tuple[str, int | str]] = []
        for f in self.flatten(v, loc, split_varbit=False):
            t = f.type
            if isinstance(t, T.VarbitT) and f.path is not None:
                items.append((read(f.path), read(f.path + ".$len")))
            elif t == T.BOOL:
                items.append((f"int({f.src})", 1))
            elif t == T.INFINT:
                raise self.err(loc, "field list values need a width (cast the constant)")
            else:
                items.append((f.src, self.data_width(t, loc)))
        static, dynamic, parts = 0, list[str](), list[str]()
        for src, w in reversed(items):
            shift = " + ".join([str(static)] * bool(static) + dynamic)
            parts.append(f"({src} << ({shift}))" if shift else src)
            if isinstance(w, int):
                static += w
            else:
                dynamic.append(w)
        body = "(" + (" | ".join(reversed(parts)) or "0") + ")"
        return body, static if not dynamic else "(" + " + ".join([str(static), *dynamic]) + ")"

    def out_arg(self, e: A.Expr, sc: Scope, what: str) -> Val:
        v = self.expr(e, sc)
        if v.path is None and v.kind != "pyvar":
            raise self.err(e.loc, f"{what} must be an lvalue")
        return v

    def extern_method(self, base: Val, name: str, e: A.Call, sc: Scope) -> Val:
        info: ExternInfo = base.obj
        g, em, k = info.gname, self.em, info.kind
        args = e.args
        plen = "F['sm.packet_length']"
        if k == "counter" and name == "count":
            idx = self.expr(args[0], sc, T.BitsT(info.index_width))
            if len(args) > 1:  # TNA: adjust_byte_count, added to the packet's length
                plen = f"({plen} + {self.expr(args[1], sc, T.BitsT(32)).src})"
            em(f"{g}.count({idx.src}, {plen})")
        elif k == "tna_checksum":
            return self.tna_checksum_method(info, name, e, sc)
        elif k == "tna_hash" and name == "get":
            pv, nb = self.packed_src(self.expr(args[0], sc), e.loc)
            if nb % 8 and info.unit.startswith("CRC"):
                raise self.err(e.loc, f"p4sim hashes whole bytes only; the data is {nb} bits")
            return Val(T.BitsT(info.width), f"_tna_hash({info.unit!r}, {pv}, {nb}, {info.width})")
        elif k == "direct_counter" and name == "count":
            pass  # counted on table hit, as BMv2 does
        elif k == "meter" and name == "execute_meter":
            idx = self.expr(args[0], sc, T.BitsT(info.index_width))
            out = self.out_arg(args[1], sc, "meter result")
            colour = Val(T.BitsT(self.width(out.type, e.loc)), f"{g}.execute({idx.src}, {plen})")
            self.assign(out, colour, e.loc)
        elif k == "direct_meter" and name == "read":
            out = self.out_arg(args[0], sc, "meter result")
            self.assign(out, Val(out.type, f"F.get('$dm.{info.fq}', 0)"), e.loc)
        elif k == "register" and name == "read":
            rt = T.BitsT(info.width)
            if len(args) == 1:
                idx = self.expr(args[0], sc, T.BitsT(info.index_width))
                return Val(rt, f"{g}.dp_read({idx.src})")
            out = self.out_arg(args[0], sc, "register read result")
            idx = self.expr(args[1], sc, T.BitsT(info.index_width))
            self.assign(out, Val(out.type, f"{g}.dp_read({idx.src})"), e.loc)
        elif k == "register" and name == "write":
            idx = self.expr(args[0], sc, T.BitsT(info.index_width))
            val = self.expr(args[1], sc, T.BitsT(info.width))
            em(f"{g}.dp_write({idx.src}, {val.src})")
        elif k == "Checksum16" and name == "get":
            data = self.expr(args[0], sc)
            pv, nb = self.packed_src(data, e.loc)
            return Val(T.BitsT(16), f"_hashv('csum16', {pv}, {nb})")
        else:
            raise self.err(e.loc, f"{k} has no method {name}")
        return Val(T.VOID)

    def tna_checksum_method(self, info: ExternInfo, name: str, e: A.Call, sc: Scope) -> Val:
        """TNA Checksum: update() in a deparser, add/subtract/verify/get in a parser.

        The parser unit keeps a running ones'-complement sum in the packet state
        (``$ck.<instance>``); update() is the RFC 1071 checksum of its data."""
        acc = f"F.get('$ck.{info.gname}', 0)"
        if name == "update":
            pv, nb = self.packed_src(self.expr(e.args[0], sc), e.loc)
            return Val(T.BitsT(16), f"_hashv('csum16', {pv}, {nb})")
        if name in ("add", "subtract"):
            pv, nb = self.packed_src(self.expr(e.args[0], sc), e.loc)
            part = f"(~_hashv('csum16', {pv}, {nb}) & 0xFFFF)"
            if name == "subtract":
                part = f"(~{part} & 0xFFFF)"
            self.em(f"F['$ck.{info.gname}'] = _ones_add({acc}, {part})")
            return Val(T.VOID)
        if name == "verify":
            return Val(T.BOOL, f"({acc} in (0, 0xFFFF))")
        if name == "get":
            return Val(T.BitsT(16), f"(~{acc} & 0xFFFF)")
        raise self.err(e.loc, f"Checksum has no method {name} in p4sim")

    def extern_function(self, name: str, e: A.Call, sc: Scope) -> Val:
        decl = self.env.extern_functions.get(name)
        params = decl.methods[0].params if decl is not None and decl.methods else []
        em, args, loc = self.em, self.args_in_order(e, params), e.loc
        if not sc.in_parser and not self.dead:
            self.type_info_uses += 1

        def arg(i: int, want: T.P4Type | None = None) -> Val:
            if i >= len(args):
                raise self.err(loc, f"{name} needs more arguments")
            return self.expr(args[i], sc, want)

        if name == "mark_to_drop":
            sm = "sm" if not args else arg(0).path
            em(f"F['{sm}.egress_spec'] = 511")
            em(f"F['{sm}.mcast_grp'] = 0")
        elif name == "hash":
            out = self.out_arg(args[0], sc, "hash result")
            ot = out.type
            algo = self.enum_member_name(arg(1), loc, "HashAlgorithm")
            base = arg(2, ot)
            data = arg(3)
            mx = arg(4, ot if isinstance(ot, T.BitsT) else None)
            pv, nb = self.packed_src(data, loc)
            h = f"_hashv({algo!r}, {pv}, {nb})"
            m = (1 << self.width(ot, loc)) - 1
            em(f"_m = {mx.src}")
            src = f"(({base.src} + ({h} % _m if _m else {h})) & {m})"
            self.assign(out, Val(ot, src), loc)
        elif name == "random":
            out = self.out_arg(args[0], sc, "random result")
            lo, hi = arg(1, out.type), arg(2, out.type)
            self.assign(out, Val(out.type, f"_random({lo.src}, {hi.src})"), loc)
        elif name == "digest":
            recv = arg(0, T.BitsT(32))
            data = arg(1)
            dt = self.env.resolve(e.type_args[0]) if e.type_args else data.type
            if isinstance(dt, T.StructT) and data.kind == "list":
                data = self.cast(dt, data, loc)
            tn = dt.name if isinstance(dt, T.StructT) else self.list_digest_name(e)
            self.digest_types.setdefault(tn, dt)
            em(f"_S.digests.append(({tn!r}, {recv.src}, {self.fields_src(data, loc)}))")
        elif name in ("clone", "clone3", "clone_preserving_field_list"):
            ct = arg(0)
            sess = arg(1, T.BitsT(32))
            fl = "None"
            if name == "clone_preserving_field_list":
                fl = arg(2, T.BitsT(8)).src
            em(f"F['$clone'] = ({ct.src}, {sess.src}, {fl})")
        elif name in ("resubmit", "resubmit_preserving_field_list"):
            fl = arg(0, T.BitsT(8)).src if name.endswith("list") else "None"
            em(f"F['$resubmit'] = ({fl},)")
        elif name in ("recirculate", "recirculate_preserving_field_list"):
            fl = arg(0, T.BitsT(8)).src if name.endswith("list") else "None"
            em(f"F['$recirc'] = ({fl},)")
        elif name == "truncate":
            em(f"F['$truncate'] = {arg(0, T.BitsT(32)).src}")
        elif name in (
            "verify_checksum",
            "update_checksum",
            "verify_checksum_with_payload",
            "update_checksum_with_payload",
        ):
            cond = self.cond(args[0], sc)
            data = arg(1)
            ck = self.out_arg(args[2], sc, "checksum")
            algo = self.enum_member_name(arg(3), loc, "HashAlgorithm")
            pl = ", F['$payload']" if name.endswith("payload") else ""
            pv, nb = self.packed_src(data, loc)
            h = f"_hashv({algo!r}, {pv}, {nb}{pl})"
            m = (1 << self.width(ck.type, loc)) - 1
            if name.startswith("verify"):
                em(f"if {cond.src} and ({h} & {m}) != {ck.src}:")
                em("    F['sm.checksum_error'] = 1")
            else:
                em(f"if {cond.src}:")
                em.indent()
                self.assign(ck, Val(ck.type, f"({h} & {m})"), loc)
                em.dedent()
        elif name == "verify":
            if not sc.in_parser:
                raise self.err(loc, "verify() is only allowed in parsers")
            cond = self.cond(args[0], sc)
            err = arg(1)
            em(f"if not {cond.src}:")
            em(f"    raise _PErr({err.src})")
        elif name == "log_msg":
            vals = self.fields_src(arg(1), loc) if len(args) > 1 else "()"
            em(f"_log({arg(0).src}, {vals})")
        elif name in ("assert", "assume"):
            cond = self.cond(args[0], sc)
            em(f"if not {cond.src}:")
            em(f"    _log({name + ' failed at ' + str(loc)!r}, ())")
        else:
            raise self.err(loc, f"extern function {name} is not supported by p4sim")
        return Val(T.VOID)
