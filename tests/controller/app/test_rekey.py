"""Rekey as the daemon wires it: configured lifetimes -> IKE and engine -> SAD -> P4 entries.

Two C-PEs' IKE daemons, tunnel managers, SA databases (real ESP engines) and
composers run in one process with a shared clock. The IKE configs come from
``make_ike_config`` on a parsed daemon configuration, as in the daemon. What
must hold across a rekey: the SPIs change, ``tunnel_sa`` follows to the new
outbound SA, and every packet the peer encrypts (under whatever SA its own
pipeline names at that moment) decrypts here to an SA index that our
``inbound_sa`` entries accept -- before, during and after the switch.
"""

from __future__ import annotations

import dataclasses
import ipaddress

import pytest

from controller.app.compose import Composer
from controller.app.desired import TABLE_ORDER, DesiredState
from controller.app.ikeconf import make_ike_config
from controller.app.writer import SwitchWriter
from controller.bgp.core import RouteEvent
from controller.bgp.resolve import Verdict
from controller.config import Config, parse
from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.packet import outer_header
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.installer import ExpiryEvent
from controller.ipsec.sad import SaDatabase
from controller.ipsec.tunnels import TunnelManager
from controller.p4rt import TableEntry

from .conftest import CPE

pytestmark = pytest.mark.unit
ip = ipaddress.ip_address
MPLS = bytes.fromhex("00064140") + b"tenant packet" * 4
SWITCH_DELAY = 0.5
DRAIN = 2.0


def config(n: int, lifetimes: str) -> Config:
    text = CPE.replace("198.51.100.11", f"198.51.100.1{n}").replace("10.255.0.11", f"10.255.0.1{n}")
    text = text.replace("cpe1", f"cpe{n}").replace(
        'ike: {auth: {psk: "test key"}}',
        f'ike: {{auth: {{psk: "test key"}}, lifetimes: {lifetimes}}}',
    )
    return parse(text, f"cpe{n}.yml")


class Cpe:
    def __init__(
        self, n: int, lifetimes: str, clock: list[float], delay: float = SWITCH_DELAY
    ) -> None:
        self.cfg = config(n, lifetimes)
        self.me = f"198.51.100.1{n}"
        self.clock = clock
        self.engine = EspEngine(clock=lambda: clock[0])
        self.state = DesiredState(self.cfg, {})
        self.comp = Composer(self.state, {}, self.cfg.loopbacks.red)
        self.sad = SaDatabase(
            self.engine, ip(self.me), DRAIN, self.comp.tunnel_change, switch_delay=delay
        )
        self.daemon = IkeDaemon([], spi_alloc=self.engine.allocate_spi)
        self.mgr = TunnelManager(
            self.daemon, self.sad, self.me, lambda peer: make_ike_config(self.cfg, peer, {})
        )
        self.expiries: list[ExpiryEvent] = []
        self.engine.subscribe(self.expiries.append)

    def route_to(self, peer: Cpe) -> None:
        ev = RouteEvent(
            "blue", ipaddress.ip_network("10.9.0.0/24"), label=300,
            next_hop=peer.cfg.loopbacks.red, verdict=Verdict.RESOLVED,
            tunnel_endpoint=ip(peer.me),
        )  # fmt: skip
        self.comp.route_event(ev)

    def tunnel_sa(self) -> int:
        (entry,) = [e for e in self.state.entries() if e.table == "tunnel_sa"]
        return int(entry.params["sa_index"])

    def accepted(self) -> set[int]:
        return {
            int(e.match["sa_index"]) for e in self.state.entries() if e.table == "inbound_sa_v4"
        }

    def spis(self) -> set[int]:
        return {c.spi_in for sa in self.daemon.established() for c in sa.children}

    def encrypt(self, dst: str) -> bytes:
        """What our pipeline sends now: the SA index its tunnel_sa entry names."""
        d, s = ip(dst).packed, ip(self.me).packed
        frame = (
            cp.CryptoHeader(cp.Op.ENCRYPT, self.tunnel_sa()).encode()
            + b"\x02\x00\x00\x00\x00\x0b\x02\x00\x00\x00\x00\x0a\x08\x00"
            + outer_header(s, d, 137, len(MPLS), 0)
            + MPLS
        )
        out = self.engine.process(frame)
        assert out[4] == cp.Result.OK, self.engine.last_error
        return out

    def decrypt_index(self, encrypted: bytes) -> int:
        out = self.engine.process(cp.CryptoHeader(cp.Op.DECRYPT).encode() + encrypted[8:])
        assert out[4] == cp.Result.OK, self.engine.last_error
        assert out[8 + 14 + 20 :] == MPLS
        return cp.CryptoHeader.decode(out).sa_index


