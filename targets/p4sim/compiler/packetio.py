"""packet_in and packet_out: extract, lookahead, advance, emit; and deparsers."""

from __future__ import annotations

from targets.p4sim import types as T
from targets.p4sim.compiler.controls import ControlGen
from targets.p4sim.compiler.scope import Scope
from targets.p4sim.compiler.values import Val, key, leaves
from targets.p4sim.frontend import ast as A
from targets.p4sim.frontend.errors import Loc


class PacketGen(ControlGen):
    def err_code(self, name: str) -> int:
        return self.env.errors[name]

    # -- packet_in / packet_out --------------------------------------------------------------
    def packet_method(self, base: Val, name: str, e: A.Call, sc: Scope) -> Val:
        em = self.em
        if base.obj == "out":
            if name != "emit":
                raise self.err(e.loc, f"packet_out has no method {name}")
            self.emit(self.expr(e.args[0], sc), e.loc)
            return Val(T.VOID)
        if name == "extract":
            hv = self.expr(e.args[0], sc)
            if hv.type == T.DONTCARE and len(e.type_args) == 1 and len(e.args) == 1:
                # extract<H>(_): the header's bytes are consumed and dropped
                t = self.env.resolve(e.type_args[0])
                if not isinstance(t, T.StructT) or t.kind != "header" or t.bit_width() % 8:
                    raise self.err(e.loc, f"extract<{t}>(_) needs a fixed-size header type")
                em(f"if pos + {t.bit_width() // 8} > L:")
                em(f"    raise _PErr({self.err_code('PacketTooShort')})")
                em(f"pos += {t.bit_width() // 8}")
                return Val(T.VOID)
            var = self.expr(e.args[1], sc, T.BitsT(32)) if len(e.args) > 1 else None
            self.extract(hv, var, e.loc)
            return Val(T.VOID)
        if name == "lookahead":
            if len(e.type_args) != 1:
                raise self.err(e.loc, "lookahead needs a type argument")
            t = self.env.resolve(e.type_args[0])
            w = self.width(t, e.loc)
            nb = (w + 7) // 8
            tv = em.temp()
            em(f"if pos + {nb} > L:")
            em(f"    raise _PErr({self.err_code('PacketTooShort')})")
            em(f"{tv} = int.from_bytes(pkt[pos:pos + {nb}], 'big') >> {nb * 8 - w}")
            if isinstance(t, T.StructT):
                path = f"$la.{self.fresh('')}"
                self.alloc(t, path)
                self.unpack_fields(t, path, tv, w)
                em(f"F['{path}.$v'] = True")
                return Val(t, path=path)
            return Val(t, tv)
        if name == "advance":
            n = self.expr(e.args[0], sc, T.BitsT(32))
            tv = em.temp()
            em(f"{tv} = {n.src}")
            em(f"if {tv} % 8:")
            em(f"    raise _PErr({self.err_code('ParserInvalidArgument')})")
            em(f"if pos + {tv} // 8 > L:")
            em(f"    raise _PErr({self.err_code('PacketTooShort')})")
            em(f"pos += {tv} // 8")
            return Val(T.VOID)
        if name == "length":
            return Val(T.BitsT(32), "(L & 0xFFFFFFFF)")
        raise self.err(e.loc, f"packet_in has no method {name}")

    def unpack_fields(self, t: T.StructT, path: str, tv: str, shift: int) -> int:
        """Store the fields of ``t`` from the bits of ``tv`` below ``shift``, nested
        structs, headers (made valid) and stacks included; returns the bits left."""
        for fname, ft in t.fields.items():
            p = f"{path}.{fname}"
            if isinstance(ft, T.StackT):
                for i in range(ft.size):
                    shift = self.unpack_fields(ft.elem, f"{p}[{i}]", tv, shift)
                continue
            if isinstance(ft, T.StructT):
                shift = self.unpack_fields(ft, p, tv, shift)
                continue
            w = T.width_of(ft)
            shift -= w
            src = f"({tv} >> {shift}) & {(1 << w) - 1}" if shift else f"{tv} & {(1 << w) - 1}"
            if ft == T.BOOL:
                src = f"bool({src})"
            self.em(f"F[{key(p)}] = {src}")
        if t.kind == "header":
            self.em(f"F[{key(path + '.$v')}] = True")
        return shift

    def extract(self, hv: Val, var: Val | None, loc: Loc) -> None:
        em = self.em
        t = hv.type
        if not isinstance(t, T.StructT) or t.kind != "header":
            raise self.err(loc, f"extract needs a header, not {t}")
        path = self.need_path(hv, loc, "extract target")
        self.check_writable(hv, loc)
        nxt = _stack_next(hv)
        if nxt is not None:
            sp, st, member = nxt
            em(f"_i = F['{sp}.$n']")
            em(f"if _i >= {st.size}:")
            em(f"    raise _PErr({self.err_code('StackOutOfBounds')})")
            path = f"{sp}[{{_i}}]{member}"
        fixed = t.bit_width()
        vb = [(n, ft) for n, ft in t.fields.items() if isinstance(ft, T.VarbitT)]
        if vb and var is None:
            raise self.err(loc, f"header {t.name} has a varbit field: extract needs its size")
        if not vb and var is not None:
            raise self.err(loc, f"header {t.name} has no varbit field")
        if vb:
            vname, vt = vb[0]
            assert isinstance(vt, T.VarbitT) and var is not None
            if list(t.fields)[-1] != vname:
                raise self.err(loc, "p4sim supports a varbit field only as the last field")
            em(f"_vl = {var.src}")
            em(f"if _vl > {vt.max}:")
            em(f"    raise _PErr({self.err_code('HeaderTooShort')})")
            em("if _vl % 8:")  # BMv2: a length that is not whole bytes is an invalid argument
            em(f"    raise _PErr({self.err_code('ParserInvalidArgument')})")
            em(f"_nb = {fixed // 8} + _vl // 8")
        else:
            if fixed % 8:
                raise self.err(loc, f"header {t.name} is {fixed} bits, not a whole number of bytes")
            em(f"_nb = {fixed // 8}")
        em("if pos + _nb > L:")
        em(f"    raise _PErr({self.err_code('PacketTooShort')})")
        em("_v = int.from_bytes(pkt[pos:pos + _nb], 'big')")
        em("pos += _nb")
        if vb:
            vname = vb[0][0]
            em(f"F[{key(f'{path}.{vname}')}] = _v & ((1 << _vl) - 1)")
            em(f"F[{key(f'{path}.{vname}.$len')}] = _vl")
            em("_v >>= _vl")
            fixed_t = T.StructT(
                t.name, "header", {n: ft for n, ft in t.fields.items() if n != vname}
            )
            self.unpack_fields(fixed_t, path, "_v", fixed)
        else:
            self.unpack_fields(t, path, "_v", fixed)
        em(f"F[{key(path + '.$v')}] = True")
        self.invalidate_siblings(hv)
        if nxt is not None:
            em(f"F['{nxt[0]}.$n'] = _i + 1")

    def emit(self, v: Val, loc: Loc) -> None:
        t = v.type
        em = self.em
        if isinstance(t, T.StackT):
            self.need_path(v, loc, "emitted stack")
            for i in range(t.size):
                self.emit(Val(t.elem, path=f"{v.path}[{i}]"), loc)
            return
        if not isinstance(t, T.StructT):
            raise self.err(loc, f"emit needs a header, struct or stack, not {t}")
        if t.kind != "header":
            for n in t.fields:
                self.emit(self.field_of(v, n, loc), loc)
            return
        p = self.need_path(v, loc, "emitted header")
        em(f"if F[{key(p + '.$v')}]:")
        parts = []
        vb = None
        shift = t.bit_width()
        for lp, ft in leaves(t, p)[1:]:  # fields of nested structs included, in order
            if isinstance(ft, T.VarbitT):
                vb = lp
                continue
            if ft == T.INFINT:  # a varbit's length
                continue
            w = T.width_of(ft)
            shift -= w
            src = f"F[{key(lp)}]"
            if ft == T.BOOL:
                src = f"int({src})"
            parts.append(f"({src} << {shift})" if shift else src)
        nb = t.bit_width() // 8
        body = " | ".join(parts) or "0"
        if vb is None:
            em(f"    _out.append(({body}).to_bytes({nb}, 'big'))")
        else:
            lk = key(f"{vb}.$len")
            em(f"    _vl = F[{lk}]")
            em(
                f"    _out.append(((({body}) << _vl) | F[{key(vb)}])"
                f".to_bytes({nb} + _vl // 8, 'big'))"
            )

    def gen_deparser(self, decl: A.ControlDecl, prefix: str, binds: dict[str, Val]) -> str:
        saved_ro = self.readonly
        self.readonly = frozenset({"hdr"})  # `in H hdr`
        try:
            return self._gen_deparser(decl, prefix, binds)
        finally:
            self.readonly = saved_ro

    def _gen_deparser(self, decl: A.ControlDecl, prefix: str, binds: dict[str, Val]) -> str:
        return self.gen_block(decl, prefix, binds, "d_", "F, _out", control=False)

    def alloc_leaves(self, t: T.P4Type, path: str) -> list[str]:
        return [p for p, _ in leaves(t, path)]


def _stack_next(hv: Val) -> tuple[str, T.StackT, str] | None:
    """(stack path, stack type, member suffix) when ``hv`` is ``stack.next`` or a
    member of it (a header union stack: ``stack.next.member``), else None."""
    obj = hv.obj
    if not isinstance(obj, tuple) or not obj:
        return None
    if obj[0] == "next":
        return obj[1], obj[2], ""
    if obj[0] == "inunion" and obj[3] is not None:
        return obj[3][1], obj[3][2], f".{obj[4]}"
    return None
