#!/usr/bin/env python3
"""ESP engine throughput vs raw AES-GCM calls of the `cryptography` library.

For 64 B and 1400 B protected payloads (MPLS-in-IP over IPv4, transport mode,
AES-GCM-128) it measures:
  * raw:     AESGCM.encrypt / decrypt calls per second on a buffer of that size
  * engine:  EspEngine.process() frames per second (crypto header + Ethernet +
             IPv4 + ESP) for ENCRYPT and for DECRYPT, one call per frame
  * batch:   EspEngine.process_many() on 32 frames per call (what the crypto
             port does with the frames one wakeup finds), against the raw calls
             made 32 at a time in one list comprehension (so neither side pays
             a Python call per frame that the other does not)
and prints engine/raw as a ratio: the share of the crypto library's speed that
survives header parsing, sequence/replay handling, counters and lifetimes.
Every engine answer is checked to be OK before timing.  Rates are per second
of this process's CPU time (``--wall-clock``: of elapsed time), best of five
alternated rounds, so that a busy machine changes them less; the load average
is printed with them.

Usage: benchmarks/esp_engine.py [--seconds 1.0]
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split
import argparse
import ipaddress
import os
import struct
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.installer import CipherSuite, Direction, SaKeys, SaParams

A = ipaddress.ip_address("192.0.2.1")
B = ipaddress.ip_address("198.51.100.2")
BATCH = 32


def _rate(
    fn: Callable[[], object], seconds: float, clock: Callable[[], float] = time.perf_counter
) -> float:
    """Calls of fn per second of ``clock`` (wall-clock time unless told otherwise)."""
    done = 0
    start = clock()
    deadline = start + seconds
    while True:
        for _ in range(200):
            fn()
        done += 200
        now = clock()
        if now >= deadline:
            return done / (now - start)


CLOCK = time.process_time  # CPU time of this process: leaves out what other jobs take


def _compare(
    raw: Callable[[], object], engine: Callable[[], object], seconds: float, rounds: int = 5
) -> tuple[float, float]:
    """Best rates of both, measured alternately so both see the same machine load."""
    best_raw = best_engine = 0.0
    for _ in range(rounds):
        best_raw = max(best_raw, _rate(raw, seconds / rounds, CLOCK))
        best_engine = max(best_engine, _rate(engine, seconds / rounds, CLOCK))
    return best_raw, best_engine


def _per_frame(rates: tuple[float, float]) -> tuple[float, float]:
    return rates[0] * BATCH, rates[1] * BATCH


def _frame(src: ipaddress.IPv4Address, dst: ipaddress.IPv4Address, payload: bytes) -> bytes:
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, 137, 0, src.packed, dst.packed
    )
    return b"\x02\x00\x00\x00\x00\x0b\x02\x00\x00\x00\x00\x0a\x08\x00" + ip + payload


def _measure(size: int, keys: SaKeys, seconds: float) -> dict[str, tuple[float, float]]:
    """(raw calls/s, engine packets/s) for encrypt and decrypt, single and batched."""
    payload = os.urandom(size)
    sender = EspEngine()
    receiver = EspEngine()
    common = {
        "suite": CipherSuite.AES_GCM_16_128,
        "keys": keys,
        "spi": 0x1000,
        "sa_index": 1,
        "replay_window": 0,
    }
    sender.add_sa(SaParams(direction=Direction.OUTBOUND, local=A, remote=B, **common))
    receiver.add_sa(SaParams(direction=Direction.INBOUND, local=B, remote=A, **common))
    enc_req = cp.frame(cp.CryptoHeader(op=cp.Op.ENCRYPT, sa_index=1), _frame(A, B, payload))
    encrypted = sender.process(enc_req)[cp.HEADER_LEN :]
    dec_req = cp.frame(cp.CryptoHeader(op=cp.Op.DECRYPT), encrypted)
    assert receiver.process(dec_req)[4] == cp.Result.OK
    aead = AESGCM(keys.enc_key)
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, payload, b"12345678")
    batch = range(BATCH)
    enc_many, dec_many = [enc_req] * BATCH, [dec_req] * BATCH
    assert all(a[4] == cp.Result.OK for a in receiver.process_many(dec_many))
    enc, dec = aead.encrypt, aead.decrypt
    # replay_window=0 lets the same captured packet be decrypted again and again
    results = {
        "encrypt": _compare(
            lambda: aead.encrypt(nonce, payload, b"12345678"),
            lambda: sender.process(enc_req),
            seconds,
        ),
        "decrypt": _compare(
            lambda: aead.decrypt(nonce, sealed, b"12345678"),
            lambda: receiver.process(dec_req),
            seconds,
        ),
        "encrypt x32": _per_frame(
            _compare(
                lambda: [enc(nonce, payload, b"12345678") for _ in batch],
                lambda: sender.process_many(enc_many),
                seconds,
            )
        ),
        "decrypt x32": _per_frame(
            _compare(
                lambda: [dec(nonce, sealed, b"12345678") for _ in batch],
                lambda: receiver.process_many(dec_many),
                seconds,
            )
        ),
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, about a second: checks that it runs"
    )
    parser.add_argument(
        "--wall-clock", action="store_true", help="rates per elapsed second, not per CPU second"
    )
    args = parser.parse_args()
    if args.smoke:
        args.seconds = 0.05
    global CLOCK
    if args.wall_clock:
        CLOCK = time.perf_counter
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"per {'elapsed' if args.wall_clock else 'CPU'} second")  # fmt: skip
    keys = SaKeys(enc_key=os.urandom(16), salt=os.urandom(4))
    print(f"{'payload':>8} {'op':>11} {'raw calls/s':>12} {'engine pkt/s':>13} {'ratio':>6}")
    for size in (64, 1400):
        for op, (raw, engine) in _measure(size, keys, args.seconds).items():
            print(f"{size:>7}B {op:>11} {raw:>12,.0f} {engine:>13,.0f} {engine / raw:>6.2f}")


if __name__ == "__main__":
    main()
