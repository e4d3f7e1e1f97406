"""The controller's names are the same in the P4Info of both C-PE programs.

The daemon drives p4src/cpe.p4 (v1model) and p4src/cpe_tna.p4 (TNA) with the
same code, by name: tables with their match fields, actions with their
params, counters and the packet_in/packet_out headers. p4sim's P4Info of the
two programs must agree on all of them, ids included: p4sim derives an id from
the object kind and its name, so a differing id would mean a differing name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from finsy.proto import p4i

from targets.p4sim.engine import load_program

P4SRC = Path(__file__).resolve().parents[3] / "p4src"
pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def infos() -> tuple[p4i.P4Info, p4i.P4Info]:
    return (
        load_program(P4SRC / "cpe.p4", defines={}).p4info,
        load_program(P4SRC / "cpe_tna.p4", defines={}).p4info,
    )


def _tables(info: p4i.P4Info) -> dict[str, Any]:
    return {
        t.preamble.name: (
            t.preamble.id,
            [(m.name, m.id, m.bitwidth, m.match_type) for m in t.match_fields],
            sorted(r.id for r in t.action_refs),
            t.const_default_action_id,
            t.size,
        )
        for t in info.tables
    }


def _actions(info: p4i.P4Info) -> dict[str, Any]:
    return {
        a.preamble.name: (a.preamble.id, [(p.name, p.id, p.bitwidth) for p in a.params])
        for a in info.actions
    }


def _counters(info: p4i.P4Info) -> dict[str, Any]:
    found = {c.preamble.name: (c.preamble.id, c.spec.unit, c.size) for c in info.counters}
    for d in info.direct_counters:
        found[d.preamble.name] = (d.preamble.id, d.spec.unit, d.direct_table_id)
    return found


def _packet_io(info: p4i.P4Info) -> dict[str, Any]:
    return {
        c.preamble.name: (c.preamble.id, [(m.name, m.id, m.bitwidth) for m in c.metadata])
        for c in info.controller_packet_metadata
    }


@pytest.mark.parametrize("kind", [_tables, _actions, _counters, _packet_io])
def test_same_names_and_ids(infos: tuple[p4i.P4Info, p4i.P4Info], kind: Any) -> None:
    v1model, tna = kind(infos[0]), kind(infos[1])
    assert v1model, f"{kind.__name__}: nothing in cpe.p4's P4Info"
    only_v1 = sorted(set(v1model) - set(tna))
    only_tna = sorted(set(tna) - set(v1model))
    assert not only_v1 and not only_tna, f"only in cpe.p4: {only_v1}; only in TNA: {only_tna}"
    differ = {n: (v1model[n], tna[n]) for n in v1model if v1model[n] != tna[n]}
    assert not differ, f"same name, different shape (cpe.p4, cpe_tna.p4): {differ}"


def test_controller_names_present(infos: tuple[p4i.P4Info, p4i.P4Info]) -> None:
    """The names the daemon writes exist in the TNA program (not only in both)."""
    tna = infos[1]
    tables = {t.preamble.name for t in tna.tables}
    assert "CpeIngress.port_classify.port_role" in tables
    assert "CpeIngress.crypto_return.inbound_sa_v4" in tables
    assert {c.preamble.name for c in tna.controller_packet_metadata} == {"packet_in", "packet_out"}
