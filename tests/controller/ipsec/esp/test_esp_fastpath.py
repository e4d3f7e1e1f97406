"""The IPv4 transport-mode fast path answers exactly as the general path does."""

from __future__ import annotations

import os
import random
from typing import Any

import pytest
from esp_testlib import ADDR, eth, keys_for, request, sa_params, split
from scapy.layers.inet import IP
from scapy.packet import Raw

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine, fastpath
from controller.ipsec.esp.packet import checksum
from controller.ipsec.installer import Direction, Lifetime, SaKeys

pytestmark = pytest.mark.unit
_SUITE = sa_params(Direction.OUTBOUND).suite


def _engines(
    fast: bool, esn: bool = False, keys: SaKeys | None = None, **kw: object
) -> tuple[EspEngine, EspEngine]:
    """A sender and a receiver with the same keys; ``fast`` False forces the general path."""
    keys = keys or keys_for(_SUITE)
    out, inb = EspEngine(), EspEngine()
    out.add_sa(sa_params(Direction.OUTBOUND, keys=keys, esn=esn, **kw))  # type: ignore[arg-type]
    inb.add_sa(sa_params(Direction.INBOUND, keys=keys, esn=esn, **kw))  # type: ignore[arg-type]
    for engine in (out, inb):
        for state in engine._sas.values():
            state.fast = fast
    return out, inb


def _ipv4_frame(rng: random.Random, size: int) -> bytes:
    dst, src = ADDR[4]  # toward the inbound SA's local address
    packet = IP(
        src=str(src), dst=str(dst), ttl=rng.randrange(1, 256), id=rng.randrange(65536),
        tos=rng.randrange(256), flags="DF" if rng.random() < 0.5 else 0, proto=137,
    ) / Raw(os.urandom(size))  # fmt: skip
    return eth(4, packet)


@pytest.mark.parametrize("esn", [False, True])
def test_fast_and_general_paths_give_the_same_bytes(
    esn: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[str] = []
    for name in ("encrypt_run", "decrypt_run"):
        real = getattr(fastpath, name)

        def counted(*args: Any, n: str = name, r: Any = real) -> tuple[int, int, int]:
            result: tuple[int, int, int] = r(*args)
            taken.extend([n] * result[1])
            return result

        monkeypatch.setattr(fastpath, name, counted)
    rng = random.Random(7)
    keys = keys_for(_SUITE)
    fast_out, fast_in = _engines(True, esn, keys)
    slow_out, slow_in = _engines(False, esn, keys)
    for size in [0, 1, 2, 3, 4, 63, 64, 1400, *(rng.randrange(1500) for _ in range(40))]:
        req = request(cp.Op.ENCRYPT, _ipv4_frame(rng, size), sa_index=1)
        sealed = fast_out.process(req)
        assert sealed == slow_out.process(req)
        header, ethernet = split(sealed)
        assert header.result == cp.Result.OK
        ip = ethernet[14:34]
        assert checksum(ip) == 0 and ip[9] == 50
        back = request(cp.Op.DECRYPT, ethernet)
        opened = fast_in.process(back)
        assert opened == slow_in.process(back)
        assert opened[cp.HEADER_LEN :] == req[cp.HEADER_LEN :]
    assert taken.count("encrypt_run") == taken.count("decrypt_run") == 48  # only by the fast pair


def test_fast_path_refuses_replays_forgeries_and_counts() -> None:
    out, inb = _engines(True)
    sealed = out.process(request(cp.Op.ENCRYPT, _ipv4_frame(random.Random(1), 64), sa_index=1))
    back = request(cp.Op.DECRYPT, sealed[cp.HEADER_LEN :])
    assert split(inb.process(back))[0].result == cp.Result.OK
    assert split(inb.process(back))[0].result == cp.Result.REPLAY
    forged = bytearray(sealed[cp.HEADER_LEN :])
    forged[-1] ^= 1
    forged[49 - cp.HEADER_LEN] += 1  # a fresh sequence number, so that the ICV is what fails
    answer = inb.process(request(cp.Op.DECRYPT, bytes(forged)))
    assert split(answer)[0].result == cp.Result.AUTH_FAILED
    assert answer[cp.HEADER_LEN :] == bytes(forged)
    counters = inb.counters(1)
    assert (counters.packets, counters.errors) == (1, {"REPLAY": 1, "AUTH_FAILED": 1})
    assert "ICV" in inb.last_error


def test_fast_path_keeps_packet_lifetimes() -> None:
    out, _ = _engines(True, hard=Lifetime(packets=3))
    req = request(cp.Op.ENCRYPT, _ipv4_frame(random.Random(2), 64), sa_index=1)
    results = [split(out.process(req))[0].result for _ in range(4)]
    assert results == [cp.Result.OK] * 3 + [cp.Result.SA_EXPIRED]
    assert out.sequence(1) == 3


def test_incremental_checksum_matches_rfc1071_for_any_header() -> None:
    """Random IPv4 headers (addresses, TOS, TTL, id, DF) and sizes: both ways, a valid checksum."""
    rng = random.Random(3)
    out, inb = _engines(True)
    slow_out, _ = _engines(False, keys=out._sas[1].params.keys)
    for _ in range(2000):
        size = rng.randrange(300)
        packet = IP(
            src=".".join(str(rng.randrange(256)) for _ in range(4)), dst=str(ADDR[4][0]),
            tos=rng.randrange(256), ttl=rng.randrange(256), id=rng.randrange(65536),
            flags=rng.choice([0, 2]), proto=rng.choice([n for n in range(256) if n != 59]),
        ) / Raw(os.urandom(size))  # fmt: skip
        req = request(cp.Op.ENCRYPT, eth(4, packet), sa_index=1)
        sealed = out.process(req)
        assert sealed == slow_out.process(req)  # the general path recomputes it in full
        assert checksum(sealed[cp.HEADER_LEN + 14 : cp.HEADER_LEN + 34]) == 0
        opened = inb.process(request(cp.Op.DECRYPT, sealed[cp.HEADER_LEN :]))
        assert opened[cp.HEADER_LEN :] == req[cp.HEADER_LEN :]


def test_a_wrong_checksum_stays_wrong() -> None:
    """The fast path updates the checksum it is given (RFC 1624), as a router would."""
    out, _ = _engines(True)
    frame = bytearray(_ipv4_frame(random.Random(4), 64))
    frame[24] ^= 0x01  # the IPv4 checksum's low octet, off by one
    sealed = out.process(request(cp.Op.ENCRYPT, bytes(frame), sa_index=1))
    assert split(sealed)[0].result == cp.Result.OK
    assert checksum(sealed[cp.HEADER_LEN + 14 : cp.HEADER_LEN + 34]) != 0
