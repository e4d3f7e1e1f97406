"""A small mutation fuzzer: valid seed messages in, hostile variants out.

Each call of :meth:`Mutator.next` picks a seed and one mutation, and says which
("flip", "truncate", ...), so a run can report what it tried. Deterministic for
a given seed of the random generator.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence

Mutation = Callable[[random.Random, bytes], bytes]


def _flip(r: random.Random, b: bytes) -> bytes:
    out = bytearray(b)
    for _ in range(r.randint(1, 4)):
        i = r.randrange(len(out))
        out[i] ^= 1 << r.randrange(8)
    return bytes(out)


def _byte(r: random.Random, b: bytes) -> bytes:
    out = bytearray(b)
    i = r.randrange(len(out))
    out[i] = r.choice((0x00, 0x01, 0x7F, 0x80, 0xFF, r.randrange(256)))
    return bytes(out)


def _truncate(r: random.Random, b: bytes) -> bytes:
    return b[: r.randrange(len(b))]


def _extend(r: random.Random, b: bytes) -> bytes:
    return b + r.randbytes(r.randint(1, 64))


def _oversize(r: random.Random, b: bytes) -> bytes:
    return b + r.randbytes(max(0, r.choice((4096, 8192, 65535)) - len(b)) + r.randint(0, 16))


def _splice(r: random.Random, b: bytes) -> bytes:
    i, j = sorted(r.randrange(len(b) + 1) for _ in range(2))
    return b[:i] + b[j:] + b[i:j]


def _garbage(r: random.Random, b: bytes) -> bytes:
    return r.randbytes(r.randint(0, 256))


def _interesting_u16(r: random.Random, b: bytes) -> bytes:
    if len(b) < 2:
        return b
    out = bytearray(b)
    i = r.randrange(len(out) - 1)
    out[i : i + 2] = (
        r.choice((0, 1, 0x7FFF, 0x8000, 0xFFFF, len(b), len(b) + 1)) & 0xFFFF
    ).to_bytes(2, "big")
    return bytes(out)


MUTATIONS: dict[str, Mutation] = {
    "flip": _flip,
    "byte": _byte,
    "u16": _interesting_u16,
    "truncate": _truncate,
    "extend": _extend,
    "oversize": _oversize,
    "splice": _splice,
    "garbage": _garbage,
}


class Mutator:
    def __init__(
        self,
        seeds: Sequence[tuple[str, bytes]],
        rng: random.Random,
        fixups: Sequence[Callable[[bytes], bytes]] = (),
        header: int = 0,
    ) -> None:
        """``fixups`` optionally repair a field (a length) so deeper parsers are reached;
        half the time the first ``header`` octets are kept as they are, for the same reason."""
        self.seeds = list(seeds)
        self.rng = rng
        self.fixups = list(fixups)
        self.header = header
        self.tried: Counter[str] = Counter()

    def next(self) -> tuple[str, bytes]:
        name, seed = self.rng.choice(self.seeds)
        kind = self.rng.choice(list(MUTATIONS))
        keep = self.header if len(seed) > self.header and self.rng.random() < 0.5 else 0
        data = seed[:keep] + MUTATIONS[kind](self.rng, seed[keep:]) if seed else seed
        if self.fixups and self.rng.random() < 0.5:
            data = self.rng.choice(self.fixups)(data)
            kind += "+fixup"
        self.tried[f"{name}/{kind.split('+')[0]}"] += 1
        return f"{name}/{kind}", data
