"""Domain objects for P4Runtime entities, named the way controller code thinks.

Values may be given as ints, bytes or text (addresses, MACs); entries read back
from the switch carry plain ints in the shapes below, so a decoded entry
encodes to exactly the bytes it was read from.

Match values by match kind (input forms -> decoded form):

- exact / optional: value                        -> int
- lpm: "10.1.0.0/16" | (value, prefix_len)       -> (int, prefix_len)
- ternary: "value&&&mask" | (value, mask)        -> (int, mask)
- range: "low..high" | (low, high)               -> (int, int)

A field left out of ``match`` is a wildcard (only legal for lpm, ternary,
range and optional fields, P4Runtime spec v1.4 section 9.1.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from controller.p4rt.values import Value

MatchValue = Any  # one of the input forms above; Any because they are heterogeneous by kind


@dataclass
class TableEntry:
    """One table entry; ``is_default`` makes it the table's default action."""

    table: str
    match: dict[str, MatchValue] = field(default_factory=dict)
    action: str | None = None
    params: dict[str, Value] = field(default_factory=dict)
    priority: int = 0
    is_default: bool = False
    metadata: bytes = b""
    # Read back only when asked for (direct counter / meter attached to the table).
    counter: CounterData | None = None
    meter: MeterConfig | None = None


@dataclass(frozen=True)
class CounterData:
    packets: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class MeterConfig:
    """Two-rate three-colour meter parameters (RFC 2698 CIR/CBS/PIR/PBS)."""

    cir: int
    cburst: int
    pir: int
    pburst: int


@dataclass
class CounterEntry:
    """An indexed counter cell; ``index=None`` reads every cell."""

    counter: str
    index: int | None = None
    data: CounterData | None = None


@dataclass
class DirectCounterEntry:
    """The counter attached to one table entry (or every entry, when match is empty)."""

    entry: TableEntry
    data: CounterData | None = None


@dataclass
class RegisterEntry:
    register: str
    index: int | None = None
    value: Value | None = None


@dataclass
class MeterEntry:
    meter: str
    index: int | None = None
    config: MeterConfig | None = None


@dataclass
class DirectMeterEntry:
    entry: TableEntry
    config: MeterConfig | None = None


@dataclass
class Replica:
    port: int
    instance: int = 0


@dataclass
class MulticastGroup:
    group_id: int
    replicas: list[Replica] = field(default_factory=list)


@dataclass
class CloneSession:
    session_id: int
    replicas: list[Replica] = field(default_factory=list)
    class_of_service: int = 0
    packet_length_bytes: int = 0


@dataclass
class ValueSetEntry:
    """The members of a parser value set; each member is a match dict like a table's.

    A value_set<bit<W>> has one unnamed field (P4Runtime spec 8.3: id 1, no
    name): its members are keyed by the value set's own name,
    ``{"<value set name>": v}``, when read; writes also take bare values ``v``.
    """

    value_set: str
    members: list[dict[str, MatchValue] | MatchValue] = field(default_factory=list)


@dataclass
class PacketOut:
    payload: bytes
    metadata: dict[str, Value] = field(default_factory=dict)


@dataclass
class PacketIn:
    payload: bytes
    metadata: dict[str, int] = field(default_factory=dict)


Entity = (
    TableEntry
    | CounterEntry
    | DirectCounterEntry
    | RegisterEntry
    | MeterEntry
    | DirectMeterEntry
    | MulticastGroup
    | CloneSession
    | ValueSetEntry
)
