"""One input at a time through a running target's ports, and everything it caused.

A frame sent into a switch port (or a packet-out) ends in some mix of: frames
out of data ports, drops and punts (counted per reason by the program), and
frames to the crypto port that the ESP engine answers with a new pass or
swallows. Nothing tells a test over the ports that "the switch is done", so
the prober keeps an account instead:

    1 input + answers from the engine == drops + punts + frames out + frames to the engine

Each pass through ingress ends in exactly one drop, punt or egress frame (the
program has no clones or multicast), and the engine records a request and
its answer together, so the account balances once the input and every pass
it caused are finished, and not before. Reading it costs one counter read,
so an input takes a few milliseconds, not a fixed quiet period; an input
whose account never balances is a failure (a frame lost or duplicated).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bmv2_tests.lib.cpe import DROP, PUNT, Cpe
from bmv2_tests.lib.target import CPU_PORT

_DROP_NAMES = {v: k for k, v in DROP.items()}
_PUNT_NAMES = {v: k for k, v in PUNT.items()}


@dataclass(frozen=True)
class Stimulus:
    """A frame into a switch port; ``port == CPU_PORT`` is a P4Runtime packet-out."""

    port: int
    frame: bytes
    egress_port: int = 0  # packet-out metadata
    do_forward: bool = True

    def describe(self) -> str:
        if self.port == CPU_PORT:
            how = "through the pipeline" if self.do_forward else f"to port {self.egress_port}"
            return f"packet-out {how}: {self.frame.hex()}"
        return f"port {self.port}: {self.frame.hex()}"


@dataclass
class Outcome:
    """What one stimulus caused, in a form two targets can be compared by."""

    outputs: list[tuple[int, bytes]] = field(default_factory=list)
    drops: dict[str, int] = field(default_factory=dict)
    punts: dict[str, int] = field(default_factory=dict)
    packet_ins: list[tuple[int, int, bytes]] = field(default_factory=list)  # port, reason, frame
    to_engine: list[bytes] = field(default_factory=list)

    def canonical(self) -> Outcome:
        """Order-free form: frames out of different ports may leave in any order."""
        return Outcome(
            sorted(self.outputs),
            dict(sorted(self.drops.items())),
            dict(sorted(self.punts.items())),
            sorted(self.packet_ins),
            sorted(self.to_engine),
        )

    def describe(self) -> str:
        lines = [f"  out port {p}: {f.hex()}" for p, f in self.outputs]
        lines += [f"  drop {k} x{v}" for k, v in self.drops.items()]
        lines += [f"  punt {k} x{v}" for k, v in self.punts.items()]
        lines += [f"  packet-in port {p} reason {r}: {f.hex()}" for p, r, f in self.packet_ins]
        lines += [f"  to engine: {f.hex()}" for f in self.to_engine]
        return "\n".join(lines) or "  nothing"


def _deltas(
    now: dict[int, tuple[int, int]], before: dict[int, tuple[int, int]], names: dict[int, str]
) -> dict[str, int]:
    """Packets counted since ``before``, by reason name."""
    out = {}
    for index, (packets, _) in now.items():
        was = before.get(index, (0, 0))[0]
        if packets != was:
            out[names.get(index, str(index))] = packets - was
    return out


class Prober:
    """Sends stimuli into ``cpe`` one at a time and returns each one's outcome."""

    def __init__(self, cpe: Cpe, watch: list[int], timeout: float = 5.0) -> None:
        self.cpe = cpe
        self.watch = watch
        self.timeout = timeout
        self._counters = self._read_counters()

    def _read_counters(self) -> dict[str, dict[int, tuple[int, int]]]:
        return self.cpe.sw.counter_cells("drop_counter", "punt_counter")

    def _engine_marks(self) -> tuple[int, int]:
        with self.cpe.crypto.lock:
            return len(self.cpe.crypto.requests), len(self.cpe.crypto.answers)

    def _send(self, stim: Stimulus) -> None:
        if stim.port == CPU_PORT:
            self.cpe.sw.packet_out(
                stim.frame, egress_port=stim.egress_port, do_forward=stim.do_forward
            )
        else:
            self.cpe.dp.send(stim.port, stim.frame)

    def run(self, stim: Stimulus) -> Outcome:
        requests0, answers0 = self._engine_marks()
        before = self._counters
        out = Outcome()
        self._send(stim)
        deadline = time.monotonic() + self.timeout
        while True:
            counters = self._read_counters()
            for port in self.watch:
                while (frame := self.cpe.dp.recv(port, timeout=0)) is not None:
                    out.outputs.append((port, frame))
            requests, answers = self._engine_marks()
            out.drops = _deltas(counters["drop_counter"], before["drop_counter"], _DROP_NAMES)
            out.punts = _deltas(counters["punt_counter"], before["punt_counter"], _PUNT_NAMES)
            ended = sum(out.drops.values()) + sum(out.punts.values()) + len(out.outputs)
            balance = 1 + (answers - answers0) - ended - (requests - requests0)
            if balance == 0:
                break
            if balance < 0 or time.monotonic() > deadline:
                self._counters = counters
                what = "more outcomes than passes" if balance < 0 else "a pass never ended"
                raise AssertionError(f"{what} for {stim.describe()}\nseen:\n{out.describe()}")
            time.sleep(0.0005)
        self._counters = counters
        with self.cpe.crypto.lock:
            out.to_engine = list(self.cpe.crypto.requests[requests0:requests])
        for _ in range(sum(out.punts.values())):
            pkt = self.cpe.sw.packet_in(timeout=self.timeout)
            if pkt is None:
                raise AssertionError(f"punt without a packet-in for {stim.describe()}")
            meta = pkt.metadata
            out.packet_ins.append((meta["ingress_port"], meta["reason"], pkt.payload))
        return out
