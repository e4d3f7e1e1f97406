"""What a table holds: match kinds and values, key fields, actions, entries.

Plain values (``tables.Table`` keeps and looks them up); entries hold ints.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class MatchKind(enum.StrEnum):
    EXACT = "exact"
    LPM = "lpm"
    TERNARY = "ternary"
    RANGE = "range"
    OPTIONAL = "optional"


@dataclass(frozen=True, slots=True)
class Exact:
    value: int


@dataclass(frozen=True, slots=True)
class Lpm:
    value: int
    prefix_len: int


@dataclass(frozen=True, slots=True)
class Ternary:
    value: int
    mask: int


@dataclass(frozen=True, slots=True)
class Range:
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class Optional:
    """An optional match: ``value is None`` is the wildcard."""

    value: int | None


FieldMatch = Exact | Lpm | Ternary | Range | Optional


@dataclass(frozen=True)
class KeyField:
    name: str  # P4Info match field name, e.g. "hdr.ipv4.dst_addr"
    id: int  # P4Info match field id (1-based position)
    match_kind: MatchKind
    bitwidth: int


@dataclass(frozen=True)
class ActionSpec:
    """An action a table may use; ``scope`` is P4Info's ActionRef scope."""

    name: str
    id: int
    params: tuple[tuple[str, int], ...]  # (name, bitwidth) in declaration order
    scope: str = "TABLE_AND_DEFAULT"  # or TABLE_ONLY / DEFAULT_ONLY


@dataclass(frozen=True, slots=True)
class ActionCall:
    """An action by P4Info name with its argument values in parameter order."""

    action: str
    args: tuple[int, ...] = ()


@dataclass(slots=True)
class TableEntry:
    """One entry. ``matches`` has one element per key field, in key order.

    ``None`` in ``matches`` is the don't-care value for lpm/ternary/range/
    optional fields; it is normalised on insert.
    """

    matches: tuple[FieldMatch | None, ...]
    action: ActionCall  # or a ProfileRef for tables with an action profile
    priority: int = 0
    controller_metadata: int = 0
    is_const: bool = False
    # Direct counter data (always kept; only exposed if the table has one).
    packets: int = 0
    bytes: int = 0
    # Direct meter configuration and state (None = unconfigured → GREEN).
    meter_config: object | None = None
    meter_state: list[float] = field(default_factory=list)
    # The P4Runtime server's cache of this entry's encoded read form (it checks
    # the cache against ``action`` and ``controller_metadata`` before use).
    wire: object = field(default=None, compare=False, repr=False)
