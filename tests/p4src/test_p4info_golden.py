"""p4sim's P4Info for p4src/cpe.p4 is p4c's, for every set of defines the project uses.

The golden files under p4src/golden/ were written by p4c-bm2-ss 1.2.4.8
(``scripts/p4info_golden.py``); they are compared on every run, so a p4sim
change that drifts from p4c fails here without the tools. When p4c-bm2-ss is
found, a fresh compile is compared too (and with the golden file, which
catches a golden file left stale by a change to the program).
"""

from __future__ import annotations

import difflib
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "p4info_golden.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("p4info_golden", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


golden = _load_script()
VARIANTS = sorted(golden.VARIANTS)


def same(expected: str, got: str, what: str) -> None:
    if expected != got:
        diff = difflib.unified_diff(
            expected.splitlines(), got.splitlines(), "p4c", what, lineterm="", n=2
        )
        pytest.fail("P4Info differs from p4c's:\n" + "\n".join(list(diff)[:80]))


@pytest.mark.unit
@pytest.mark.parametrize("variant", VARIANTS)
def test_p4sim_p4info_matches_the_p4c_golden_file(variant: str) -> None:
    path = golden.golden_path(variant)
    assert path.is_file(), f"{path} missing: run scripts/p4info_golden.py with p4c-bm2-ss"
    expected = golden.canonical(golden.parse(path.read_text()))
    same(expected, golden.canonical(golden.p4sim_p4info(variant)), f"p4sim ({variant})")


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS)
def test_p4sim_p4info_matches_p4c_now(variant: str) -> None:
    try:
        text, _ = golden.p4c_p4info(variant)
    except golden.ToolMissing as exc:
        pytest.skip(str(exc))
    expected = golden.canonical(golden.parse(text))
    same(expected, golden.canonical(golden.p4sim_p4info(variant)), f"p4sim ({variant})")
    stored = golden.canonical(golden.parse(golden.golden_path(variant).read_text()))
    same(expected, stored, f"{golden.golden_path(variant).name} (stale?)")
