"""The client on the product's own P4 program (p4src/cpe.p4) running in p4sim.

For every table of the compiled program, one entry built from its P4Info alone
is written, read back and compared as canonical strings; a second reconcile
must find nothing to do. This checks names, widths, match kinds, action scopes
and canonical bytes against the real target end to end, whatever the program's
tables become.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controller.p4rt import P4RuntimeClient, P4Schema, TableEntry
from controller.p4rt.schema import Table
from targets.p4sim.runtime.bundle import bundle_from_path
from targets.p4sim.runtime.device import Device
from targets.p4sim.runtime.loader import load_engine
from targets.p4sim.runtime.server import start_server

pytestmark = pytest.mark.unit

PROGRAM = Path(__file__).resolve().parents[3] / "p4src" / "cpe.p4"
CPU_PORT = 255


@pytest.fixture
async def cpe_client() -> AsyncIterator[P4RuntimeClient]:
    device = Device(load_engine, device_id=1, cpu_port=CPU_PORT)
    device.load_at_start(bundle_from_path(PROGRAM))
    server, port = await start_server(device, "127.0.0.1:0")
    client = P4RuntimeClient(f"127.0.0.1:{port}", device_id=1, election_id=1)
    try:
        await client.connect(timeout=10)
        yield client
    finally:
        await client.close()
        await server.stop(None)


def sample_entry(schema: P4Schema, table: Table) -> TableEntry:
    """An entry any correct target must accept, built from the P4Info alone."""
    match: dict[str, object] = {}
    for fld in table.match_fields:
        if fld.match_type in ("exact", "optional"):
            match[fld.name] = 1
        elif fld.match_type == "lpm":
            match[fld.name] = (1, fld.bitwidth)
        elif fld.match_type == "ternary":
            match[fld.name] = (1, 1)
        elif fld.match_type == "range":
            match[fld.name] = (1, 2)
    action = next(schema.actions[a] for a in table.action_ids if a not in table.default_only_ids)
    params = {p.name: 1 for p in action.params}
    priority = 1 if table.needs_priority else 0
    return TableEntry(table.short, match, action.short, params, priority=priority)


async def test_every_table_of_the_cpe_program_round_trips(cpe_client: P4RuntimeClient) -> None:
    config = await cpe_client.get_pipeline()  # adopt the running program's P4Info
    assert cpe_client.codec is not None
    schema = cpe_client.codec.schema
    tables = [t for t in schema.tables if not t.is_const]
    assert {"port_role", "tunnel"} <= {t.short for t in tables}
    entries = [sample_entry(schema, t) for t in tables]
    await cpe_client.insert(entries)
    want = sorted(cpe_client.entry_string(x) for x in entries)
    assert await cpe_client.dump_tables() == want
    plan = await cpe_client.reconcile(entries, [TableEntry("*")])
    assert plan.updates == [] and plan.unchanged == len(entries)
    # Every table's default entry reads back and prints.
    defaults = await cpe_client.read([TableEntry(t.short, is_default=True) for t in tables])
    assert len(defaults) == len(tables)
    assert all(" default -> " in cpe_client.entry_string(d) for d in defaults)
    # Pushing the same pipeline again through the client is accepted as is.
    await cpe_client.set_pipeline(config.p4info, config.p4_device_config)
    assert await cpe_client.dump_tables() == []
