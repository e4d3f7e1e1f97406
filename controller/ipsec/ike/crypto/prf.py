"""Pseudo-random functions and prf+ (RFC 7296 section 2.13; RFC 4868 for HMAC-SHA2)."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from controller.ipsec.ike.wire.consts import Prf


@dataclass(frozen=True)
class PrfAlg:
    """An HMAC-SHA2 PRF; its preferred key size equals its output size (RFC 4868 2.1.2)."""

    ident: int
    hash_name: str
    size: int

    def __call__(self, key: bytes, data: bytes) -> bytes:
        return hmac.digest(key, data, self.hash_name)  # one-shot: no HMAC object per call

    def plus(self, key: bytes, seed: bytes, length: int) -> bytes:
        """prf+ (K,S) = T1 | T2 | ...;  T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n)."""
        if length > 255 * self.size:
            raise ValueError(f"prf+ cannot produce {length} octets with {self.hash_name}")
        blocks, t, name = [], b"", self.hash_name
        for n in range(1, -(-length // self.size) + 1):
            t = hmac.digest(key, t + seed + bytes((n,)), name)
            blocks.append(t)
        return b"".join(blocks)[:length]


PRFS: dict[int, PrfAlg] = {
    Prf.HMAC_SHA2_256: PrfAlg(Prf.HMAC_SHA2_256, "sha256", 32),
    Prf.HMAC_SHA2_384: PrfAlg(Prf.HMAC_SHA2_384, "sha384", 48),
    Prf.HMAC_SHA2_512: PrfAlg(Prf.HMAC_SHA2_512, "sha512", 64),
}

assert all(hashlib.new(p.hash_name).digest_size == p.size for p in PRFS.values())
