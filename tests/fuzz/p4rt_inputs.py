"""Hostile P4Runtime requests: valid seeds for a program's P4Info, and their mutants.

Two kinds, as a hostile or broken client would send them:

- ``bytes``: the serialized seed (or random garbage) mutated as octets
  (tests/fuzz/mutate.py), so truncated, oversized and invalid protobuf reaches
  the server's decoder;
- ``struct``: the decoded seed with one field made wrong (an unknown id, a
  value one octet too long, a prefix longer than the field, a missing match or
  action, a huge batch, another device, a role, a lower election id, ...).

The good client owns the highest election id, so no input here can take the
primary role from it; Writes that should reach the table code carry the
primary's id (a buggy primary), pipeline pushes are VERIFY only or carry a
lower id, so nothing here may legitimately change what the good client wrote.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from finsy.proto import p4i, p4r
from google.protobuf.message import Message

from tests.fuzz.mutate import Mutator

MAX_ID = (1 << 128) - 1  # the good client's election id
SERVICE = "/p4.v1.P4Runtime/"
UNARY = ("Write", "Read", "SetForwardingPipelineConfig", "GetForwardingPipelineConfig",
         "Capabilities")  # fmt: skip
GOOD_KEY_OCTET = 0xA5  # the good client's entries fill their keys with this; seeds never do


def eid(req: p4r.WriteRequest | p4r.SetForwardingPipelineConfigRequest, value: int) -> None:
    req.election_id.high, req.election_id.low = value >> 64, value & ((1 << 64) - 1)


def width(bits: int) -> int:
    return max(1, (bits + 7) // 8)


def canonical(octet: int, bits: int) -> bytes:
    """``octet`` repeated over a ``bits``-wide field, in P4Runtime's shortest form."""
    v = int.from_bytes(bytes([octet]) * width(bits), "big") & ((1 << bits) - 1) or 1
    return v.to_bytes((v.bit_length() + 7) // 8, "big")


def entry_for(p4info: p4i.P4Info, table: p4i.Table, octet: int) -> p4r.Entity:
    """A well-formed entry of ``table``, every key octet ``octet`` (masked to the field width)."""
    te = p4r.TableEntry(table_id=table.preamble.id)
    for mf in sorted(table.match_fields, key=lambda m: m.id):
        value = canonical(octet, mf.bitwidth)
        fm = te.match.add(field_id=mf.id)
        kind = mf.match_type
        if kind == p4i.MatchField.EXACT:
            fm.exact.value = value
        elif kind == p4i.MatchField.LPM:
            fm.lpm.value, fm.lpm.prefix_len = value, mf.bitwidth
        elif kind == p4i.MatchField.TERNARY:
            fm.ternary.value, fm.ternary.mask = value, value
        elif kind == p4i.MatchField.RANGE:
            fm.range.low, fm.range.high = value, value
        else:
            fm.optional.value = value
        if kind in (p4i.MatchField.TERNARY, p4i.MatchField.RANGE, p4i.MatchField.OPTIONAL):
            te.priority = 10
    actions = {a.preamble.id: a for a in p4info.actions}
    refs = sorted(
        (r for r in table.action_refs if r.scope != p4i.ActionRef.DEFAULT_ONLY), key=lambda r: r.id
    )
    if refs:
        act = actions[refs[-1].id]
        te.action.action.action_id = act.preamble.id
        for p in sorted(act.params, key=lambda p: p.id):
            te.action.action.params.add(param_id=p.id, value=b"\x01")
    return p4r.Entity(table_entry=te)


def writable_tables(p4info: p4i.P4Info) -> list[p4i.Table]:
    """By id: the same inputs for two P4Infos of a program that list tables in other orders."""
    tables = [t for t in p4info.tables if not t.is_const_table and t.match_fields]
    return sorted(tables, key=lambda t: t.preamble.id)


def seeds(p4info: p4i.P4Info, config: bytes, device_id: int) -> dict[str, list[Message]]:
    """Valid requests per RPC for a program (one Write and one Read per table)."""
    out: dict[str, list[Message]] = {name: [] for name in (*UNARY, "StreamChannel")}
    for i, table in enumerate(writable_tables(p4info)):
        w = p4r.WriteRequest(device_id=device_id)
        eid(w, MAX_ID)
        w.updates.add(type=p4r.Update.INSERT + i % 3, entity=entry_for(p4info, table, 0x11 + i))
        out["Write"].append(w)
        r = p4r.ReadRequest(device_id=device_id)
        r.entities.add().table_entry.table_id = table.preamble.id
        out["Read"].append(r)
    out["Read"].append(p4r.ReadRequest(device_id=device_id, entities=[p4r.Entity()]))
    s = p4r.SetForwardingPipelineConfigRequest(device_id=device_id, action=1)  # VERIFY
    s.config.p4info.CopyFrom(p4info)
    s.config.p4_device_config = config
    eid(s, MAX_ID)
    out["SetForwardingPipelineConfig"].append(s)
    for rt in range(5):
        g = p4r.GetForwardingPipelineConfigRequest(device_id=device_id, response_type=rt)
        out["GetForwardingPipelineConfig"].append(g)
    out["Capabilities"].append(p4r.CapabilitiesRequest())
    arb = p4r.StreamMessageRequest()
    arb.arbitration.device_id = device_id
    arb.arbitration.election_id.low = 7
    out["StreamChannel"].append(arb)
    pkt = p4r.StreamMessageRequest()
    pkt.packet.payload = bytes(60)
    pkt.packet.metadata.add(metadata_id=1, value=b"\x01")
    out["StreamChannel"].append(pkt)
    return out


# -- structure-aware mutations --------------------------------------------------
Struct = Callable[[random.Random, Message], str]


def _some_entity(r: random.Random, msg: Message) -> p4r.TableEntry | None:
    if isinstance(msg, p4r.WriteRequest) and msg.updates:
        return msg.updates[0].entity.table_entry
    if isinstance(msg, p4r.ReadRequest) and msg.entities:
        return msg.entities[0].table_entry
    return None


def _bytes_len(r: random.Random, value: bytes) -> bytes:
    return r.choice((b"", value + b"\x00", b"\x00" + value, value[1:], b"\xff" * 64, bytes(4096)))


def s_ids(r: random.Random, msg: Message) -> str:
    te = _some_entity(r, msg)
    if te is None:
        return "noop"
    bad = r.choice((0, 1, 0xFFFFFFFF, te.table_id ^ (1 << 24), r.getrandbits(32)))
    target = r.choice(("table", "field", "action", "param"))
    if target == "table" or not te.match:
        te.table_id = bad
    elif target == "field":
        te.match[r.randrange(len(te.match))].field_id = bad
    elif target == "action":
        te.action.action.action_id = bad
    elif te.action.action.params:
        te.action.action.params[0].param_id = bad
    return f"id:{target}"


def s_widths(r: random.Random, msg: Message) -> str:
    te = _some_entity(r, msg)
    if te is None or not te.match:
        return "noop"
    fm = te.match[r.randrange(len(te.match))]
    kind = fm.WhichOneof("field_match_type")
    if kind == "lpm" and r.random() < 0.5:
        fm.lpm.prefix_len = r.choice((-1, 0, 129, 1 << 30, fm.lpm.prefix_len + 1))
        return "width:prefix_len"
    if kind == "ternary" and r.random() < 0.5:
        fm.ternary.mask = _bytes_len(r, fm.ternary.mask)
        return "width:mask"
    if kind == "range":
        fm.range.low = b"\xff" * len(fm.range.high)
        return "width:range-low>high"
    if kind is not None:
        sub = getattr(fm, kind)
        attr = "low" if kind == "range" else "value"
        setattr(sub, attr, _bytes_len(r, getattr(sub, attr)))
    if te.action.action.params and r.random() < 0.3:
        te.action.action.params[0].value = _bytes_len(r, te.action.action.params[0].value)
        return "width:param"
    return "width:value"


def s_missing(r: random.Random, msg: Message) -> str:
    te = _some_entity(r, msg)
    if isinstance(msg, p4r.WriteRequest) and r.random() < 0.3:
        msg.updates[0].ClearField("entity" if r.random() < 0.5 else "type")
        return "missing:entity-or-type"
    if te is None:
        msg.Clear()
        return "missing:all"
    what = r.choice(("match", "action", "priority", "params"))
    if what == "params":
        te.action.action.ClearField("params")
    else:
        te.ClearField(what)
    return f"missing:{what}"


def s_batch(r: random.Random, msg: Message) -> str:
    if isinstance(msg, p4r.WriteRequest) and msg.updates:
        one = msg.updates[0]
        n = r.choice((2, 100, 5000))
        for _ in range(n - 1):
            msg.updates.append(one)  # duplicates: INSERT twice, DELETE of absent
        return f"batch:{n}"
    if isinstance(msg, p4r.ReadRequest) and msg.entities:
        for _ in range(r.choice((100, 5000))):
            msg.entities.append(msg.entities[0])
        return "batch:read"
    return "noop"


def s_arbitration(r: random.Random, msg: Message) -> str:
    """Another device, a role, a lower (or no) election id."""
    target = msg.arbitration if isinstance(msg, p4r.StreamMessageRequest) else msg
    which = r.choice(("device", "role", "election", "no-election"))
    if which == "device" and hasattr(target, "device_id"):
        target.device_id = (r.choice((1, 2, 0xFFFFFFFFFFFFFFFF)) + target.device_id) % (1 << 64)
    elif which == "role":
        if isinstance(msg, p4r.StreamMessageRequest):
            msg.arbitration.role.name = r.choice(("x", "", "\u00e9" * 100))
        elif hasattr(target, "role"):
            target.role = r.choice(("x", "sdn", "\u00e9" * 100))
    elif which == "election" and hasattr(target, "election_id"):
        value = r.choice((0, 1, MAX_ID - 1, r.getrandbits(127)))
        target.election_id.high, target.election_id.low = value >> 64, value & ((1 << 64) - 1)
    elif hasattr(target, "election_id"):
        target.ClearField("election_id")
    return f"arb:{which}"


def s_packet(r: random.Random, msg: Message) -> str:
    if not isinstance(msg, p4r.StreamMessageRequest) or not msg.HasField("packet"):
        return "noop"
    md = msg.packet.metadata
    which = r.choice(("id", "value", "dup", "none", "payload"))
    if which == "id":
        md[0].metadata_id = r.choice((0, 99, 0xFFFFFFFF))
    elif which == "value":
        md[0].value = _bytes_len(r, md[0].value)
    elif which == "dup":
        md.append(md[0])
    elif which == "none":
        msg.packet.ClearField("metadata")
    else:
        msg.packet.payload = r.choice((b"", bytes(1 << 16), r.randbytes(r.randrange(2000))))
    return f"packet:{which}"


def s_config(r: random.Random, msg: Message) -> str:
    if not isinstance(msg, p4r.SetForwardingPipelineConfigRequest):
        return "noop"
    which = r.choice(("action", "p4info", "device_config", "no-config"))
    if which == "action":
        msg.action = r.choice((0, 4, 5, 99))  # never a commit of the valid config
    elif which == "p4info" and msg.config.p4info.tables:
        msg.config.p4info.tables[0].preamble.id ^= 1
    elif which == "device_config":
        msg.config.p4_device_config = r.randbytes(r.randrange(512))
    else:
        msg.ClearField("config")
    return f"config:{which}"


_ENTRIES = (s_ids, s_widths, s_missing, s_batch, s_arbitration)
STRUCT: dict[str, tuple[Struct, ...]] = {  # the mutations that apply to each RPC's request
    "Write": _ENTRIES,
    "Read": _ENTRIES,
    "SetForwardingPipelineConfig": (s_arbitration, s_config),
    "GetForwardingPipelineConfig": (s_arbitration, s_missing),
    "Capabilities": (s_missing,),
    "StreamChannel": (s_arbitration, s_packet),
}


class Inputs:
    """An endless, seeded supply of (rpc, kind, serialized request) triples."""

    def __init__(self, seeds_by_rpc: dict[str, list[Message]], rng: random.Random) -> None:
        self.seeds, self.rng = seeds_by_rpc, rng
        self.bytes_share = 0.5  # the rest are structure-aware
        self.bytes = {
            rpc: Mutator([(rpc, m.SerializeToString()) for m in msgs], rng)
            for rpc, msgs in seeds_by_rpc.items()
            if rpc != "SetForwardingPipelineConfig"
        }
        # A pushed config mutated as octets could turn VERIFY into a commit: lower id
        low = [m.__class__.FromString(m.SerializeToString()) for m in seeds_by_rpc.get(
            "SetForwardingPipelineConfig", [])]  # fmt: skip
        for m in low:
            eid(m, 5)
        self.bytes["SetForwardingPipelineConfig"] = Mutator(
            [("SetForwardingPipelineConfig", m.SerializeToString()) for m in low], rng
        )

    def one(self, rpc: str) -> tuple[str, bytes]:
        """A hostile request body for ``rpc``: its mutation's name and the bytes."""
        if self.rng.random() < self.bytes_share:
            name, data = self.bytes[rpc].next()
            return "bytes:" + name.split("/", 1)[1], data
        msg = self.rng.choice(self.seeds[rpc])
        msg = msg.__class__.FromString(msg.SerializeToString())
        kind = self.rng.choice(STRUCT[rpc])(self.rng, msg)
        return "struct:" + kind, msg.SerializeToString()
