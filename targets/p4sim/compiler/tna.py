"""The TNA top level: ``Switch(Pipeline(6 blocks))`` -> generated functions.

A TNA pipeline has two halves with their own header and metadata structs
(ingress: ``hdr``/``meta``; egress: ``ehdr``/``emeta``) and intrinsic metadata
that the blocks name by type, most of them optional (tna.p4). Every block
parameter is bound by its type to one flat key prefix of the packet state:

    ingress_intrinsic_metadata_t               ig_intr_md   (extracted from the packet)
    ingress_intrinsic_metadata_from_parser_t   ig_prsr_md
    ingress_intrinsic_metadata_for_deparser_t  ig_dprsr_md
    ingress_intrinsic_metadata_for_tm_t        ig_tm_md
    egress_intrinsic_metadata_t                eg_intr_md   (extracted from the packet)
    egress_intrinsic_metadata_from_parser_t    eg_prsr_md
    egress_intrinsic_metadata_for_deparser_t   eg_dprsr_md
    egress_intrinsic_metadata_for_output_port_t eg_oport_md

``sm.packet_length`` and ``sm.parser_error`` stay as internal keys (counters
count bytes from the first, parser errors land in the second) and are not
visible to the program. targets/p4sim/tna_switch.py runs the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from targets.p4sim import types as T
from targets.p4sim.compiler.values import Val, leaves
from targets.p4sim.frontend import ast as A
from targets.p4sim.frontend.errors import CompileError

if TYPE_CHECKING:
    from targets.p4sim.compiler.gen import Gen, Generated

INTRINSIC_PATHS = {
    "ingress_intrinsic_metadata_t": "ig_intr_md",
    "ingress_intrinsic_metadata_from_parser_t": "ig_prsr_md",
    "ingress_intrinsic_metadata_for_deparser_t": "ig_dprsr_md",
    "ingress_intrinsic_metadata_for_tm_t": "ig_tm_md",
    "egress_intrinsic_metadata_t": "eg_intr_md",
    "egress_intrinsic_metadata_from_parser_t": "eg_prsr_md",
    "egress_intrinsic_metadata_for_deparser_t": "eg_dprsr_md",
    "egress_intrinsic_metadata_for_output_port_t": "eg_oport_md",
}
# Pipeline argument order (tna.p4): role, is a parser, which half.
TNA_ROLES = (
    ("ingress_parser", True, "ig"),
    ("ingress", False, "ig"),
    ("ingress_deparser", False, "ig"),
    ("egress_parser", True, "eg"),
    ("egress", False, "eg"),
    ("egress_deparser", False, "eg"),
)


def _block_name(gen: Gen, a: A.Expr) -> str:
    if isinstance(a, A.Call) and isinstance(a.func, A.Name):
        return a.func.name
    if isinstance(a, A.Name):
        inst = next((i for i in gen.env.instances if i.name == a.name), None)
        return inst.type.name if inst else a.name
    raise CompileError(a.loc, "Pipeline arguments must be parser/control instantiations")


def pipeline_blocks(gen: Gen, main: A.Instance) -> list[A.ParserDecl | A.ControlDecl]:
    """The six blocks of the one Pipeline that ``Switch`` runs (on every pipe)."""
    if len(main.args) != 1:
        raise CompileError(main.loc, "p4sim runs a TNA Switch with one Pipeline (pipe0)")
    arg = main.args[0]
    pipe = (
        next((i for i in gen.env.instances if i.name == arg.name), None)
        if isinstance(arg, A.Name)
        else None
    )
    if pipe is None or pipe.type.name != "Pipeline" or len(pipe.args) != 6:
        raise CompileError(arg.loc, "Switch takes a Pipeline instance of 6 blocks")
    out: list[A.ParserDecl | A.ControlDecl] = []
    for a, (role, is_parser, _) in zip(pipe.args, TNA_ROLES, strict=True):
        n = _block_name(gen, a)
        decl = gen.env.blocks.get(n)
        if decl is None:
            raise CompileError(a.loc, f"unknown parser or control {n}")
        if isinstance(decl, A.ParserDecl) != is_parser:
            raise CompileError(
                a.loc, f"the {role} of a Pipeline must be a {'parser' if is_parser else 'control'}"
            )
        out.append(decl)
    return out


def _struct(gen: Gen, p: A.Param, what: str) -> T.StructT:
    t = gen.env.resolve(p.type)
    if not isinstance(t, T.StructT) or t.kind != "struct":
        raise CompileError(p.loc, f"the {what} parameter must be a struct, not {t}")
    return t


def generate_tna(gen: Gen, main: A.Instance) -> Generated:
    """Generate a TNA program whose ``main`` is ``Switch(pipe)``, ``pipe`` a named Pipeline."""
    blocks = pipeline_blocks(gen, main)
    ig_parser, eg_parser = blocks[0], blocks[3]
    for prs, what in ((ig_parser, "ingress"), (eg_parser, "egress")):
        if len(prs.params) < 3:
            raise CompileError(prs.loc, f"a TNA {what} parser has at least 3 parameters")
    halves = {
        "ig": (
            ("hdr", _struct(gen, ig_parser.params[1], "headers")),
            ("meta", _struct(gen, ig_parser.params[2], "metadata")),
        ),
        "eg": (
            ("ehdr", _struct(gen, eg_parser.params[1], "headers")),
            ("emeta", _struct(gen, eg_parser.params[2], "metadata")),
        ),
    }
    for (hp, ht), (mp, mt) in halves.values():
        gen.alloc(ht, hp)
        gen.alloc(mt, mp)
    intrinsic: dict[str, T.StructT] = {}
    for type_name, path in INTRINSIC_PATHS.items():
        t = gen.env.types.get(type_name)
        if not isinstance(t, T.StructT):
            raise CompileError(main.loc, f"{type_name} is not declared: include <tna.p4>")
        intrinsic[path] = t
        gen.alloc(t, path)
    for k in ("sm.packet_length", "sm.parser_error"):
        gen.template[k] = 0
    gen.template["$payload"] = b""

    entry: dict[str, str] = {}
    for decl, (role, is_parser, half) in zip(blocks, TNA_ROLES, strict=True):
        (hp, ht), (mp, mt) = halves[half]
        binds: dict[str, Val] = {}
        readonly: set[str] = set()
        # Parsers and deparsers take the packet first; ingress/egress start with hdr.
        first = 0 if role in ("ingress", "egress") else 1
        for i, p in enumerate(decl.params, 1 - first):
            t = gen.env.resolve(p.type)
            if i == 0:
                binds[p.name] = Val(T.VOID, kind="packet", obj="in" if is_parser else "out")
            elif i == 1:
                binds[p.name] = Val(ht, path=hp)
            elif i == 2:
                binds[p.name] = Val(mt, path=mp)
                if p.direction == "in":
                    readonly.add(mp)
            elif isinstance(t, T.StructT) and t.name in INTRINSIC_PATHS:
                path = INTRINSIC_PATHS[t.name]
                binds[p.name] = Val(t, path=path)
                if p.direction == "in" and not is_parser:
                    readonly.add(path)
            else:
                raise CompileError(p.loc, f"{role}: unexpected parameter {p.name} of type {t}")
        if is_parser:
            assert isinstance(decl, A.ParserDecl)
            entry[role] = gen.gen_parser(decl, decl.name, binds)
        elif role.endswith("deparser"):
            assert isinstance(decl, A.ControlDecl)
            saved, gen.readonly = gen.readonly, frozenset(readonly)
            try:
                entry[role] = gen._gen_deparser(decl, decl.name, binds)
            finally:
                gen.readonly = saved
        else:
            assert isinstance(decl, A.ControlDecl)
            entry[role] = gen.gen_control(decl, decl.name, binds, frozenset(readonly))

    ig_meta = halves["ig"][1][1]
    generated: Generated = gen.finish(entry, ig_meta, halves["ig"][0][1])
    generated.arch = "tna"
    generated.intrinsic_layouts = {
        path: [(n, T.width_of(ft)) for n, ft in t.fields.items()]
        for path, t in intrinsic.items()
        if t.kind == "header"
    }
    generated.meta_keys = [p for p, _ in leaves(ig_meta, "meta")]
    return generated
