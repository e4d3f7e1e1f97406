"""The program generator: v1model top level -> one Python module of functions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from targets.p4sim import types as T
from targets.p4sim.compiler.env import Env
from targets.p4sim.compiler.externs import EXTERN_KINDS
from targets.p4sim.compiler.infos import (
    ActionInfo,
    ControllerHeaderInfo,
    ExternInfo,
    NewTypeInfo,
    TableInfo,
)
from targets.p4sim.compiler.parsers import ParserGen
from targets.p4sim.compiler.scope import Scope
from targets.p4sim.compiler.values import Emitter, Val, leaves
from targets.p4sim.frontend import ast as A
from targets.p4sim.frontend.errors import CompileError, Loc

BLOCK_ROLES = ("parser", "verify_checksum", "ingress", "egress", "compute_checksum", "deparser")


@dataclass
class Generated:
    source: str
    globals: dict[str, Any]
    template: dict[str, Any]
    entry: dict[str, str]  # role -> function name
    actions: dict[str, ActionInfo]
    tables: dict[str, TableInfo]
    externs: dict[str, ExternInfo]
    digests: dict[str, T.StructT]
    controller_headers: list[ControllerHeaderInfo]
    field_lists: dict[int, list[str]]
    action_tables: list[tuple[str, TableInfo]] = field(default_factory=list)
    meta_keys: list[str] = field(default_factory=list)
    header_type: T.P4Type | None = None
    type_info_uses: int = 0
    called_actions: set[str] = field(default_factory=set)
    arch: str = "v1model"
    # TNA: field layout (name, width) of the intrinsic headers the parsers extract
    intrinsic_layouts: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


class Gen(ParserGen):
    def __init__(self, env: Env) -> None:
        self.env = env
        self.em = Emitter()
        self.funcs = []
        self.G = {}
        self.template = {}
        self.actions = {}
        self.tables = {}
        self.externs = {}
        self.nfunc = 0
        self._action_cache: dict[str, ActionInfo] = {}
        self._control_cache: dict[str, str] = {}
        self._fn_cache: dict[str, str] = {}
        self._action_tables: list[tuple[str, TableInfo]] = []
        self._action_decls: dict[str, A.ActionDecl] = {}
        self.digest_types = {}
        self.list_digests = {}
        self.type_info_uses = 0
        self.dead = 0
        self.called_actions = set()
        self.root_scope = Scope(None, "")

    def main_blocks(self) -> list[A.ParserDecl | A.ControlDecl]:
        main = next((i for i in self.env.instances if i.name == "main"), None)
        if main is None:
            raise CompileError(
                self.env.program.decls[-1].loc if self.env.program.decls else Loc("?", 0, 0),
                "program has no 'main' package instance",
            )
        if main.type.name != "V1Switch":
            raise CompileError(
                main.loc, f"p4sim runs v1model programs (V1Switch), not {main.type.name}"
            )
        if len(main.args) != 6:
            raise CompileError(main.loc, "V1Switch takes 6 blocks")
        out: list[A.ParserDecl | A.ControlDecl] = []
        for a in self.package_args(main):
            if isinstance(a, A.Call) and isinstance(a.func, A.Name):
                n = a.func.name
            elif isinstance(a, A.Name):
                inst = next((i for i in self.env.instances if i.name == a.name), None)
                n = inst.type.name if inst else a.name
            else:
                raise CompileError(
                    a.loc, "V1Switch arguments must be parser/control instantiations"
                )
            decl = self.env.blocks.get(n)
            if decl is None:
                raise CompileError(a.loc, f"unknown parser or control {n}")
            out.append(decl)
        kinds = [isinstance(d, A.ParserDecl) for d in out]
        if kinds != [True, False, False, False, False, False]:
            raise CompileError(main.loc, "V1Switch needs a parser followed by five controls")
        return out

    def package_args(self, main: A.Instance) -> list[A.Expr]:
        """The package's arguments in parameter order: P4_16 lets them be named
        (`ig = ingress()`) and then given in any order, all named or none."""
        names = main.arg_names or [None] * len(main.args)
        if all(n is None for n in names):
            return main.args
        pkg = self.env.type_decls.get(main.type.name)
        params = [p.name for p in getattr(pkg, "params", [])]
        if None in names or sorted(n for n in names if n) != sorted(params):
            raise CompileError(
                main.loc,
                f"{main.type.name} arguments must all be named, once each: " + ", ".join(params),
            )
        by_name = dict(zip(names, main.args, strict=True))
        return [by_name[p] for p in params]

    def tna_main(self) -> A.Instance | None:
        """The program's ``main`` if it is a TNA ``Switch`` (``tna.py`` generates those)."""
        main = next((i for i in self.env.instances if i.name == "main"), None)
        return main if main is not None and main.type.name == "Switch" else None

    def generate(self) -> Generated:
        """A v1model program (``arch.generate`` picks this or TNA)."""
        blocks = self.main_blocks()
        for inst in self.env.instances:  # file-scope extern instances (registers, ...)
            if inst.name != "main" and inst.type.name in EXTERN_KINDS:
                self.root_scope.names[inst.name] = self.instantiate(inst, self.root_scope)
        parser = blocks[0]
        assert isinstance(parser, A.ParserDecl)
        if len(parser.params) != 4:
            raise CompileError(parser.loc, "a v1model parser has 4 parameters")
        ht = self.env.resolve(parser.params[1].type)
        mt = self.env.resolve(parser.params[2].type)
        st = self.env.resolve(parser.params[3].type)
        for t, what, loc in (
            (ht, "headers", parser.params[1].loc),
            (mt, "metadata", parser.params[2].loc),
        ):
            if not isinstance(t, T.StructT) or t.kind != "struct":
                raise CompileError(loc, f"the {what} parameter must be a struct, not {t}")
        self.alloc(ht, "hdr")
        self.alloc(mt, "meta")
        self.alloc(st, "sm")
        for k in ("$clone", "$resubmit", "$recirc", "$truncate"):
            self.template[k] = None
        self.template["$payload"] = b""
        hdr = Val(ht, path="hdr")
        meta = Val(mt, path="meta")
        sm = Val(st, path="sm")
        entry: dict[str, str] = {}
        for role, decl in zip(BLOCK_ROLES, blocks, strict=True):
            prefix = decl.name
            n = len(decl.params)
            if role == "parser":
                binds = {
                    decl.params[0].name: Val(T.VOID, kind="packet", obj="in"),
                    decl.params[1].name: hdr,
                    decl.params[2].name: meta,
                    decl.params[3].name: sm,
                }
                entry[role] = self.gen_parser(decl, prefix, binds)  # type: ignore[arg-type]
                continue
            assert isinstance(decl, A.ControlDecl)
            if role == "deparser":
                if n != 2:
                    raise CompileError(decl.loc, "a v1model deparser has 2 parameters")
                binds = {
                    decl.params[0].name: Val(T.VOID, kind="packet", obj="out"),
                    decl.params[1].name: hdr,
                }
                entry[role] = self.gen_deparser(decl, prefix, binds)
                continue
            want = 3 if role in ("ingress", "egress") else 2
            if n != want:
                raise CompileError(decl.loc, f"a v1model {role} control has {want} parameters")
            binds = {decl.params[0].name: hdr, decl.params[1].name: meta}
            if want == 3:
                binds[decl.params[2].name] = sm
            entry[role] = self.gen_control(decl, prefix, binds)
        assert isinstance(mt, T.StructT)
        return self.finish(entry, mt, ht)

    def finish(self, entry: dict[str, str], mt: T.StructT, ht: T.P4Type) -> Generated:
        """The Generated program once every block has been generated."""
        field_lists: dict[int, list[str]] = {}
        self.collect_field_lists(mt, "meta", field_lists)
        # P4Info lists actions in source order (p4c walks the program), not use order.
        order: dict[int, int] = {}
        for d in self.env.program.decls:
            order[id(d)] = len(order)
            for local in getattr(d, "locals", []):
                order[id(local)] = len(order)
        self.actions = dict(
            sorted(self.actions.items(), key=lambda kv: order.get(id(self._action_decls[kv[0]]), 0))
        )
        src = "\n\n".join(self.funcs) + "\n"
        return Generated(
            src,
            self.G,
            self.template,
            entry,
            self.actions,
            self.tables,
            self.externs,
            self.digest_types,
            self.controller_headers(),
            field_lists,
            self._action_tables,
            [p for p, _ in leaves(mt, "meta")],
            ht,
            self.type_info_uses,
            self.called_actions,
        )

    def collect_field_lists(self, t: T.StructT, path: str, out: dict[int, list[str]]) -> None:
        for n, ft in t.fields.items():
            p = f"{path}.{n}"
            for idx in t.annotations.get(n, []):
                if isinstance(idx, int):
                    out.setdefault(idx, []).extend(lp for lp, _ in leaves(ft, p))
            if isinstance(ft, T.StructT) and ft.kind == "struct":
                self.collect_field_lists(ft, p, out)

    def controller_headers(self) -> list[ControllerHeaderInfo]:
        out = []
        for d in self.env.program.decls:
            if isinstance(d, A.StructDecl) and d.kind == "header":
                a = d.anno("controller_header")
                if a is not None and a.args:
                    st = self.env.types[d.name]
                    assert isinstance(st, T.StructT)
                    leaves = [
                        leaf
                        for f in d.fields
                        for leaf in self._controller_fields(
                            f.name, st.fields[f.name], f.annotations, self.env.new_type(f.type)
                        )
                    ]
                    fields = [(n, w, annos) for n, w, annos, _ in leaves]
                    new_types = [nt for *_, nt in leaves]
                    out.append(
                        ControllerHeaderInfo(
                            str(a.args[0]), d.name, fields, d.annotations, new_types
                        )
                    )
        return out

    def _controller_fields(
        self, name: str, t: T.P4Type, annotations: list[A.Annotation], nt: NewTypeInfo | None
    ) -> list[tuple[str, int, list[A.Annotation], NewTypeInfo | None]]:
        """A controller header's metadata fields: p4c flattens a struct-typed field
        into its members, named by their dotted path (``b.b``)."""
        if isinstance(t, T.StructT) and t.kind == "struct":
            return [
                leaf
                for fn, ft in t.fields.items()
                for leaf in self._controller_fields(
                    f"{name}.{fn}",
                    ft,
                    t.field_annotations.get(fn, []),
                    self.env.field_new_type(t, fn),
                )
            ]
        return [(name, T.width_of(t), annotations, nt)]


def fold_const(env: Env, e: A.Expr, ty: T.BitsT | None) -> Any:
    """The value of a compile-time constant expression (``Env``'s folder)."""
    gen = Gen(env)
    val = gen.expr(e, gen.root_scope, ty)
    if not val.is_const:
        raise CompileError(e.loc, "expression is not a compile-time constant")
    return val.const
