"""Indexed extern instances: counters, registers, meters (BMv2 semantics).

Out-of-range indices on the data-plane path are ignored (reads give 0), as
BMv2 logs and continues; control-plane accessors raise StateError.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass

from targets.p4sim.state.errors import StateError


class CounterType(enum.StrEnum):
    PACKETS = "packets"
    BYTES = "bytes"
    PACKETS_AND_BYTES = "packets_and_bytes"


class Counter:
    """An indirect counter array (``counter(size, type)``)."""

    def __init__(self, name: str, id: int, size: int, type: CounterType) -> None:
        self.name, self.id, self.size, self.type = name, id, size, type
        self.packets = [0] * size
        self.bytes = [0] * size

    def count(self, index: int, nbytes: int) -> None:
        if 0 <= index < self.size:
            self.packets[index] += 1
            self.bytes[index] += nbytes

    def _check(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise StateError(f"counter {self.name}: index {index} out of range", "out_of_range")

    def read(self, index: int) -> tuple[int, int]:
        """(packets, bytes) at ``index``."""
        self._check(index)
        return self.packets[index], self.bytes[index]

    def write(self, index: int, packets: int, nbytes: int) -> None:
        self._check(index)
        self.packets[index], self.bytes[index] = packets, nbytes

    def reset(self) -> None:
        self.packets = [0] * self.size
        self.bytes = [0] * self.size


class Register:
    """A register array of ``bit<width>`` cells, initialised to zero."""

    def __init__(self, name: str, id: int, size: int, width: int) -> None:
        self.name, self.id, self.size, self.width = name, id, size, width
        self.mask = (1 << width) - 1
        self.cells = [0] * size

    def dp_read(self, index: int) -> int:
        return self.cells[index] if 0 <= index < self.size else 0

    def dp_write(self, index: int, value: int) -> None:
        if 0 <= index < self.size:
            self.cells[index] = value & self.mask

    def read(self, index: int) -> int:
        if not 0 <= index < self.size:
            raise StateError(f"register {self.name}: index {index} out of range", "out_of_range")
        return self.cells[index]

    def write(self, index: int, value: int) -> None:
        if not 0 <= index < self.size:
            raise StateError(f"register {self.name}: index {index} out of range", "out_of_range")
        if value < 0 or value > self.mask:
            raise StateError(f"register {self.name}: {value} wider than bit<{self.width}>")
        self.cells[index] = value

    def reset(self) -> None:
        self.cells = [0] * self.size


class MeterType(enum.StrEnum):
    PACKETS = "packets"
    BYTES = "bytes"


class MeterColor(enum.IntEnum):
    """v1model colour encoding (V1MODEL_METER_COLOR_*)."""

    GREEN = 0
    YELLOW = 1
    RED = 2


@dataclass(frozen=True)
class MeterConfig:
    """trTCM parameters (RFC 2698): rates in units/s, bursts in units."""

    cir: int
    cburst: int
    pir: int
    pburst: int


class MeterBucket:
    """Two token buckets of one meter cell; colour-blind trTCM (RFC 2698)."""

    __slots__ = ("config", "last", "tc", "tp")

    def __init__(self, config: MeterConfig, now: float) -> None:
        self.config = config
        self.tc = float(config.cburst)
        self.tp = float(config.pburst)
        self.last = now

    def execute(self, amount: int, now: float) -> int:
        c = self.config
        dt = max(0.0, now - self.last)
        self.last = now
        self.tc = min(float(c.cburst), self.tc + dt * c.cir)
        self.tp = min(float(c.pburst), self.tp + dt * c.pir)
        if self.tp < amount:
            return MeterColor.RED
        self.tp -= amount
        if self.tc < amount:
            return MeterColor.YELLOW
        self.tc -= amount
        return MeterColor.GREEN


class Meter:
    """An indirect meter array; unconfigured cells colour every packet GREEN."""

    def __init__(
        self,
        name: str,
        id: int,
        size: int,
        type: MeterType,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name, self.id, self.size, self.type = name, id, size, type
        self.clock = clock
        self.cells: list[MeterBucket | None] = [None] * size

    def execute(self, index: int, nbytes: int) -> int:
        if not 0 <= index < self.size:
            return MeterColor.GREEN
        cell = self.cells[index]
        if cell is None:
            return MeterColor.GREEN
        return cell.execute(nbytes if self.type is MeterType.BYTES else 1, self.clock())

    def _check(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise StateError(f"meter {self.name}: index {index} out of range", "out_of_range")

    def set_config(self, index: int, config: MeterConfig | None) -> None:
        """Configure one cell (None resets it to unconfigured)."""
        self._check(index)
        if config is not None and (config.cir > config.pir or config.cburst < 0):
            raise StateError(f"meter {self.name}: CIR must not exceed PIR")
        self.cells[index] = None if config is None else MeterBucket(config, self.clock())

    def get_config(self, index: int) -> MeterConfig | None:
        self._check(index)
        cell = self.cells[index]
        return None if cell is None else cell.config

    def reset(self) -> None:
        self.cells = [None] * self.size
