"""P4Runtime client of the controller: names in, minimal writes out.

Controller code never sees a P4Info ID. Typical use::

    from controller.p4rt import P4RuntimeClient, TableEntry, PacketOut, load_p4info

    client = P4RuntimeClient("127.0.0.1:9559", device_id=1, election_id=1)
    await client.connect()                      # stream + arbitration; waits to be primary
    await client.set_pipeline(p4info, device_config)   # or client.use_pipeline(p4info)
    await client.insert([
        TableEntry("vrf_fib", {"vrf": 2, "dst": "10.1.0.0/16"},
                   "push_label", {"label": 100, "tunnel": 3}),
        TableEntry("acl", {"proto": (6, 0xFF), "dport": (179, 179)}, "punt", priority=10),
        TableEntry("vrf_fib", action="drop", is_default=True),   # use modify() for defaults
    ])
    entries = await client.read([TableEntry("vrf_fib")])        # wildcard read
    [client.entry_string(x) for x in entries]   # or: await client.dump_tables()
    # -> ["vrf_fib vrf=2 dst=10.1.0.0/16 -> push_label(label=100, tunnel=3)", ...]
    plan = await client.reconcile(desired, scope=[TableEntry("vrf_fib")],
                                  order=["tunnel", "vrf_fib"])
    await client.packet_out(PacketOut(frame, {"egress_port": 1}))
    pkt = await client.packet_in(timeout=1.0)   # PacketIn(payload, {"ingress_port": 3, ...})

Modules:

- ``values``: canonical bytestrings (ints, IPv4/IPv6, MAC text in; ints out).
- ``schema``: P4Info names/aliases <-> IDs (tables, actions, externs, metadata).
- ``entities``: the domain objects (TableEntry, CounterEntry, DirectCounterEntry,
  RegisterEntry, MeterEntry, DirectMeterEntry, MulticastGroup, CloneSession,
  ValueSetEntry, PacketIn, PacketOut) and the accepted match value forms.
- ``codec``: entities <-> ``p4.v1.Entity`` (canonical bytes, strict checks).
- ``canonical``: one-line readable strings for entities.
- ``reconcile``: the pure desired/current diff (``diff`` -> ``Plan``, ``entity_key``).
- ``stream``: the arbitrated StreamChannel (primaryship, back-off reconnect, packets).
- ``encoder``: WriteRequests as bytes from per-table templates (Codec for the rest).
- ``write``: per-update error decoding into ``WriteError``.
- ``client``: the asyncio gRPC client (arbitration with back-off, pipeline,
  Write/Read/reconcile, PacketIn/Out).

Errors are ``P4RuntimeClientError`` subclasses with one-line messages:
``P4ValueError`` (bad value), ``SchemaError`` (unknown name), ``WriteError``
(``.failures`` lists each failed update with its canonical string),
``RpcError``, ``NotPrimaryError``.
"""

from __future__ import annotations

from controller.p4rt.canonical import entity_string, table_entry_string
from controller.p4rt.client import P4RuntimeClient
from controller.p4rt.codec import Codec
from controller.p4rt.entities import (
    CloneSession,
    CounterData,
    CounterEntry,
    DirectCounterEntry,
    DirectMeterEntry,
    Entity,
    MeterConfig,
    MeterEntry,
    MulticastGroup,
    PacketIn,
    PacketOut,
    RegisterEntry,
    Replica,
    TableEntry,
    ValueSetEntry,
)
from controller.p4rt.errors import (
    NotPrimaryError,
    P4RuntimeClientError,
    P4ValueError,
    RpcError,
    SchemaError,
    UpdateFailure,
    WriteError,
)
from controller.p4rt.reconcile import Plan, diff
from controller.p4rt.schema import P4Schema, load_p4info
from controller.p4rt.stream import ArbitrationStatus

__all__ = [
    "ArbitrationStatus",
    "CloneSession",
    "Codec",
    "CounterData",
    "CounterEntry",
    "DirectCounterEntry",
    "DirectMeterEntry",
    "Entity",
    "MeterConfig",
    "MeterEntry",
    "MulticastGroup",
    "NotPrimaryError",
    "P4RuntimeClient",
    "P4RuntimeClientError",
    "P4Schema",
    "P4ValueError",
    "PacketIn",
    "PacketOut",
    "Plan",
    "RegisterEntry",
    "Replica",
    "RpcError",
    "SchemaError",
    "TableEntry",
    "UpdateFailure",
    "ValueSetEntry",
    "WriteError",
    "diff",
    "entity_string",
    "load_p4info",
    "table_entry_string",
]
