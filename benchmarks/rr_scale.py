#!/usr/bin/env python3
"""Route reflector scale: N simulated C-PE sessions, T tenants, R VPN-IPv4 routes, 1 or 2 RRs.

Everything runs in this one process, sans I/O, pumped in memory (no TCP, no
IPsec): each RR is our full ``SpeakerCore`` (FSM, codecs, RIBs, decision,
Adj-RIB-Out, route reflection); each simulated C-PE is one of our sans-I/O
``Session``s per RR (FSM + wire codecs, no RIB), which sends its share of the
routes pre-encoded and counts what the RRs reflect to it. C-PE i serves tenant
i mod T: its routes carry RD <i>:<tenant>, RT 65000:<tenant>, one label.
The control SAs are not simulated; the octets each RR moved are printed so
their ESP cost can be added from benchmarks/esp_engine.py.

Converged = every RR's Loc-RIB holds all R routes and every C-PE has received
every other C-PE's routes and End-of-RIB from each RR (no RT-Constrain: each
C-PE gets all routes, as an RR without RFC 4684 sends them). "RR CPU" is the
process CPU time spent inside the RR cores, per route received and per route
sent (route x peer).

Usage: benchmarks/rr_scale.py [--cpes 1000] [--tenants 100] [--routes 100000] [--rrs 1 2]
       benchmarks/rr_scale.py --smoke   (20 C-PEs, 4 tenants, 400 routes: seconds)
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split
import argparse
import gc
import ipaddress
import sys
import time
from pathlib import Path

from controller.bgp import convert
from controller.bgp import session as s
from controller.bgp.aio import gc_paused
from controller.bgp.config import NeighborConfig, SpeakerConfig
from controller.bgp.core import SpeakerCore
from controller.bgp.path import VPNV4, Attrs, Color, Nlri
from controller.bgp.wire.attributes.ext_communities import ExtCommunity
from controller.bgp.wire.nlri.rd import RouteDistinguisher

AS = 65000
Addr = ipaddress.IPv4Address


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpe_addr(i: int) -> Addr:
    return Addr((10 << 24) | (1 << 16) | i)


class Cpe:
    """A simulated C-PE: one sans-I/O session per RR, its routes, what it received."""

    def __init__(self, i: int, rrs: list[Addr], tenant: int, n_routes: int, base: int) -> None:
        self.addr = cpe_addr(i)
        nbrs = tuple(NeighborConfig(r, AS, Color.RED, families=(VPNV4,)) for r in rrs)
        cfg = SpeakerConfig(AS, self.addr, neighbors=nbrs)
        self.sessions = {r: s.Session(n, cfg) for r, n in zip(rrs, nbrs, strict=True)}
        attrs = Attrs(
            next_hop=self.addr,
            local_pref=100,
            ext_communities=(ExtCommunity.route_target(f"{AS}:{tenant + 1}"),),
        )
        rd = RouteDistinguisher.parse(f"{self.addr}:{tenant + 1}")
        self.routes: list[tuple[Nlri, Attrs, tuple[int, ...]]] = [
            (
                Nlri(VPNV4, ipaddress.ip_network(((20 << 24) | ((base + k) << 8), 24)), rd),
                attrs,
                (16 + k,),
            )
            for k in range(n_routes)
        ]
        self.received: dict[Addr, int] = dict.fromkeys(rrs, 0)
        self.eor: set[Addr] = set()

    def send_routes(self) -> None:
        for sess in self.sessions.values():
            assert sess.negotiated is not None, "session not established"
            for msg in convert.encode_updates(self.routes, [], sess.negotiated):
                sess.send(msg)
            sess.send(convert.end_of_rib(VPNV4))

    def take_events(self, rr: Addr) -> None:
        for ev in self.sessions[rr].events():
            if isinstance(ev, s.Received):
                upd = ev.message
                if upd.end_of_rib is not None:  # type: ignore[attr-defined]
                    self.eor.add(rr)
                else:
                    self.received[rr] += len(upd.announced())  # type: ignore[attr-defined]


class Fabric:
    """In-memory TCP between the RR cores and the C-PE sessions; RR CPU time is summed."""

    def __init__(self, rrs: list[Addr], cpes: list[Cpe]) -> None:
        self.now = 0.0
        self.cpes = {c.addr: c for c in cpes}
        self.rrs: dict[Addr, SpeakerCore] = {}
        for r in rrs:
            clients = [
                NeighborConfig(
                    c.addr, AS, Color.RED, rr_client=True, passive=True, families=(VPNV4,)
                )
                for c in cpes
            ]
            others = [NeighborConfig(o, AS, Color.RED, families=(VPNV4,)) for o in rrs if o != r]
            cfg = SpeakerConfig(AS, r, neighbors=tuple(clients + others))
            self.rrs[r] = SpeakerCore(cfg)
        self.links: dict[tuple[Addr, int], tuple[Addr, Addr, int]] = {}
        self.next_conn = 1
        self.rr_cpu = 0.0
        self.octets = 0

    def rr_call(self, fn, *args) -> None:  # type: ignore[no-untyped-def]
        t = time.process_time()
        with gc_paused():  # as the asyncio adapter handles each read
            fn(*args)
        self.rr_cpu += time.process_time() - t

    def start(self) -> None:
        for rr in self.rrs.values():
            self.rr_call(rr.start, self.now)
            for peer in rr.sessions:
                self.rr_call(rr.set_transport_protected, peer, True, self.now)
        for c in self.cpes.values():
            for sess in c.sessions.values():
                sess.start(self.now)
                sess.set_protected(True, self.now)

    def connect(self, a: Addr, b: Addr) -> tuple[int, int]:
        c1, c2 = self.next_conn, self.next_conn + 1
        self.next_conn += 2
        return c1, c2

    def pump(self) -> bool:
        busy = False
        for addr, rr in self.rrs.items():
            for peer, op in rr.transport_ops():
                busy = True
                self._rr_op(addr, Addr(int(peer)), op)
        for c in self.cpes.values():
            for rr_addr, sess in c.sessions.items():
                for cop in sess.transport_ops():
                    busy = True
                    self._cpe_op(c, rr_addr, cop)
                c.take_events(rr_addr)
        return busy

    def _rr_op(self, addr: Addr, peer: Addr, op: s.TransportOp) -> None:
        if isinstance(op, s.Connect):  # RR to RR
            c1, c2 = self.connect(addr, peer)
            self.links[(addr, c1)] = (peer, peer, c2)
            self.links[(peer, c2)] = (addr, addr, c1)
            self.rr_call(self.rrs[addr].connection_made, peer, c1, True, self.now, addr)
            self.rr_call(self.rrs[peer].connection_made, addr, c2, False, self.now, peer)
        elif isinstance(op, s.Write):
            self.octets += len(op.data)
            dst, _, conn = self.links[(addr, op.conn)]
            if dst in self.rrs:
                self.rr_call(self.rrs[dst].data_received, addr, conn, op.data, self.now)
            else:
                self.cpes[dst].sessions[addr].on_data(conn, op.data, self.now)

    def _cpe_op(self, c: Cpe, rr: Addr, op: s.TransportOp) -> None:
        if isinstance(op, s.Connect):
            c1, c2 = self.connect(c.addr, rr)
            self.links[(c.addr, c1)] = (rr, rr, c2)
            self.links[(rr, c2)] = (c.addr, c.addr, c1)
            c.sessions[rr].on_connection_made(c1, True, self.now, c.addr)
            self.rr_call(self.rrs[rr].connection_made, c.addr, c2, False, self.now, rr)
        elif isinstance(op, s.Write):
            self.octets += len(op.data)
            _, _, conn = self.links[(c.addr, op.conn)]
            self.rr_call(self.rrs[rr].data_received, c.addr, conn, op.data, self.now)

    def settle(self) -> None:
        while self.pump():
            pass

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for rr in self.rrs.values():
            self.rr_call(rr.poll, self.now)
        for c in self.cpes.values():
            for sess in c.sessions.values():
                sess.poll(self.now)
        self.settle()


def run(n_cpes: int, tenants: int, n_routes: int, n_rrs: int) -> None:
    gc.collect()
    rss0 = rss_kib()
    rrs = [Addr((10 << 24) | (255 << 16) | (k + 1)) for k in range(n_rrs)]
    per = n_routes // n_cpes
    cpes = [Cpe(i, rrs, i % tenants, per, i * per) for i in range(n_cpes)]
    total = per * n_cpes
    fab = Fabric(rrs, cpes)
    t = time.perf_counter()
    fab.start()
    fab.settle()
    for _ in range(5):
        fab.advance(1)
        if all(sess.established for c in cpes for sess in c.sessions.values()):
            break
    up = sum(sess.established for c in cpes for sess in c.sessions.values())
    print(f"  sessions: {up} of {n_cpes * n_rrs} Established in {time.perf_counter() - t:.1f} s")
    rss_up = rss_kib()
    cpu_up, fab.rr_cpu, fab.octets = fab.rr_cpu, 0.0, 0
    t0, c0 = time.perf_counter(), time.process_time()
    for c in cpes:
        c.send_routes()
    fab.settle()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss1 = rss_kib()
    ribs = [len(rr.red) for rr in fab.rrs.values()]
    want = total - per  # every C-PE gets every route but its own
    short = sum(1 for c in cpes for r in rrs if c.received[r] < want or r not in c.eor)
    state = "converged" if short == 0 and all(n == total for n in ribs) else "NOT converged"
    sent = sum(sum(c.received.values()) for c in cpes)
    print(f"  {state}: RR Loc-RIBs {ribs} of {total}; {short} C-PE sessions short")
    print(f"  time to converge : {wall:7.1f} s wall ({cpu:.1f} s CPU, all in this process)")
    print(
        f"  RR CPU           : {fab.rr_cpu:7.1f} s = {fab.rr_cpu / total / n_rrs * 1e6:.0f} us per "
        f"route received, {fab.rr_cpu / max(sent, 1) * 1e6:.1f} us per route x peer sent "
        f"({sent} sent); session set-up {cpu_up:.1f} s"
    )
    print(
        f"  RSS              : {rss1 / 1024:7.0f} MiB (sessions up: +{(rss_up - rss0) / 1024:.0f} "
        f"MiB, routes: +{(rss1 - rss_up) / 1024:.0f} MiB = "
        f"{(rss1 - rss_up) * 1024 / max(sent, 1):.0f} B per route x peer, C-PEs included)"
    )
    print(f"  octets through the RRs: {fab.octets / 1e6:.1f} MB (what the control SAs would carry)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cpes", type=int, default=1000)
    ap.add_argument("--tenants", type=int, default=100)
    ap.add_argument("--routes", type=int, default=100_000)
    ap.add_argument("--rrs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--smoke", action="store_true", help="20 C-PEs, 4 tenants, 400 routes")
    args = ap.parse_args()
    if args.smoke:
        args.cpes, args.tenants, args.routes = 20, 4, 400
    for n in args.rrs:
        print(f"{n} RR(s), {args.cpes} C-PEs, {args.tenants} tenants, {args.routes} routes:")
        run(args.cpes, args.tenants, args.routes, n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
