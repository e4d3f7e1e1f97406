"""Run-time state of a loaded P4 program: tables, extern instances, PRE.

This is the API the P4Runtime server writes through and the executor reads
from. Everything is keyed by the P4Info names and ids of the program; values
are plain Python ints. Validation of P4Runtime encoding rules (canonical
bytestrings, gRPC codes) belongs to the server; this layer only rejects
entries that cannot exist (wrong arity, values wider than the field, bad
prefix lengths, unknown actions) with :class:`StateError`.
"""

from targets.p4sim.state.errors import StateError
from targets.p4sim.state.externs import (
    Counter,
    CounterType,
    Meter,
    MeterColor,
    MeterConfig,
    MeterType,
    Register,
)
from targets.p4sim.state.pre import CloneSession, MulticastGroup, PacketReplicationEngine, Replica
from targets.p4sim.state.profiles import ActionProfile, ProfileRef
from targets.p4sim.state.switch_state import SwitchState
from targets.p4sim.state.tables import (
    ActionCall,
    ActionSpec,
    Exact,
    KeyField,
    Lpm,
    MatchKind,
    Optional,
    Range,
    Table,
    TableEntry,
    Ternary,
)

__all__ = [
    "ActionCall",
    "ActionProfile",
    "ActionSpec",
    "CloneSession",
    "Counter",
    "CounterType",
    "Exact",
    "KeyField",
    "Lpm",
    "MatchKind",
    "Meter",
    "MeterColor",
    "MeterConfig",
    "MeterType",
    "MulticastGroup",
    "Optional",
    "PacketReplicationEngine",
    "ProfileRef",
    "Range",
    "Register",
    "Replica",
    "StateError",
    "SwitchState",
    "Table",
    "TableEntry",
    "Ternary",
]
