"""Loading a P4 program: source -> checked, generated, P4Info-annotated Program."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from targets.p4sim import p4info as P
from targets.p4sim.compiler.arch import generate
from targets.p4sim.compiler.env import Env
from targets.p4sim.compiler.gen import Generated, fold_const
from targets.p4sim.frontend.errors import CompileError, Loc
from targets.p4sim.frontend.parser import parse
from targets.p4sim.frontend.preprocess import preprocess
from targets.p4sim.p4info import IdAllocator, build_p4info
from targets.p4sim.state import (
    ActionCall,
    ActionProfile,
    ActionSpec,
    Counter,
    CounterType,
    Exact,
    KeyField,
    Lpm,
    MatchKind,
    Meter,
    MeterType,
    Optional,
    Range,
    Register,
    StateError,
    SwitchState,
    Table,
    TableEntry,
    Ternary,
)
from targets.p4sim.state.tables import FieldMatch


class Program:
    """A checked v1model program: generated code, P4Info and a state factory."""

    def __init__(self, path: str, gen: Generated, p4info: Any, ids: IdAllocator) -> None:
        self.path = path
        self.gen = gen
        self.p4info = p4info
        self.ids = ids
        self.code = compile(gen.source, f"<p4sim:{os.path.basename(path)}>", "exec")

    @property
    def source(self) -> str:
        """The generated Python (for debugging the compiler)."""
        return self.gen.source

    def new_state(self, clock: Any = None) -> SwitchState:
        g = self.gen
        st = SwitchState()
        st.ids = {i: name for (_, name), i in self.ids.ids.items()}

        def pid(prefix: int, name: str) -> int:
            return self.ids.ids.get((prefix, name), 0)

        for fq, t in g.tables.items():
            keys = [
                KeyField(k.name, i, MatchKind(k.match_kind), k.width)
                for i, k in enumerate(t.keys, 1)
            ]
            specs = [
                ActionSpec(a, pid(P.ACTION, a), tuple(g.actions[a].params), scope)
                for a, scope, _ in t.actions
            ]
            table = Table(
                fq,
                pid(P.TABLE, fq),
                keys,
                specs,
                ActionCall(*t.default_action),
                const_default=t.const_default,
                const_entries=t.const_entries,
                size=t.size,
                direct_counter=t.direct_counter,
                direct_meter=t.direct_meter,
            )
            n = len(t.entries or [])
            for idx, (ks, act, args, prio, loc) in enumerate(t.entries or []):
                # p4c: without explicit priorities, earlier entries win.
                p = prio if prio is not None else (n - idx if table.needs_priority else 0)
                try:
                    matches = tuple(
                        _match(k, ki.match_kind, ki.width) for k, ki in zip(ks, t.keys, strict=True)
                    )
                    table.insert(
                        TableEntry(
                            matches, ActionCall(act, args), priority=p, is_const=t.const_entries
                        )
                    )
                except (StateError, ValueError) as exc:
                    raise CompileError(loc, f"invalid entry: {exc}") from None
            st.tables[fq] = table
            if t.direct_counter:
                st.direct_counters[t.direct_counter] = fq
            if t.direct_meter:
                st.direct_meters[t.direct_meter] = fq
        for fq, e in g.externs.items():
            i = pid(P.EXTERN_PREFIX.get(e.kind, 0), fq)
            if e.kind == "counter":
                st.counters[fq] = Counter(fq, i, e.size, CounterType(e.unit))
            elif e.kind == "meter":
                kw = {"clock": clock} if clock else {}
                st.meters[fq] = Meter(fq, i, e.size, MeterType(e.unit), **kw)
            elif e.kind == "register":
                st.registers[fq] = Register(fq, i, e.size, e.width)
            elif e.kind in ("action_profile", "action_selector"):
                ap = ActionProfile(fq, i, e.size, with_selector=e.kind == "action_selector")
                st.action_profiles[fq] = ap
                for tname in e.tables:
                    table = st.tables[tname]
                    table.profile = ap
                    ap.check_action = table._check_action
        return st

    def bind(self, state: SwitchState, runtime: Any, clock: Any = None) -> dict[str, Any]:
        """Fresh module globals for the generated code, wired to ``state``."""
        from targets.p4sim import rt

        g = self.gen
        G: dict[str, Any] = dict(rt.HELPERS)
        G.update(g.globals)
        G["_S"] = runtime
        G["_TR"] = False  # tracing on: the Switch flips this for traced packets
        G["_log"] = runtime.log_msg
        for fq, t in g.tables.items():
            G[t.gname] = state.tables[fq]
        for fq, e in g.externs.items():
            if e.kind == "counter":
                G[e.gname] = state.counters[fq]
            elif e.kind == "meter":
                G[e.gname] = state.meters[fq]
            elif e.kind == "register":
                G[e.gname] = state.registers[fq]
            elif e.kind == "value_set":
                G[e.gname] = []
            elif e.kind in ("action_profile", "action_selector"):
                G[e.gname] = state.action_profiles[fq]
        for gname, _info in g.action_tables:
            G[gname] = dict(g.globals[gname])
        units = {fq: e.unit == "packets" for fq, e in g.externs.items() if e.kind == "direct_meter"}
        G["_dmeter"] = rt.direct_meter_executor(clock or time.monotonic, units)
        exec(self.code, G)
        for gname, _ in g.action_tables:
            G[gname] = {a: G[fn] for a, fn in G[gname].items()}
        return G


def _match(k: Any, kind: str, width: int) -> FieldMatch | None:
    if k is None:
        return None
    tag = k[0]
    top = (1 << width) - 1
    if kind == "exact":
        return Exact(k[1])
    if kind == "lpm":
        if tag == "mask":
            plen = bin(k[2]).count("1")
            if k[2] != top ^ (top >> plen):
                raise ValueError(f"mask {k[2]:#x} is not a prefix mask")
            return Lpm(k[1] & k[2], plen)
        return Lpm(k[1], width)
    if kind == "ternary":
        if tag == "mask":
            return Ternary(k[1] & k[2], k[2])
        return Ternary(k[1], top)
    if kind == "range":
        if tag == "range":
            return Range(k[1], k[2])
        return Range(k[1], k[1])
    if kind == "optional":
        return Optional(k[1])
    return None


def compile_text(text: str, filename: str) -> Program:
    try:
        prog = parse(text, filename)
        env = Env(prog, fold_const)
        gen = generate(env)
        p4info, ids = build_p4info(gen)
        program = Program(filename, gen, p4info, ids)
        program.new_state()  # validates the program's table entries
        return program
    except (CompileError, RecursionError):
        raise
    except Exception as exc:  # a p4sim bug must still not surface as a traceback
        raise CompileError(
            Loc(filename, 0, 0), f"internal error in p4sim: {type(exc).__name__}: {exc}"
        ) from None


def load(
    path: str | os.PathLike[str],
    includes: Sequence[str | os.PathLike[str]] = (),
    defines: Mapping[str, str] | Sequence[str] = (),
) -> Program:
    """Preprocess, parse, check and compile a v1model program.

    Raises CompileError (``str(err)`` is ``file:line:col: error: reason``).
    """
    text = preprocess(path, includes, defines)
    try:
        return compile_text(text, str(path))
    except RecursionError:
        raise CompileError(Loc(str(path), 0, 0), "program nests too deeply") from None
