"""Small builders of P4Runtime messages for the tests (ids from fake_program)."""

from __future__ import annotations

from finsy.proto import p4r

from .fake_program import ACL, FWD, LPM, SET_PORT

INSERT, MODIFY, DELETE = p4r.Update.INSERT, p4r.Update.MODIFY, p4r.Update.DELETE


def update(op: int, entity: p4r.Entity) -> p4r.Update:
    return p4r.Update(type=op, entity=entity)


def action(te: p4r.TableEntry, action_id: int, *params: bytes) -> p4r.TableEntry:
    te.action.action.action_id = action_id
    for i, v in enumerate(params, 1):
        te.action.action.params.add(param_id=i, value=v)
    return te


def fwd(port: bytes, out: bytes = b"\x02", action_id: int = SET_PORT, prio: int = 0) -> p4r.Entity:
    te = p4r.TableEntry(table_id=FWD, priority=prio)
    te.match.add(field_id=1).exact.value = port
    if action_id == SET_PORT:
        action(te, action_id, out)
    else:
        action(te, action_id)
    return p4r.Entity(table_entry=te)


def lpm(value: bytes, plen: int, out: bytes = b"\x01") -> p4r.Entity:
    te = p4r.TableEntry(table_id=LPM)
    f = te.match.add(field_id=1)
    f.lpm.value, f.lpm.prefix_len = value, plen
    return p4r.Entity(table_entry=action(te, SET_PORT, out))


def acl(
    priority: int,
    ternary: tuple[bytes, bytes] | None = None,
    rng: tuple[bytes, bytes] | None = None,
    opt: bytes | None = None,
    action_id: int = 16777219,
) -> p4r.Entity:
    te = p4r.TableEntry(table_id=ACL, priority=priority)
    if ternary is not None:
        f = te.match.add(field_id=1)
        f.ternary.value, f.ternary.mask = ternary
    if rng is not None:
        f = te.match.add(field_id=2)
        f.range.low, f.range.high = rng
    if opt is not None:
        te.match.add(field_id=3).optional.value = opt
    return p4r.Entity(table_entry=action(te, action_id))
