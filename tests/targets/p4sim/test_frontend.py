"""Front end: preprocessing with positions, lexing, parsing."""

from pathlib import Path

import pytest

from targets.p4sim.frontend import ast as A
from targets.p4sim.frontend.errors import CompileError
from targets.p4sim.frontend.lexer import tokenize
from targets.p4sim.frontend.parser import parse
from targets.p4sim.frontend.preprocess import preprocess

pytestmark = pytest.mark.unit
PROGRAMS = Path(__file__).parent / "programs"


def test_int_literals() -> None:
    toks = tokenize("8w255 4s7 0x1F 16w0x_ff 0b1010 1_000 0d99 0o17", "t.p4")
    vals = [(t.value, t.width, t.signed) for t in toks if t.kind == "int"]
    assert vals[0] == (255, 8, False)
    assert vals[1] == (7, 4, True)
    assert (0x1F, None, False) in vals
    assert (0xFF, 16, False) in vals
    assert (10, None, False) in vals
    assert (1000, None, False) in vals
    assert (99, None, False) in vals
    assert (15, None, False) in vals


def test_router_parses_with_positions() -> None:
    text = preprocess(PROGRAMS / "ipv4_router.p4")
    prog = parse(text, "ipv4_router.p4")
    main = prog.decls[-1]
    assert isinstance(main, A.Instance) and main.name == "main"
    assert main.loc.file.endswith("ipv4_router.p4") and main.loc.line == 116
    ingress = next(d for d in prog.decls if d.name == "MyIngress")
    assert isinstance(ingress, A.ControlDecl)
    table = next(d for d in ingress.locals if isinstance(d, A.TableDecl))
    assert table.name == "ipv4_lpm"


def test_syntax_error_has_file_line_col(tmp_path: Path) -> None:
    p = tmp_path / "bad.p4"
    p.write_text("#include <core.p4>\nheader h_t {\n  bit<8> a\n}\n")
    with pytest.raises(CompileError) as e:
        parse(preprocess(p), str(p))
    assert str(e.value) == f"{p}:4:1: error: expected ';', found '}}'"


def test_missing_include(tmp_path: Path) -> None:
    p = tmp_path / "inc.p4"
    p.write_text('#include "nope.p4"\n')
    with pytest.raises(CompileError, match="cannot find include file"):
        preprocess(p)


def test_defines_and_conditionals(tmp_path: Path) -> None:
    p = tmp_path / "d.p4"
    p.write_text("#if FOO > 1\nconst bit<8> X = FOO;\n#else\nconst bit<8> Y = 0;\n#endif\n")
    prog = parse(preprocess(p, defines={"FOO": "3"}), str(p))
    assert [d.name for d in prog.decls] == ["X"]
    prog = parse(preprocess(p), str(p))
    assert [d.name for d in prog.decls] == ["Y"]
