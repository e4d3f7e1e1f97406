"""PacketReplicationEngineEntry writes and reads (P4Runtime spec 9.5).

Multicast groups and clone sessions map onto the engine's
PacketReplicationEngine. Id 0 is the wildcard of reads and never valid in a
write; backup replicas (optional in the spec) are UNIMPLEMENTED; replica
ports may be given as ``egress_port`` or as the ``port`` bytestring and are
read back in the form written, with a group's ``metadata`` (read-write
symmetry, spec 8.1.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from finsy.proto import p4r

from targets.p4sim.runtime import bytestrings as bs
from targets.p4sim.runtime.errors import invalid, unimplemented
from targets.p4sim.runtime.program import ProgramState
from targets.p4sim.state import Replica

T = TypeVar("T")

INSERT, MODIFY, DELETE = p4r.Update.INSERT, p4r.Update.MODIFY, p4r.Update.DELETE


def _replicas(rs: Iterable[p4r.Replica]) -> list[Replica]:
    out = []
    for r in rs:
        if r.WhichOneof("port_kind") == "port":
            port = bs.decode(r.port, 32, "replica port")  # an SDN port (32 bits)
        else:
            port = r.egress_port
        out.append(Replica(port, r.instance))
    return out


def _port_bytes(rs: Iterable[p4r.Replica]) -> bool:
    """Whether the client named ports with the ``port`` bytestring (read back the same way)."""
    return any(r.WhichOneof("port_kind") == "port" for r in rs)


def _add_replicas(out: Any, replicas: Iterable[Replica], as_bytes: bool) -> None:
    for r in replicas:
        if as_bytes:
            out.add(port=bs.encode(r.egress_port), instance=r.instance)
        else:
            out.add(egress_port=r.egress_port, instance=r.instance)


def write(st: ProgramState, op: int, pre: p4r.PacketReplicationEngineEntry) -> None:
    which = pre.WhichOneof("type")
    # spec 9.5: id 0 is the read wildcard, never valid in a write (INVALID_ARGUMENT
    # for MODIFY/DELETE too); backup replicas are optional, UNIMPLEMENTED here.
    if which == "multicast_group_entry":
        ident, reps = (
            pre.multicast_group_entry.multicast_group_id,
            pre.multicast_group_entry.replicas,
        )
    else:
        ident, reps = pre.clone_session_entry.session_id, pre.clone_session_entry.replicas
    if which is not None and ident == 0:
        raise invalid(f"{which}: id 0 is reserved for wildcard reads")
    if any(r.backup_replicas for r in reps):
        raise unimplemented("backup replicas are not supported")
    if which == "multicast_group_entry":
        g = pre.multicast_group_entry
        if op == INSERT:
            st.pre.insert_group(g.multicast_group_id, _replicas(g.replicas))
        elif op == MODIFY:
            st.pre.modify_group(g.multicast_group_id, _replicas(g.replicas))
        else:
            st.pre.delete_group(g.multicast_group_id)
            st.pre_extra.pop((which, ident), None)
            return
        st.pre_extra[(which, ident)] = (g.metadata, _port_bytes(g.replicas))
    elif which == "clone_session_entry":
        c = pre.clone_session_entry
        if op == DELETE:
            st.pre.delete_session(c.session_id)
            st.pre_extra.pop((which, ident), None)
            return
        reps = _replicas(c.replicas)
        args = (c.session_id, reps, c.class_of_service, c.packet_length_bytes)
        if op == INSERT:
            st.pre.insert_session(*args)
        else:
            st.pre.modify_session(*args)
        st.pre_extra[(which, ident)] = (b"", _port_bytes(c.replicas))
    else:
        raise invalid("packet replication engine entry without a group or session")


def _selected(table: dict[int, T], ident: int) -> list[T]:
    """What a read selects: id 0 is every entry, any other id that entry if present."""
    if ident == 0:
        return list(table.values())
    return [table[ident]] if ident in table else []


def read(st: ProgramState, req: p4r.PacketReplicationEngineEntry) -> Iterator[p4r.Entity]:
    which = req.WhichOneof("type")
    if which == "multicast_group_entry":
        gid = req.multicast_group_entry.multicast_group_id
        groups = _selected(st.pre.groups, gid)
        for g in sorted(groups, key=lambda g: g.id):
            out = p4r.Entity()
            mg = out.packet_replication_engine_entry.multicast_group_entry
            mg.multicast_group_id = g.id
            mg.metadata, as_bytes = st.pre_extra.get((which, g.id), (b"", False))
            _add_replicas(mg.replicas, g.replicas, as_bytes)
            yield out
    elif which == "clone_session_entry":
        sid = req.clone_session_entry.session_id
        sessions = _selected(st.pre.sessions, sid)
        for s in sorted(sessions, key=lambda s: s.id):
            out = p4r.Entity()
            cs = out.packet_replication_engine_entry.clone_session_entry
            cs.session_id, cs.class_of_service = s.id, s.class_of_service
            cs.packet_length_bytes = s.packet_length_bytes
            _add_replicas(cs.replicas, s.replicas, st.pre_extra.get((which, s.id), (b"", False))[1])
            yield out
    else:
        raise invalid("packet replication engine read without a group or session")
