"""Packet replication engine: multicast groups and clone sessions.

Mirrors what simple_switch's PRE does: a multicast group is a list of
(egress_port, egress_rid) replicas; a clone session is a list of replicas
plus a class of service and an optional truncation length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from targets.p4sim.state.errors import StateError


@dataclass(frozen=True)
class Replica:
    egress_port: int
    instance: int = 0  # becomes standard_metadata.egress_rid


@dataclass
class MulticastGroup:
    id: int
    replicas: tuple[Replica, ...]


@dataclass
class CloneSession:
    id: int
    replicas: tuple[Replica, ...]
    class_of_service: int = 0
    packet_length_bytes: int = 0  # 0 = no truncation


class PacketReplicationEngine:
    def __init__(self) -> None:
        self.groups: dict[int, MulticastGroup] = {}
        self.sessions: dict[int, CloneSession] = {}

    @staticmethod
    def _check_replicas(replicas: Sequence[Replica]) -> tuple[Replica, ...]:
        seen: set[Replica] = set()
        for r in replicas:
            if r in seen:
                raise StateError(f"duplicate replica port={r.egress_port} rid={r.instance}")
            if not 0 <= r.egress_port < 1 << 9 and r.egress_port != 0xFFFFFFFD:
                raise StateError(f"replica port {r.egress_port} out of range", "out_of_range")
            seen.add(r)
        return tuple(replicas)

    # multicast groups
    def insert_group(self, group_id: int, replicas: Sequence[Replica]) -> None:
        if group_id <= 0:
            raise StateError(f"multicast group id {group_id} must be positive")
        if group_id in self.groups:
            raise StateError(f"multicast group {group_id} exists", "already_exists")
        self.groups[group_id] = MulticastGroup(group_id, self._check_replicas(replicas))

    def modify_group(self, group_id: int, replicas: Sequence[Replica]) -> None:
        if group_id not in self.groups:
            raise StateError(f"multicast group {group_id} not found", "not_found")
        self.groups[group_id] = MulticastGroup(group_id, self._check_replicas(replicas))

    def delete_group(self, group_id: int) -> None:
        if self.groups.pop(group_id, None) is None:
            raise StateError(f"multicast group {group_id} not found", "not_found")

    # clone sessions
    def insert_session(
        self,
        session_id: int,
        replicas: Sequence[Replica],
        class_of_service: int = 0,
        packet_length_bytes: int = 0,
    ) -> None:
        if session_id <= 0:
            raise StateError(f"clone session id {session_id} must be positive")
        if session_id in self.sessions:
            raise StateError(f"clone session {session_id} exists", "already_exists")
        self.sessions[session_id] = CloneSession(
            session_id, self._check_replicas(replicas), class_of_service, packet_length_bytes
        )

    def modify_session(
        self,
        session_id: int,
        replicas: Sequence[Replica],
        class_of_service: int = 0,
        packet_length_bytes: int = 0,
    ) -> None:
        if session_id not in self.sessions:
            raise StateError(f"clone session {session_id} not found", "not_found")
        self.sessions[session_id] = CloneSession(
            session_id, self._check_replicas(replicas), class_of_service, packet_length_bytes
        )

    def delete_session(self, session_id: int) -> None:
        if self.sessions.pop(session_id, None) is None:
            raise StateError(f"clone session {session_id} not found", "not_found")

    def reset(self) -> None:
        self.groups.clear()
        self.sessions.clear()
