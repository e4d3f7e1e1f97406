#!/usr/bin/env python3
"""IKE SAs established per second: our IKEv2 core vs strongSwan against itself.

Every setup is a full IKE_SA_INIT + IKE_AUTH with one CHILD_SA, PSK,
aes128gcm16-prfsha256-x25519 (ESP aes128gcm16). Measured:
  * ours, sans-I/O: our initiator and responder pumped against each other in one
    process (no sockets): the cost of the protocol core and its crypto.
  * ours, UDP: two asyncio IKE services on 127.0.0.1 / 127.0.0.2 (real sockets),
    setups run sequentially like the strongSwan loop below.
  * strongSwan: two charons (kernel-libipsec) in two network namespaces,
    `swanctl --initiate` in a loop against the other (each SA is terminated again,
    untimed); each timed call also pays for starting swanctl and its vici round
    trips, so a second figure subtracts the cost of an idle `swanctl --stats`.
The ratios are ours / strongSwan. The strongSwan part needs root and charon.

Usage: sudo benchmarks/ike_setup_rate.py [--count 200] [--swan-count 50] [--smoke]
(--smoke: 5 and 2 SAs, a few seconds; it only checks that every part runs.)
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split
import argparse
import asyncio
import gc
import hashlib
import hmac
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from controller.ipsec.ike.adapter import IkeService
from controller.ipsec.ike.config import ChildConfig, IkeConfig, Lifetimes
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.ike.events import ChildUp
from controller.ipsec.ike.wire.ts import TrafficSelector

PSK = b"benchmark-secret-0123456789"


def config(me: str, peer: str) -> IkeConfig:
    child = ChildConfig(
        "net",
        [TrafficSelector.host(me, 137)],
        [TrafficSelector.host(peer, 137)],
        ["aes128gcm16"],
        lifetimes=Lifetimes(None, None),
    )
    return IkeConfig(
        "peer",
        me,
        peer,
        psk=PSK,
        ike_proposals=["aes128gcm16-prfsha256-x25519"],
        children=[child],
        lifetimes=Lifetimes(None, None),
        dpd_seconds=None,
    )


Rates = tuple[float, float]  # SAs per second of wall time, and per CPU-second of this process


class _Clock:
    """Wall time and this process's CPU time (user + system) over the same span.

    Starts with a full garbage collection: the parts run one after another in this
    process, and a part should not pay for collecting what the previous one left
    (its daemons and SAs hold reference cycles). Collection stays on while timing.
    """

    def __init__(self) -> None:
        gc.collect()
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def rates(self, count: int) -> Rates:
        wall, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        return count / wall, count / max(cpu, 1e-9)


def ours_sans_io(count: int) -> Rates:
    a_ip, b_ip = "192.0.2.1", "198.51.100.2"
    a, b = IkeDaemon([config(a_ip, b_ip)]), IkeDaemon([config(b_ip, a_ip)])
    nodes = {a_ip: a, b_ip: b}
    clock = _Clock()
    for _ in range(count):
        a.initiate("peer", (a_ip, 500), (b_ip, 500), 0.0)
        moving = True
        while moving:
            moving = False
            for d in (a, b):
                out, _ = d.drain()
                for dg in out:
                    moving = True
                    nodes[dg.dst[0]].receive(dg.data, dg.src, dg.dst, 0.0)
    rates = clock.rates(count)
    assert len(a.established()) == count == len(b.established())
    return rates


def crypto_bound(count: int) -> Rates:
    """SA set-ups per second if nothing but their cryptographic calls took time.

    Per SA, both ends together: two X25519 key pairs and exchanges, the HMAC-SHA-256
    calls of SKEYSEED, prf+ for the IKE and CHILD_SA keys and both AUTH payloads
    (28), the SHA-1 NAT detection hashes (8), four AES-GCM operations on the IKE_AUTH
    messages, and the random nonces. The same library calls our core makes.
    """
    nonce, key, body = os.urandom(32), os.urandom(32), os.urandom(250)
    aead = AESGCM(os.urandom(16))
    clock = _Clock()
    for _ in range(count):
        shared = []
        for _ in range(2):
            mine = x25519.X25519PrivateKey.generate()
            public = mine.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            theirs = x25519.X25519PublicKey.from_public_bytes(public)
            shared.append(mine.exchange(theirs))
            os.urandom(32)
        for i in range(28):
            hmac.digest(key, body[: 64 + i * 6] + nonce, "sha256")
        for _ in range(8):
            hashlib.sha1(body[:30]).digest()
        for _ in range(2):
            sealed = aead.encrypt(nonce[:12], body, body[:32])
            aead.decrypt(nonce[:12], sealed, body[:32])
    return clock.rates(count)


async def _ours_udp(count: int) -> Rates:
    a_ip, b_ip = "127.0.0.1", "127.0.0.2"
    services = []
    for me, peer in ((a_ip, b_ip), (b_ip, a_ip)):
        svc = IkeService(IkeDaemon([config(me, peer)]), me)
        await svc.start()
        services.append(svc)
    a = services[0]
    clock = _Clock()
    for _ in range(count):
        a.initiate("peer", b_ip)
        while True:
            _, ev = await a.events.get()
            if isinstance(ev, ChildUp):
                break
    rates = clock.rates(count)
    for svc in services:
        await svc.stop()
    return rates


def ours_udp(count: int) -> Rates | str:
    for port in (500, 4500):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("127.0.0.2", port))
        except OSError as exc:
            return f"skipped: cannot bind 127.0.0.2:{port} ({exc.strerror})"
        finally:
            s.close()
    return asyncio.run(_ours_udp(count))


def strongswan(count: int) -> tuple[float, float | None] | str:
    if os.geteuid() != 0 or not Path("/usr/lib/ipsec/charon").exists():
        return "skipped: needs root and /usr/lib/ipsec/charon"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "interop" / "ipsec"))
    from swan_charon import Charon  # the interop tests' charon launcher
    from swan_netns import Netns, veth_pair

    tag = f"b{os.getpid() % 100000}"
    made: list[Netns] = []
    charons: list[Charon] = []
    try:
        made.append(Netns.new(f"sl3ike-ba-{tag}"))
        made.append(Netns.new(f"sl3ike-bb-{tag}"))
        ns_a, ns_b = made
        veth_pair(ns_a, "10.77.0.1", ns_b, "10.77.0.2", tag)
        with tempfile.TemporaryDirectory() as tmp:
            for ns, me, peer in (
                (ns_a, "10.77.0.1", "10.77.0.2"),
                (ns_b, "10.77.0.2", "10.77.0.1"),
            ):
                d = Path(tmp) / me
                d.mkdir()
                ns.run(["ip", "addr", "add", f"10.88.{me[-1]}.1/32", "dev", "lo"])
                c = Charon(ns, d)
                charons.append(c)
                conf = f"""connections {{ peer {{
  local_addrs = {me}
  remote_addrs = {peer}
  proposals = aes128gcm16-prfsha256-x25519
  encap = yes
  unique = never
  local {{ auth = psk
    id = {me} }}
  remote {{ auth = psk
    id = {peer} }}
  children {{ net {{ local_ts = 10.88.{me[-1]}.1/32
    remote_ts = 10.88.{peer[-1]}.1/32
    esp_proposals = aes128gcm16 }} }}
}} }}
secrets {{ ike-1 {{ id-1 = {me}
  id-2 = {peer}
  secret = "{PSK.decode()}" }} }}
