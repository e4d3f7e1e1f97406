"""Action profiles and action selectors (v1model `action_profile` / `action_selector`).

A table whose `implementation` is a profile holds :class:`ProfileRef` entries
(a member or a group) instead of direct :class:`ActionCall`\\ s. A selector
picks a group member with the hash of the table's `selector` key fields,
modulo the number of members, as BMv2 does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from targets.p4sim.state.errors import StateError
from targets.p4sim.state.tables import ActionCall


@dataclass(frozen=True)
class ProfileRef:
    """An indirect table entry's action: exactly one of member_id / group_id."""

    member_id: int | None = None
    group_id: int | None = None


@dataclass
class ActionProfile:
    name: str
    id: int
    size: int
    with_selector: bool = False
    max_group_size: int = 0
    members: dict[int, ActionCall] = field(default_factory=dict)
    groups: dict[int, tuple[int, ...]] = field(default_factory=dict)
    check_action: object = None  # set by the owning table: ActionCall -> ActionCall

    def _validate(self, call: ActionCall) -> ActionCall:
        if callable(self.check_action):
            return self.check_action(call)  # type: ignore[no-any-return,unused-ignore]
        return call

    def insert_member(self, member_id: int, call: ActionCall) -> None:
        if member_id in self.members:
            raise StateError(f"{self.name}: member {member_id} exists", "already_exists")
        if len(self.members) >= self.size:
            raise StateError(f"{self.name} is full ({self.size} members)", "exhausted")
        self.members[member_id] = self._validate(call)

    def modify_member(self, member_id: int, call: ActionCall) -> None:
        if member_id not in self.members:
            raise StateError(f"{self.name}: no member {member_id}", "not_found")
        self.members[member_id] = self._validate(call)

    def delete_member(self, member_id: int) -> None:
        if member_id not in self.members:
            raise StateError(f"{self.name}: no member {member_id}", "not_found")
        if any(member_id in g for g in self.groups.values()):
            raise StateError(f"{self.name}: member {member_id} is in a group", "invalid")
        del self.members[member_id]

    def _check_group(self, members: Sequence[int]) -> tuple[int, ...]:
        if not self.with_selector:
            raise StateError(f"{self.name} is an action profile without a selector")
        for m in members:
            if m not in self.members:
                raise StateError(f"{self.name}: no member {m}", "not_found")
        if self.max_group_size and len(members) > self.max_group_size:
            raise StateError(f"{self.name}: group larger than {self.max_group_size}", "exhausted")
        return tuple(members)

    def insert_group(self, group_id: int, members: Sequence[int]) -> None:
        if group_id in self.groups:
            raise StateError(f"{self.name}: group {group_id} exists", "already_exists")
        self.groups[group_id] = self._check_group(members)

    def modify_group(self, group_id: int, members: Sequence[int]) -> None:
        if group_id not in self.groups:
            raise StateError(f"{self.name}: no group {group_id}", "not_found")
        self.groups[group_id] = self._check_group(members)

    def delete_group(self, group_id: int) -> None:
        if self.groups.pop(group_id, None) is None:
            raise StateError(f"{self.name}: no group {group_id}", "not_found")

    def check_ref(self, ref: ProfileRef) -> None:
        if (ref.member_id is None) == (ref.group_id is None):
            raise StateError(f"{self.name}: an entry names one member or one group")
        if ref.member_id is not None and ref.member_id not in self.members:
            raise StateError(f"{self.name}: no member {ref.member_id}", "not_found")
        if ref.group_id is not None and ref.group_id not in self.groups:
            raise StateError(f"{self.name}: no group {ref.group_id}", "not_found")

    def resolve(self, ref: ProfileRef, selector_hash: int) -> ActionCall | None:
        """The action a packet runs; None for an empty group (the packet misses)."""
        if ref.member_id is not None:
            return self.members.get(ref.member_id)
        members = self.groups.get(ref.group_id or 0, ())
        if not members:
            return None
        return self.members.get(members[selector_hash % len(members)])

    def reset(self) -> None:
        self.members.clear()
        self.groups.clear()