def pump(nodes: dict[str, Cpe], now: float) -> None:
    for _ in range(50):
        busy = False
        for node in nodes.values():
            for event in node.expiries:  # what IpsecRuntime does with engine expiries
                node.mgr.on_expiry(event, now)
            node.expiries.clear()
            node.daemon.tick(now)
            node.sad.tick(now)
            out, events = node.daemon.drain()
            node.mgr.on_events(events, now)
            for dg in out:
                busy = True
                nodes[dg.dst[0]].daemon.receive(dg.data, dg.src, dg.dst, now)
        if not busy:
            return


def both_ways_accepted(a: Cpe, b: Cpe) -> None:
    """Each side's packets, sent as its pipeline would now, pass the other's inbound check."""
    assert b.decrypt_index(a.encrypt(b.me)) in b.accepted()
    assert a.decrypt_index(b.encrypt(a.me)) in a.accepted()


def up(lifetimes: str, delay: float = SWITCH_DELAY) -> tuple[dict[str, Cpe], Cpe, Cpe, list[float]]:
    clock = [0.0]
    a, b = Cpe(1, lifetimes, clock, delay), Cpe(2, lifetimes, clock, delay)
    nodes = {a.me: a, b.me: b}
    b.mgr.accept(a.me)
    a.route_to(b)
    b.route_to(a)
    a.mgr.ensure_tunnel(b.me, now=0.0)
    pump(nodes, 0.0)
    return nodes, a, b, clock


def step(nodes: dict[str, Cpe], clock: list[float], to: float) -> None:
    clock[0] = to
    for node in nodes.values():
        node.engine.tick(to)
    pump(nodes, to)


def test_configured_packet_lifetime_reaches_the_mpls_child_and_engine() -> None:
    _nodes, a, b, _clock = up("{child_rekey_packets: 5}")
    cfg = a.daemon.config(f"cpe-{b.me}")
    assert cfg.child("mpls").lifetimes.rekey_packets == 5
    soft = next(p.soft for p in a.engine.sas() if p.sa_index == a.tunnel_sa())
    assert soft.packets == 5


def test_packet_rekey_is_hitless_in_the_p4_entries() -> None:
    nodes, a, b, clock = up("{child_rekey_packets: 5}")
    first_spis, first_out = a.spis(), a.tunnel_sa()
    assert len(a.accepted()) == 1
    for _ in range(4):
        both_ways_accepted(a, b)
    in_flight = a.encrypt(b.me)  # the 5th packet: soft limit, the rekey starts
    step(nodes, clock, 0.1)
    assert a.spis() != first_spis and len(a.spis()) == 1  # rekeyed, old child deleted
    # Before the outbound switch: old SA still carries traffic, both inbound SAs accepted.
    assert a.tunnel_sa() == first_out
    assert len(a.accepted()) == 2 and len(b.accepted()) == 2
    assert b.decrypt_index(in_flight) in b.accepted()
    both_ways_accepted(a, b)
    step(nodes, clock, 0.1 + SWITCH_DELAY + 0.01)
    assert a.tunnel_sa() != first_out  # tunnel_sa follows the new SA
    assert len(a.accepted()) == 2  # the old inbound drains
    both_ways_accepted(a, b)
    step(nodes, clock, 0.2 + SWITCH_DELAY + DRAIN)
    assert len(a.accepted()) == 1 and len(b.accepted()) == 1
    assert a.accepted().isdisjoint({first_out})
    both_ways_accepted(a, b)


def test_time_lifetime_rekeys_twice_and_entries_follow() -> None:
    nodes, a, b, clock = up("{child_rekey: 30, child_life: 40}")
    seen = [a.spis()]
    outs = [a.tunnel_sa()]
    t = 0.0
    while t < 70.0:
        t += 0.5
        step(nodes, clock, t)
        both_ways_accepted(a, b)
        if a.spis() != seen[-1] and len(a.spis()) == 1:
            seen.append(a.spis())
        if a.tunnel_sa() != outs[-1]:
            outs.append(a.tunnel_sa())
    assert len(seen) >= 3 and len(outs) >= 3  # two rekeys at least, both in the pipeline
    assert len(a.accepted()) == 1
    assert {e.sa_index for e in a.engine.sas()} == {a.tunnel_sa(), *a.accepted()}


