"""Static checks of the C-PE P4 program: it parses, ids are sound, docs match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from targets.p4sim.frontend.parser import parse
from targets.p4sim.frontend.preprocess import preprocess

P4SRC = Path(__file__).resolve().parents[2] / "p4src"
INCLUDE = P4SRC / "include"
pytestmark = pytest.mark.unit


def _sources() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(INCLUDE.glob("*.p4"))}


@pytest.mark.parametrize("defines", [(), ("CPU_PORT=192", "CRYPTO_PORT=193")])
def test_program_parses_with_p4sim_front_end(defines: tuple[str, ...]) -> None:
    text = preprocess(P4SRC / "cpe.p4", defines=defines)
    program = parse(text, str(P4SRC / "cpe.p4"))
    assert program.decls, "no declarations parsed"


def test_every_id_used_is_defined_once_with_its_resource_prefix() -> None:
    ids = dict(re.findall(r"#define ([A-Z_0-9]+) (0x[0-9a-f]{8})", _sources()["ids.p4"]))
    values = [int(v, 16) for v in ids.values()]
    assert len(values) == len(set(values)), "duplicate P4Runtime id"
    prefix = {"TABLE": 0x02, "ACTION": 0x01, "COUNTER": 0x12}
    for name, value in ids.items():
        assert int(value, 16) >> 24 == prefix[name.split("_")[0]], name
    used = {u for text in _sources().values() for u in re.findall(r"@id\(([A-Z_0-9]+)\)", text)}
    assert used == set(ids), f"used but undefined: {used - set(ids)}; unused: {set(ids) - used}"


@pytest.mark.parametrize("kind", ["DROP", "PUNT"])
def test_reasons_are_unique_and_documented(kind: str) -> None:
    defines = _sources()["defines.p4"]
    reasons = dict(re.findall(rf"const bit<8> {kind}_([A-Z0-9_]+) = (\d+);", defines))
    del reasons["NONE"]
    count = int(re.findall(rf"#define {kind}_REASON_COUNT (\d+)", defines)[0])
    assert len(set(reasons.values())) == len(reasons)
    assert max(int(v) for v in reasons.values()) < count, "counter too small for the reasons"
    readme = (P4SRC / "README.md").read_text()
    for name, value in reasons.items():
        assert re.search(rf"\b{value} `{name}`", readme), f"{kind}_{name} = {value} not in README"


def test_controller_names_every_drop_reason_of_the_program() -> None:
    """`sl3vpn show drops` and the metrics name each drop_counter index as defines.p4 does."""
    from controller.api.source import DROP_REASONS

    defines = _sources()["defines.p4"]
    reasons = {
        int(v): n for n, v in re.findall(r"const bit<8> DROP_([A-Z0-9_]+) = (\d+);", defines)
    }
    del reasons[0]
    assert reasons == DROP_REASONS


def test_crypto_header_constants_follow_the_contract() -> None:
    text = _sources()["crypto.p4"]
    consts = dict(re.findall(r"const bit<8> (CRYPTO_[A-Z_]+) = (\d+);", text))
    assert consts["CRYPTO_OP_ENCRYPT"] == "1" and consts["CRYPTO_OP_DECRYPT"] == "2"
    results = ["OK", "NO_SA", "AUTH_FAILED", "REPLAY", "MALFORMED", "SA_EXPIRED", "SEQ_EXHAUSTED"]
    assert [int(consts[f"CRYPTO_RESULT_{r}"]) for r in results] == list(range(7))


def test_readme_names_every_table_and_counter_p4info_has() -> None:
    """The P4Runtime names in p4src/README.md are the ones the compiled program exposes."""
    engine = pytest.importorskip("targets.p4sim.engine")
    p4info = engine.load_program(P4SRC / "cpe.p4", defines={}).p4info
    names = {t.preamble.name for t in p4info.tables} | {c.preamble.name for c in p4info.counters}
    readme = (P4SRC / "README.md").read_text()
    documented = set()
    # "`CpeIngress.c.t_v4` / `_v6`" and "`CpeIngress.c.x_counter` / `y_counter`" name two.
    for full, other in re.findall(r"`(Cpe(?:Ingress|Egress)\.[\w.]+)`(?: / `(\w+)`)?", readme):
        documented.add(full)
        if other.startswith("_"):
            documented.add(full.removesuffix("_v4") + other)
        elif other:
            documented.add(full.rsplit(".", 1)[0] + "." + other)
    assert documented == names, (
        f"documented only: {sorted(documented - names)}; undocumented: {sorted(names - documented)}"
    )
