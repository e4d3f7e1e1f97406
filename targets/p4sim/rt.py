"""Helpers the generated code calls at run time."""

from __future__ import annotations

import random as _rnd
from collections import deque
from collections.abc import Callable
from typing import Any

from targets.p4sim import hashes, tna_hashes
from targets.p4sim.state import ActionCall, MeterColor, TableEntry
from targets.p4sim.state.externs import MeterBucket, MeterConfig


class Exit(Exception):
    """`exit` statement: ends the current pipeline block."""


class ParserError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code
        self.pos: int | None = None  # packet offset where it happened, set by a sub-parser


class Reject(Exception):
    """Transition to the reject state."""

    pos: int | None = None  # as ParserError.pos


def sx(v: int, w: int) -> int:
    return v - (1 << w) if v >> (w - 1) & 1 else v


def random_between(lo: int, hi: int) -> int:
    return lo if hi <= lo else _rnd.randint(lo, hi)


class Runtime:
    """Per-switch mutable context visible to generated code as ``_S``."""

    def __init__(self) -> None:
        self.trace: list[tuple[Any, ...]] | None = None
        # Bounded so a long-running switch nobody drains cannot grow without limit.
        self.digests: deque[tuple[str, int, tuple[tuple[int, int], ...]]] = deque(maxlen=10000)
        self.log: deque[str] = deque(maxlen=1000)

    def log_msg(self, fmt: str, values: tuple[tuple[int, int], ...]) -> None:
        """v1model log_msg: `{}` placeholders take the values in order."""
        parts = fmt.split("{}")
        text = parts[0] + "".join(
            (str(values[i][0]) if i < len(values) else "{}") + p for i, p in enumerate(parts[1:])
        )
        self.log.append(text)
        if self.trace is not None:
            self.trace.append(("log", text))


def direct_meter_executor(
    clock: Callable[[], float], packets: dict[str, bool] | None = None
) -> Callable[[TableEntry, int, str], int]:
    """Executes a table entry's direct meter (trTCM state kept on the entry)."""

    def run(entry: TableEntry, nbytes: int, meter: str) -> int:
        cfg = entry.meter_config
        if not isinstance(cfg, MeterConfig):
            return MeterColor.GREEN
        if not entry.meter_state or entry.meter_state[0] is not cfg:
            entry.meter_state = [cfg, MeterBucket(cfg, clock())]  # type: ignore[list-item]
        bucket: MeterBucket = entry.meter_state[1]  # type: ignore[assignment]
        amount = 1 if packets and packets.get(meter) else nbytes
        return bucket.execute(amount, clock())

    return run


def ones_add(a: int, b: int) -> int:
    """16-bit ones'-complement addition (end-around carry)."""
    s = a + b
    return (s & 0xFFFF) + (s >> 16)


HELPERS: dict[str, Any] = {
    "_ones_add": ones_add,
    "_tna_hash": tna_hashes.tna_hash,
    "_Exit": Exit,
    "_AC": ActionCall,
    "_PErr": ParserError,
    "_Reject": Reject,
    "_sx": sx,
    "_hashv": hashes.compute_packed,
    "_random": random_between,
}
