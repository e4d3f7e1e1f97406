"""Static checks of the TNA C-PE program (p4src/tna/) that need no Tofino compiler."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from targets.p4sim.frontend.parser import parse
from targets.p4sim.frontend.preprocess import preprocess

P4SRC = Path(__file__).resolve().parents[2] / "p4src"
TNA = P4SRC / "cpe_tna.p4"
pytestmark = pytest.mark.unit


@pytest.mark.parametrize("defines", [(), ("CPU_PORT=192", "CRYPTO_PORT=60")])
def test_tna_program_parses_with_p4sim_tna_declarations(defines: tuple[str, ...]) -> None:
    # <tna.p4> resolves to p4sim's own declarations (targets/p4sim/p4include).
    program = parse(preprocess(TNA, defines=defines), str(TNA))
    names = {getattr(d, "name", None) for d in program.decls}
    assert {"CpeIngress", "CpeEgress", "CpeTnaIngressParser", "main"} <= names


def test_tna_program_shares_every_control_of_the_v1model_program() -> None:
    def includes(path: Path) -> set[str]:
        found = re.findall(r'#include "(?:\.\./)?(?:include/)?([a-z_0-9]+\.p4)"', path.read_text())
        return set(found)

    # Only the architecture-specific files differ: parser/deparser, checksum, egress, ingress.
    v1model_only = {"parser.p4", "checksum.p4", "egress.p4", "ingress.p4"}
    tna_only = {"v1model_compat.p4", "parser.p4", "egress.p4", "ingress.p4"}
    shared = includes(P4SRC / "cpe.p4") - v1model_only
    assert shared <= includes(TNA) - tna_only | {"frame_states.p4"}
    assert "ingress_flow.p4" in (P4SRC / "tna" / "ingress.p4").read_text()