"""
                asyncio.run(c.load(conf))
            a = charons[0]

            async def loop() -> tuple[float, float | None]:
                # charon refuses a duplicate CHILD_SA, so each SA is torn down again; only
                # the time of the --initiate calls (which return once established) counts
                busy = 0.0
                for _ in range(count):
                    start = time.perf_counter()
                    out = await a.swanctl("--initiate", "--child", "net", "--timeout", "10")
                    busy += time.perf_counter() - start
                    if "initiate completed successfully" not in out:
                        raise RuntimeError(f"strongSwan setup failed: {out[-300:]}")
                    await a.swanctl("--terminate", "--ike", "peer", "--timeout", "10")
                # what a swanctl call costs without any IKE work (process start + vici)
                start = time.perf_counter()
                for _ in range(count):
                    await a.swanctl("--stats")
                overhead = (time.perf_counter() - start) / count
                net = busy - overhead * count
                # a few calls on a busy machine: the idle calls may take longer than the
                # timed ones, and there is no figure to give
                return count / busy, (count / net if net > 0 else None)

            return asyncio.run(loop())
    finally:
        for c in charons:
            c.stop()
        for ns in made:
            ns.delete()


def _best(a: Rates, b: Rates) -> Rates:
    return max(a[0], b[0]), max(a[1], b[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--swan-count", type=int, default=50)
    ap.add_argument("--smoke", action="store_true", help="5 and 2 SAs: checks that it runs")
    args = ap.parse_args()
    if args.smoke:
        args.count, args.swan_count = 5, 2
    # alternated, best of three each: all see the same machine load. The ratios use CPU
    # time, which a busy machine disturbs far less than wall time.
    bound = sans = (0.0, 0.0)
    udp: Rates | str = (0.0, 0.0)
    for _ in range(3):
        bound = _best(bound, crypto_bound(args.count))
        sans = _best(sans, ours_sans_io(args.count))
        got = ours_udp(args.count)
        udp = got if isinstance(got, str) or isinstance(udp, str) else _best(udp, got)
    swan = strongswan(args.swan_count)
    print(
        "IKE SA setups per second (IKE_SA_INIT + IKE_AUTH + 1 CHILD_SA, PSK, x25519, AES-GCM-128)"
    )
    print("  (wall-clock /s; per CPU-second of this process; share of the crypto bound by CPU)")
    rows: list[tuple[str, Rates | str]] = [
        ("crypto calls alone, both ends", bound),
        ("ours, sans-I/O in-process", sans),
        ("ours, asyncio UDP on loopback", udp),
    ]
    for name, rates in rows:
        label = f"  {name} ({args.count} SAs):"
        if isinstance(rates, str):
            print(f"{label:48} {rates}")
            continue
        print(
            f"{label:48} {rates[0]:8.1f} /s {rates[1]:8.1f} /CPU-s "
            f"({rates[1] / bound[1]:.2f} of the crypto bound)"
        )
    if isinstance(swan, str):
        print(f"  strongSwan vs strongSwan: {swan}")
        return
    raw, net = swan
    print(f"  strongSwan vs strongSwan, swanctl loop ({args.swan_count} SAs): {raw:8.1f} /s")
    if net is None:
        print("  strongSwan, minus one idle swanctl call each:     n/a (idle calls took longer)")
    else:
        print(f"  strongSwan, minus one idle swanctl call each:         {net:8.1f} /s")
    for name, ours in (("sans-I/O", sans), ("UDP", udp)):
        if not isinstance(ours, str):
            minus = "n/a" if net is None else f"{ours[0] / net:6.2f}"
            print(
                f"  ratio ours {name} / strongSwan (wall): {ours[0] / raw:6.2f} (raw), "
                f"{minus} (minus swanctl overhead)"
            )


if __name__ == "__main__":
    main()