@pytest.mark.parametrize("delay", [SWITCH_DELAY, 0.0])
def test_both_ends_hit_the_packet_limit_at_once(delay: float) -> None:
    """Echo traffic: A's outbound and B's inbound SA reach the soft limit together, both
    ends rekey, one new SA loses the collision (RFC 7296 2.8.1) and is deleted. The
    loser's SAD must not fall back to the old, already switched-away SA."""
    nodes, a, b, clock = up("{child_rekey_packets: 5}", delay)
    first = a.spis()
    for _ in range(4):
        both_ways_accepted(a, b)
    # the 5th packet each way: each side's outbound and inbound SA hit the soft limit
    b.decrypt_index(a.encrypt(b.me))
    a.decrypt_index(b.encrypt(a.me))
    assert a.expiries and b.expiries
    t = 0.0
    while t < 6.0:
        t += 0.1
        step(nodes, clock, t)
        if t < 3.0:  # traffic (which keeps rekeying every 5 packets), then quiet
            both_ways_accepted(a, b)
    both_ways_accepted(a, b)
    assert a.spis() != first and len(a.spis()) == 1 and len(b.spis()) == 1
    assert len(a.accepted()) == 1 and len(b.accepted()) == 1
    assert {e.sa_index for e in a.engine.sas()} == {a.tunnel_sa(), *a.accepted()}


def test_a_dead_successor_never_falls_back_to_the_switched_away_sa() -> None:
    """The new SA is deleted while IKE has not yet reported the old one gone: the
    old SA's outbound is retired in the engine (it cannot carry traffic again), so
    the tunnel has no SA rather than an exception from switch_outbound."""
    _nodes, a, b, _clock = up("{child_rekey_packets: 5}", 0.0)
    key = (ip(b.me), None, "mpls")
    old = a.sad.tunnels[key].child
    new = dataclasses.replace(old, spi_in=a.engine.allocate_spi(), spi_out=0x1234)
    a.sad.child_up(new, b.me, 1.0, replaces=old)
    assert a.sad.tunnels[key].child is new
    a.sad.child_down(new, 1.0)
    assert key not in a.sad.tunnels
    assert not [e for e in a.state.entries() if e.table == "tunnel_sa"]


def test_per_tenant_mpls_children_get_the_configured_lifetimes() -> None:
    clock = [0.0]
    a = Cpe(1, "{child_rekey: 40, child_life: 50, child_rekey_packets: 7}", clock)
    a.mgr.per_tenant = True
    a.mgr.ensure_tunnel("198.51.100.12", tenant="blue", now=0.0)
    life = a.daemon.config("cpe-198.51.100.12").child("mpls-blue").lifetimes
    assert (life.rekey_seconds, life.life_seconds, life.rekey_packets) == (40.0, 50.0, 7)


async def test_every_rekey_phase_is_written_to_the_real_switch(switch) -> None:  # type: ignore[no-untyped-def]
    """p4sim's P4Runtime server takes each phase's entries (two inbound_sa entries for
    one tunnel during a rekey) and holds exactly what the desired state says."""
    nodes, a, b, clock = up("{child_rekey_packets: 5}")
    writer = SwitchWriter(TABLE_ORDER)

    async def written() -> set[int]:
        await writer.write(switch, a.state, False)
        plan = await switch.reconcile(a.state.entries(), [TableEntry("*")], order=TABLE_ORDER)
        assert plan.updates == []  # the incremental writes left nothing to fix
        return a.accepted()

    assert len(await written()) == 1
    for _ in range(5):
        both_ways_accepted(a, b)
    step(nodes, clock, 0.1)
    assert len(await written()) == 2  # new inbound before the switch
    step(nodes, clock, 0.1 + SWITCH_DELAY + 0.01)
    assert len(await written()) == 2  # old inbound while it drains
    step(nodes, clock, 0.2 + SWITCH_DELAY + DRAIN)
    assert len(await written()) == 1
