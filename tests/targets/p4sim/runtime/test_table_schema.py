"""The fast paths (table_schema.py) agree with the general decoder and encoder.

For generated TableEntry messages -- valid ones and ones broken in every way
the fast path could miss (unknown or repeated ids, wrong kinds, empty or too
wide values, prefix lengths, host bits, scopes, missing or extra params) --
the fast path either declines (and the general path decides) or gives the
entry, identity and action the general path gives; and the read templates
give the bytes the general encoder gives.
"""

from __future__ import annotations

import pytest
from finsy.proto import p4i, p4r
from hypothesis import given, settings
from hypothesis import strategies as st

from targets.p4sim.runtime.errors import P4RTError
from targets.p4sim.runtime.program import state_from_p4info
from targets.p4sim.runtime.table_codec import encode_entry, entry_from_msg, param_ids_from_p4info
from targets.p4sim.runtime.table_schema import Schemas
from targets.p4sim.state import StateError

pytestmark = pytest.mark.unit


def _p4info() -> p4i.P4Info:
    """fib (vrf exact 12, dst lpm 32) and host (vrf, dst exact 12/9); actions push
    (label 20 bits, tunnel 3 bits), miss (@defaultonly in fib) and drop."""
    info = p4i.P4Info()
    for aid, name, params in ((10, "push", [20, 3]), (11, "miss", []), (12, "drop", [])):
        act = info.actions.add()
        act.preamble.id, act.preamble.name = aid, name
        for pid, width in enumerate(params, 1):
            act.params.add(id=pid, name=f"p{pid}", bitwidth=width)
    lpm, exact = p4i.MatchField.LPM, p4i.MatchField.EXACT
    for tid, name, keys in (
        (1, "fib", [(1, 12, exact), (2, 32, lpm)]),
        (2, "host", [(1, 12, exact), (3, 9, exact)]),
    ):
        t = info.tables.add(size=64)
        t.preamble.id, t.preamble.name = tid, name
        for fid, width, kind in keys:
            t.match_fields.add(id=fid, name=f"k{fid}", bitwidth=width, match_type=kind)
        t.action_refs.add(id=10)
        if tid == 1:
            t.action_refs.add(id=11, scope=p4i.ActionRef.DEFAULT_ONLY)
        t.action_refs.add(id=12)
    return info


def program() -> Schemas:
    info = _p4info()
    return Schemas(state_from_p4info(info).tables, param_ids_from_p4info(info))


def enc(value: int, pad: int) -> bytes:
    return bytes(pad) + value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")


@st.composite
def valid_entries(draw: st.DrawFn) -> p4r.TableEntry:
    """A valid entry, with zero padding and field/param order chosen at random."""
    tid = draw(st.sampled_from([1, 2]))
    te = p4r.TableEntry(table_id=tid)
    pad = st.integers(0, 2)
    fields = [p4r.FieldMatch(field_id=1)]
    fields[0].exact.value = enc(draw(st.integers(0, 4095)), draw(pad))
    if tid == 1:
        plen = draw(st.integers(1, 32))
        value = draw(st.integers(0, 2**32 - 1)) & ~((1 << (32 - plen)) - 1)
        if draw(st.integers(0, 4)):  # else: the /0 wildcard, omitted
            lpm = p4r.FieldMatch(field_id=2)
            lpm.lpm.value, lpm.lpm.prefix_len = enc(value, draw(pad)), plen
            fields.append(lpm)
    else:
        fields.append(p4r.FieldMatch(field_id=3))
        fields[1].exact.value = enc(draw(st.integers(0, 511)), draw(pad))
    te.match.extend(draw(st.permutations(fields)))
    act = te.action.action
    if draw(st.booleans()):
        act.action_id = 10
        params = [(1, draw(st.integers(0, 2**20 - 1))), (2, draw(st.integers(0, 7)))]
        for pid, v in draw(st.permutations(params)):
            act.params.add(param_id=pid, value=enc(v, draw(pad)))
    else:
        act.action_id = 12
    return te


def _break(te: p4r.TableEntry, how: int, data: bytes) -> None:
    """One way of making an entry invalid (or not: some mutations keep it valid)."""
    m, a = te.match, te.action.action
    if how == 0 and m:
        m[0].field_id = 4  # unknown field id
    elif how == 1 and m:
        m.add().CopyFrom(m[0])  # a field twice
    elif how == 2 and m:
        fm = m[-1]
        (fm.lpm if fm.WhichOneof("field_match_type") == "lpm" else fm.exact).value = data
    elif how == 3:
        te.priority = 1
    elif how == 4:
        a.action_id = 11 if data[:1] == b"\x00" else 13  # DEFAULT_ONLY, or unknown
    elif how == 5 and a.params:
        del a.params[0]  # missing parameter
    elif how == 6:
        a.params.add(param_id=data[0] % 4 if data else 1, value=data)  # extra or twice
    elif how == 7 and a.params:
        a.params[-1].value = data  # empty, padded or too wide
    elif how == 8 and m and m[-1].WhichOneof("field_match_type") == "lpm":
        m[-1].lpm.prefix_len = data[0] % 40 - 2 if data else 0  # out of range or host bits
    elif how == 9 and m:
        value = m[0].exact.value or b"\x01"
        m[0].ClearField("exact")
        m[0].ternary.value, m[0].ternary.mask = value, value  # the wrong kind
    elif how == 10:
        te.action.action_profile_member_id = 1
    elif how == 11 and m:
        del m[0]  # an exact field missing


@st.composite
def table_entries(draw: st.DrawFn) -> p4r.TableEntry:
    te = draw(valid_entries())
    for how in draw(st.lists(st.integers(0, 11), max_size=2)):
        _break(te, how, draw(st.binary(max_size=6)))
    return te


@settings(max_examples=600, deadline=None)
@given(table_entries())
def test_fast_path_agrees_with_the_general_decoder(te: p4r.TableEntry) -> None:
    schemas = program()
    schema = schemas[te.table_id]
    table = schema.table
    fast = schema.decode(te)
    try:
        slow = entry_from_msg(table, schemas.pids, te)
        table.insert(slow)  # normalises and checks as the general path does
    except (P4RTError, StateError):
        assert fast is None, f"fast path accepted what the general path refuses: {te}"
        return
    # Reads: the template gives the bytes the general encoder does.
    template = schema._from_template(slow)
    assert template is not None
    assert template == encode_entry(table, schemas.pids, slow).SerializeToString()
    if fast is None:
        return  # declining is always allowed
    entry, ident = fast
    assert entry.matches == slow.matches
    assert entry.action == slow.action and entry.priority == slow.priority
    assert ident == table.identity(slow)


def test_fast_path_takes_the_common_shape() -> None:
    schemas = program()
    te = p4r.TableEntry(table_id=1)
    te.match.add(field_id=2).lpm.CopyFrom(
        p4r.FieldMatch.LPM(value=b"\x0a\x01\x00\x00", prefix_len=16)
    )
    te.match.add(field_id=1).exact.value = b"\x00\x07"  # padding is accepted
    te.action.action.action_id = 10
    te.action.action.params.add(param_id=2, value=b"\x05")
    te.action.action.params.add(param_id=1, value=b"\x01\x00")
    fast = schemas[1].decode(te)
    assert fast is not None
    entry, ident = fast
    assert ident == (16, (7, 0x0A010000))
    assert entry.action.action == "push" and entry.action.args == (256, 5)
