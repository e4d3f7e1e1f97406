"""Tables with const entries (P4Runtime spec 9.1.3, Constant Tables), on the real engine.

valueset.p4's const_fwd has ``const entries = { 9: send(3); }``, a non-const
default action and a direct counter. The spec allows only MODIFYs of direct
resources and of the default action there; every other write is
PERMISSION_DENIED.
"""

from __future__ import annotations

import asyncio

import grpc
import pytest
from finsy.proto import p4r

from targets.p4sim.runtime.ports import InprocPort

from .conftest import Rig, write_errors
from .engine_rig import valueset_p4info

pytestmark = pytest.mark.unit
C = grpc.StatusCode
INSERT, MODIFY, DELETE = p4r.Update.INSERT, p4r.Update.MODIFY, p4r.Update.DELETE


def ids() -> dict[str, int]:
    info = valueset_p4info()
    return {x.preamble.name: x.preamble.id for x in [*info.tables, *info.actions]}


def const_fwd(port: int, action: str | None = None, *params: bytes) -> p4r.Entity:
    te = p4r.TableEntry(table_id=ids()["VsIngress.const_fwd"])
    te.match.add(field_id=1).exact.value = bytes([port])
    if action is not None:
        te.action.action.action_id = ids()[action]
        for i, v in enumerate(params, 1):
            te.action.action.params.add(param_id=i, value=v)
    return p4r.Entity(table_entry=te)


async def test_writes_to_const_entries_are_permission_denied_spec_9_1_3(
    vs_rig: tuple[Rig, InprocPort],
) -> None:
    rig, _ = vs_rig
    with pytest.raises(grpc.aio.AioRpcError) as exc:
        await rig.write(
            p4r.Update(type=INSERT, entity=const_fwd(5, "VsIngress.send", b"\x01")),
            p4r.Update(type=MODIFY, entity=const_fwd(9, "VsIngress.send", b"\x04")),
            p4r.Update(type=MODIFY, entity=const_fwd(9, "VsIngress.send", b"\x03")),  # same
            p4r.Update(type=DELETE, entity=const_fwd(9)),
        )
    errs = write_errors(exc.value)
    assert [e.canonical_code for e in errs] == [C.PERMISSION_DENIED.value[0]] * 4
    assert all("const" in e.message for e in errs)
    (got,) = await rig.read(const_fwd(9))
    assert got.table_entry.is_const
    assert got.table_entry.action.action.params[0].value == b"\x03"


async def test_const_entry_direct_counter_and_default_action_can_be_modified(
    vs_rig: tuple[Rig, InprocPort],
) -> None:
    rig, wire = vs_rig
    await asyncio.to_thread(wire.inject, 9, b"\x00" * 64)
    assert (await asyncio.to_thread(wire.sent.get, True, 5))[0] == 3  # the const entry
    counted = const_fwd(9)
    counted.table_entry.counter_data.SetInParent()
    (got,) = await rig.read(counted)
    assert got.table_entry.counter_data.packet_count == 1
    reset = const_fwd(9)
    reset.table_entry.counter_data.packet_count = 100
    await rig.write(p4r.Update(type=MODIFY, entity=reset))  # direct resource only: allowed
    (got,) = await rig.read(counted)
    assert got.table_entry.counter_data.packet_count == 100
    default = p4r.Entity(table_entry=p4r.TableEntry(table_id=ids()["VsIngress.const_fwd"]))
    default.table_entry.is_default_action = True
    default.table_entry.action.action.action_id = ids()["VsIngress.send"]
    default.table_entry.action.action.params.add(param_id=1, value=b"\x04")
    await rig.write(p4r.Update(type=MODIFY, entity=default))  # non-const default: allowed
    read_default = p4r.Entity(table_entry=p4r.TableEntry(table_id=default.table_entry.table_id))
    read_default.table_entry.is_default_action = True
    (got,) = await rig.read(read_default)
    assert got.table_entry.action.action.params[0].value == b"\x04"
