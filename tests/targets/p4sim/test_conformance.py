"""Conformance suite: each conformance/NAME.p4 runs against conformance/NAME.stf.

Programs under conformance/errors/ must be rejected: their first line is
``// expect-error: LINE: TEXT`` and the compiler's message must be
``FILE:LINE:COL: error: ...TEXT...``.
"""

import re
from pathlib import Path

import pytest

from targets.p4sim.frontend.errors import CompileError
from targets.p4sim.program import load
from targets.p4sim.stf import run_stf
from targets.p4sim.switch import Switch

HERE = Path(__file__).parent / "conformance"
CASES = sorted(p.stem for p in HERE.glob("*.stf"))
ERRORS = sorted(p.name for p in (HERE / "errors").glob("*.p4"))


@pytest.mark.unit
@pytest.mark.parametrize("name", CASES)
def test_stf(name: str) -> None:
    prog = load(HERE / f"{name}.p4")
    result = run_stf(Switch(prog), (HERE / f"{name}.stf").read_text())
    assert result.ok, "\n".join(result.failures)
    assert result.packets > 0


@pytest.mark.unit
@pytest.mark.parametrize("name", ERRORS)
def test_rejected(name: str) -> None:
    path = HERE / "errors" / name
    m = re.match(r"// expect-error: (\d+): (.*)", path.read_text().splitlines()[0])
    assert m, f"{name} lacks an expect-error line"
    with pytest.raises(CompileError) as exc:
        load(path)
    text = str(exc.value)
    assert re.match(rf"\S*{re.escape(name)}:{m.group(1)}:\d+: error: ", text), text
    assert m.group(2) in text, text
