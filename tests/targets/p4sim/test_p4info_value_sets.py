"""P4Info of parser value sets as P4Runtime spec 8.3 ("ValueSet") and p4c write it,
and the runtime packing the same members the compiled parser matches."""

from __future__ import annotations

from pathlib import Path

import pytest
from finsy.proto import p4i, p4r

from targets.p4sim.frontend.errors import CompileError
from targets.p4sim.program import Program, load
from targets.p4sim.runtime import value_sets
from targets.p4sim.switch import Switch

pytestmark = pytest.mark.unit
PROGRAM = Path(__file__).with_name("programs") / "value_set_struct.p4"
MT = p4i.MatchField.MatchType


def _compile(tmp: Path | None = None, *edits: tuple[str, str]) -> Program:
    if tmp is None:
        return load(PROGRAM)
    src = PROGRAM.read_text()
    for old, new in edits:
        assert old in src
        src = src.replace(old, new)
    (tmp / "bad.p4").write_text(src)
    return load(tmp / "bad.p4")


def _value_sets() -> dict[str, p4i.ValueSet]:
    program = _compile()
    return {vs.preamble.name: vs for vs in program.p4info.value_sets}


def _fields(vs: p4i.ValueSet) -> list[tuple[int, str, int, int]]:
    return [(m.id, m.name, m.bitwidth, m.match_type) for m in vs.match]


def test_bit_value_set_is_one_nameless_exact_field_id_1() -> None:
    """Spec 8.3 case 1 (bit<W>): exactly one MatchField, id 1, bitwidth W, EXACT,
    every other field (the name included) left at its default, as p4c does."""
    vs = _value_sets()["P.pvs8"]
    assert _fields(vs) == [(1, "", 8, MT.EXACT)]
    assert vs.size == 2


def test_struct_value_set_has_one_field_per_member() -> None:
    """Spec 8.3 case 3 (struct): one MatchField per member in declaration order;
    @id kept and the rest numbered from 1 skipping taken ids; @name renames;
    @match sets the kind (EXACT by default) and is not copied as an annotation."""
    vs = _value_sets()["P.pvs"]
    assert _fields(vs) == [
        (1, "f8", 8, MT.EXACT),
        (5, "f16", 16, MT.TERNARY),
        (2, "renamed", 4, MT.LPM),
        (3, "opt", 4, MT.OPTIONAL),
    ]
    assert all(not m.annotations for m in vs.match)
    assert vs.size == 4


def _reject(tmp_path: Path, old: str, new: str) -> str:
    with pytest.raises(CompileError) as exc:
        _compile(tmp_path, (old, new))
    return str(exc.value)


def test_value_sets_p4runtime_cannot_program_are_rejected(tmp_path: Path) -> None:
    """Spec 8.3 cases 2 and 3: a tuple value set, or a struct with a field that is
    not bit<W>, must be rejected by a compiler that generates P4Info."""
    msg = _reject(tmp_path, "value_set<bit<8>>(2) pvs8;", "value_set<tuple<bit<8>>>(2) pvs8;")
    assert "bad.p4:" in msg and "pvs8" in msg and "bit<W>" in msg
    msg = _reject(tmp_path, "bit<8> f8;", "int<8> f8;")
    assert "bad.p4:" in msg and "f8" in msg and "int<8>" in msg


def _member(f8: int, f16: tuple[int, int], f4: tuple[int, int]) -> p4r.ValueSetMember:
    m = p4r.ValueSetMember()
    m.match.add(field_id=1).exact.value = bytes([f8])
    t = m.match.add(field_id=5).ternary
    t.value, t.mask = f16[0].to_bytes(2, "big"), f16[1].to_bytes(2, "big")
    lpm = m.match.add(field_id=2).lpm
    lpm.value, lpm.prefix_len = bytes([f4[0]]), f4[1]
    return m  # opt (optional) omitted: a wildcard


def test_runtime_packs_struct_members_like_the_parser_matches() -> None:
    """A member written against the struct's P4Info fields steers the compiled
    parser exactly as its per-field matches say (select order = member order)."""
    program = _compile()
    switch = Switch(program)
    sets = value_sets.value_sets_from_p4info(program.p4info, switch.value_sets)
    (vs_id,) = [v.id for v in sets.values() if v.name == "P.pvs"]
    entry = p4r.ValueSetEntry(value_set_id=vs_id)
    entry.members.append(_member(0x11, (0x2200, 0xFF00), (0x8, 1)))
    value_sets.write(sets, p4r.Update.MODIFY, entry)

    def accepted(a: int, b: int, c: int, d: int) -> bool:
        frame = bytes([a]) + b.to_bytes(2, "big") + bytes([(c << 4) | d]) + bytes(60)
        ((port, _),) = switch.process(0, frame)
        return port == 1  # the hit state ran

    assert accepted(0x11, 0x22AB, 0x9, 0x3)  # f16 ternary on the top byte, f4 /1, opt any
    assert accepted(0x11, 0x2200, 0xF, 0x0)
    assert not accepted(0x12, 0x22AB, 0x9, 0x3)  # f8 exact differs
    assert not accepted(0x11, 0x23AB, 0x9, 0x3)  # f16's masked byte differs
    assert not accepted(0x11, 0x22AB, 0x7, 0x3)  # f4's top bit differs
    (read,) = value_sets.read(sets, p4r.ValueSetEntry(value_set_id=vs_id))
    got = {f.field_id: f for f in read.value_set_entry.members[0].match}
    assert sorted(got) == [1, 2, 5] and got[2].lpm.prefix_len == 1
