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

RT-Constrain (RFC 4684, on by default as in the product): each C-PE first
advertises one membership route, its tenant's RT, and the membership
End-of-RIB; the RRs then send it only its tenant's routes. With --no-rtc
nobody offers the family and every C-PE gets every route.

Converged = every RR's Loc-RIB holds all R routes and every C-PE has received,
from each RR, every route it should get (its tenant's, or with --no-rtc all,
but its own) and the VPN End-of-RIB. "RR CPU" is the process CPU time spent
inside the RR cores, per route received and per route sent (route x peer).

Usage: benchmarks/rr_scale.py [--cpes 1000] [--tenants 100] [--routes 100000] [--rrs 1 2]
                              [--no-rtc] [--profile FILE]
       benchmarks/rr_scale.py --smoke   (20 C-PEs, 4 tenants, 400 routes: seconds)
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split
import argparse
import cProfile
import gc
import ipaddress
import pstats
import sys
import time
from collections import Counter
from pathlib import Path

from controller.bgp import convert
from controller.bgp import session as s
from controller.bgp.aio import gc_paused
from controller.bgp.config import NeighborConfig, SpeakerConfig
from controller.bgp.core import SpeakerCore
from controller.bgp.path import RTC, VPNV4, Attrs, Color, Nlri
from controller.bgp.rtc import local_memberships
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

    def __init__(
        self, i: int, rrs: list[Addr], tenant: int, n_routes: int, base: int, rtc: bool
    ) -> None:
        self.addr = cpe_addr(i)
        self.tenant = tenant
        nbrs = tuple(NeighborConfig(r, AS, Color.RED, families=(VPNV4,)) for r in rrs)
        cfg = SpeakerConfig(AS, self.addr, neighbors=nbrs, rt_constrain=rtc)
        self.sessions = {r: s.Session(n, cfg) for r, n in zip(rrs, nbrs, strict=True)}
        rt = ExtCommunity.route_target(f"{AS}:{tenant + 1}")
        attrs = Attrs(next_hop=self.addr, local_pref=100, ext_communities=(rt,))
        # RFC 4684: the membership of its one import RT, sent before its VPN routes.
        member = Attrs(next_hop=self.addr, local_pref=100)
        self.memberships = [(n, member, ()) for n in local_memberships(AS, [rt])]
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

    def send_memberships(self) -> None:
        for sess in self.sessions.values():
            assert sess.negotiated is not None, "session not established"
            if RTC not in sess.negotiated.families:
                continue
            for msg in convert.encode_updates(self.memberships, [], sess.negotiated):
                sess.send(msg)
            sess.send(convert.end_of_rib(RTC))

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
                eor = upd.end_of_rib  # type: ignore[attr-defined]
                if eor == VPNV4:
                    self.eor.add(rr)
                elif eor is None:
                    got = upd.announced()  # type: ignore[attr-defined]
                    self.received[rr] += sum(1 for fam, _ in got if fam == VPNV4)


class Fabric:
    """In-memory TCP between the RR cores and the C-PE sessions; RR CPU time is summed."""

    def __init__(self, rrs: list[Addr], cpes: list[Cpe], rtc: bool) -> None:
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
            cfg = SpeakerConfig(AS, r, neighbors=tuple(clients + others), rt_constrain=rtc)
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


def run(n_cpes: int, tenants: int, n_routes: int, n_rrs: int, rtc: bool) -> None:
    gc.collect()
    rss0 = rss_kib()
    rrs = [Addr((10 << 24) | (255 << 16) | (k + 1)) for k in range(n_rrs)]
    per = n_routes // n_cpes
    cpes = [Cpe(i, rrs, i % tenants, per, i * per, rtc) for i in range(n_cpes)]
    total = per * n_cpes
    fab = Fabric(rrs, cpes, rtc)
    t = time.perf_counter()
    fab.start()
    fab.settle()
    for _ in range(5):
        fab.advance(1)
        if all(sess.established for c in cpes for sess in c.sessions.values()):
            break
    up = sum(sess.established for c in cpes for sess in c.sessions.values())
    print(
        f"  sessions: {up} of {n_cpes * n_rrs} Established, memberships in, in "
        f"{time.perf_counter() - t:.1f} s"
    )
    for c in cpes:
        c.send_memberships()
    fab.settle()
    rss_up = rss_kib()
    cpu_up, fab.rr_cpu, fab.octets = fab.rr_cpu, 0.0, 0
    t0, c0 = time.perf_counter(), time.process_time()
    for c in cpes:
        c.send_routes()
    fab.settle()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss1 = rss_kib()
    ribs = [sum(1 for _ in rr.red.best_paths(VPNV4)) for rr in fab.rrs.values()]
    # Every route but its own: of its tenant (RT-Constrain), or of everyone.
    in_tenant = Counter(c.tenant for c in cpes)
    want = {c.addr: (in_tenant[c.tenant] if rtc else n_cpes) * per - per for c in cpes}
    short = sum(1 for c in cpes for r in rrs if c.received[r] < want[c.addr] or r not in c.eor)
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
    ap.add_argument("--no-rtc", action="store_true", help="no RT-Constrain: all routes to all")
    ap.add_argument("--profile", metavar="FILE", help="cProfile the runs into FILE")
    args = ap.parse_args()
    if args.smoke:
        args.cpes, args.tenants, args.routes = 20, 4, 400
    prof = cProfile.Profile() if args.profile else None
    for n in args.rrs:
        rtc = "without" if args.no_rtc else "with"
        print(
            f"{n} RR(s), {args.cpes} C-PEs, {args.tenants} tenants, {args.routes} routes, "
            f"{rtc} RT-Constrain:"
        )
        if prof is not None:
            prof.enable()
        run(args.cpes, args.tenants, args.routes, n, not args.no_rtc)
        if prof is not None:
            prof.disable()
    if prof is not None:
        prof.dump_stats(args.profile)
        pstats.Stats(args.profile).sort_stats("cumulative").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
