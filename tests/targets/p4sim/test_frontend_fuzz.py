"""Mutated programs are either compiled or rejected with a CompileError, never a crash."""

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from targets.p4sim.frontend.errors import CompileError
from targets.p4sim.frontend.preprocess import preprocess
from targets.p4sim.program import compile_text
from targets.p4sim.switch import Switch

pytestmark = pytest.mark.unit
HERE = Path(__file__).parent
NAMES = [
    "ipv4_router",
    "header_stack",
    "const_entries",
    "clone_field_list",
    "hashes",
    "varbit_options",
]
SOURCES = [preprocess(HERE / "conformance" / f"{n}.p4") for n in NAMES]
TOKEN = r'#line[^\n]*\n|"[^"]*"|\w+|&&&|&&|\|\||==|!=|<=|>=|\+\+|\|\+\||\|-\||\.\.|<<|>>|[^\w\s]'
TOKENS = [re.findall(TOKEN, s) for s in SOURCES]
EXTRA = ["{", "}", "(", ")", ";", "<", ">", "bit", "8w3", "hdr", ".", "apply", "=", "if", "_", "["]
NUMBERS = ["0", "1", "8w255", "16w0", "9", "300", "4s7", "0x1ff", "64"]
FRAMES = [bytes(range(n, n + 40)) for n in (0, 7, 200)] + [b"", b"\x01" * 13, b"\xff" * 64]
EDIT = st.tuples(
    st.integers(0, 10**6),
    st.sampled_from(["del", "dup", "ins", "swap", "ident", "num"]),
    st.integers(0, 10**6),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(which=st.integers(0, len(SOURCES) - 1), edits=st.lists(EDIT, min_size=1, max_size=3))
def test_mutated_programs_never_crash(which: int, edits: list[tuple[int, str, int]]) -> None:
    toks = list(TOKENS[which])
    start = len(toks) // 3  # leave core.p4/v1model.p4 alone: mutate the program itself
    idents = [t for t in toks[start:] if re.fullmatch(r"[A-Za-z_]\w*", t)]
    for pos, op, pick in edits:
        i = start + pos % (len(toks) - start - 1)
        if op == "del":
            del toks[i]
        elif op == "dup":
            toks.insert(i, toks[i])
        elif op == "swap":
            toks[i], toks[i + 1] = toks[i + 1], toks[i]
        elif op == "ident" and re.fullmatch(r"[A-Za-z_]\w*", toks[i]):
            toks[i] = idents[pick % len(idents)]
        elif op == "num" and re.fullmatch(r"\d\w*", toks[i]):
            toks[i] = NUMBERS[pick % len(NUMBERS)]
        else:
            toks.insert(i, EXTRA[pick % len(EXTRA)])
    try:
        prog = compile_text(" ".join(toks), "mutated.p4")
    except CompileError as exc:
        assert ": error: " in str(exc)
        assert "internal error" not in str(exc), str(exc)
        return
    # A program that compiles must also run: generated code never raises on packets.
    sw = Switch(prog)
    for i, frame in enumerate(FRAMES):
        sw.process(i * 37 % 512, frame)
