"""All run-time state of one loaded program, indexed by P4Info name and id."""

from __future__ import annotations

from dataclasses import dataclass, field

from targets.p4sim.state.errors import StateError
from targets.p4sim.state.externs import Counter, Meter, Register
from targets.p4sim.state.pre import PacketReplicationEngine
from targets.p4sim.state.profiles import ActionProfile
from targets.p4sim.state.tables import Table


@dataclass
class SwitchState:
    """Tables, externs and PRE of a program instance.

    ``direct_counters``/``direct_meters`` map the P4Info name of a direct
    resource to the name of the table that owns it; its data lives on the
    table's entries (``TableEntry.packets/bytes/meter_config``).
    """

    tables: dict[str, Table] = field(default_factory=dict)
    counters: dict[str, Counter] = field(default_factory=dict)
    meters: dict[str, Meter] = field(default_factory=dict)
    registers: dict[str, Register] = field(default_factory=dict)
    action_profiles: dict[str, ActionProfile] = field(default_factory=dict)
    direct_counters: dict[str, str] = field(default_factory=dict)
    direct_meters: dict[str, str] = field(default_factory=dict)
    ids: dict[int, str] = field(default_factory=dict)  # P4Info id -> name
    pre: PacketReplicationEngine = field(default_factory=PacketReplicationEngine)

    def _name(self, key: str | int) -> str:
        if isinstance(key, int):
            if key not in self.ids:
                raise StateError(f"no P4 object with id {key:#x}", "not_found")
            return self.ids[key]
        return key

    def table(self, key: str | int) -> Table:
        name = self._name(key)
        if name not in self.tables:
            raise StateError(f"no table {name!r}", "not_found")
        return self.tables[name]

    def counter(self, key: str | int) -> Counter:
        name = self._name(key)
        if name not in self.counters:
            raise StateError(f"no counter {name!r}", "not_found")
        return self.counters[name]

    def meter(self, key: str | int) -> Meter:
        name = self._name(key)
        if name not in self.meters:
            raise StateError(f"no meter {name!r}", "not_found")
        return self.meters[name]

    def register(self, key: str | int) -> Register:
        name = self._name(key)
        if name not in self.registers:
            raise StateError(f"no register {name!r}", "not_found")
        return self.registers[name]

    def action_profile(self, key: str | int) -> ActionProfile:
        name = self._name(key)
        if name not in self.action_profiles:
            raise StateError(f"no action profile {name!r}", "not_found")
        return self.action_profiles[name]

    def direct_table(self, key: str | int) -> Table:
        """The table owning a direct counter or direct meter."""
        name = self._name(key)
        owner = self.direct_counters.get(name) or self.direct_meters.get(name)
        if owner is None:
            raise StateError(f"no direct counter/meter {name!r}", "not_found")
        return self.tables[owner]

    def reset(self) -> None:
        """Forget all control-plane state (new pipeline config / restart)."""
        for t in self.tables.values():
            t.clear()
        for c in self.counters.values():
            c.reset()
        for m in self.meters.values():
            m.reset()
        for r in self.registers.values():
            r.reset()
        for ap in self.action_profiles.values():
            ap.reset()
        self.pre.reset()
