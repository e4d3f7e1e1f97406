"""SA database + tunnel manager over two real ESP engines: install, rekey, expiry, moves."""

from __future__ import annotations

import ipaddress

import pytest

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.packet import outer_header
from controller.ipsec.ike.config import IkeConfig, Lifetimes
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.installer import Direction, ExpiryEvent, ExpiryKind, ExpiryReason
from controller.ipsec.sad import SaDatabase, TunnelChange
from controller.ipsec.tunnels import TunnelManager, bgp_child, mpls_child

from .harness import A_ADDR, B_ADDR, PSK, Net

pytestmark = pytest.mark.unit
MPLS = bytes.fromhex("00064140") + b"tenant packet" * 4


def frame(op: int, index: int, src: str, dst: str, proto: int, payload: bytes) -> bytes:
    ip = outer_header(
        ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed, proto, len(payload), 0
    )
    eth = b"\x02\x00\x00\x00\x00\x0b\x02\x00\x00\x00\x00\x0a\x08\x00"
    return cp.CryptoHeader(op, index).encode() + eth + ip + payload


class Side:
    def __init__(self, me: str, peer: str, clock: list[float]) -> None:
        self.me = me
        self.engine = EspEngine(clock=lambda: clock[0])
        self.changes: list[TunnelChange] = []
        self.sad = SaDatabase(self.engine, ipaddress.ip_address(me), 2.0, self.changes.append)

        def make(peer_addr: str) -> IkeConfig:
            return IkeConfig(
                "x",
                me,
                peer_addr,
                psk=PSK,
                children=[bgp_child(me, peer_addr)],
                lifetimes=Lifetimes(None, None),
            )

        self.daemon = IkeDaemon([], spi_alloc=self.engine.allocate_spi)
        self.mgr = TunnelManager(self.daemon, self.sad, me, make)
        if me == B_ADDR:  # the responder needs the config before any route arrives
            self.daemon.configs.append(make(peer))
            self.daemon.configs[0].name = f"cpe-{peer}"
            self.daemon.configs[0].children.insert(0, mpls_child(me, peer))

    def send(self, peer: str, payload: bytes = MPLS) -> bytes:
        index = self.sad.outbound_index(peer)
        assert index is not None
        out = self.engine.process(frame(cp.Op.ENCRYPT, index, self.me, peer, 137, payload))
        assert out[4] == cp.Result.OK, self.engine.last_error
        return out

    def receive(self, encrypted: bytes) -> tuple[int, bytes]:
        out = self.engine.process(cp.CryptoHeader(cp.Op.DECRYPT).encode() + encrypted[8:])
        return out[4], out[8 + 14 + 20 :]


def setup(
    a: Side | None = None, clock: list[float] | None = None
) -> tuple[Net, Side, Side, list[float]]:
    clock = clock or [0.0]
    a = a or Side(A_ADDR, B_ADDR, clock)
    b = Side(B_ADDR, A_ADDR, clock)
    net = Net({A_ADDR: a.daemon, B_ADDR: b.daemon})
    sides = {A_ADDR: a, B_ADDR: b}  # a test may swap in a restarted side

    def pump() -> None:
        for _ in range(20):  # until neither IKE nor the managers have anything left to say
            Net.pump(net)
            events = [(sides[name], net.events.pop(name, [])) for name in sides]
            if not any(ev for _, ev in events):
                return
            for side, ev in events:
                side.mgr.on_events(ev, net.now)

    net.pump = pump  # type: ignore[method-assign]
    net.sides = sides  # type: ignore[attr-defined]
    return net, a, b, clock


def test_eager_tunnel_installs_both_directions_in_both_engines() -> None:
    net, a, b, _ = setup()
    a.mgr.ensure_tunnel(B_ADDR, b"\x01", now=net.now)
    net.pump()
    assert a.sad.outbound_index(B_ADDR) is not None and b.sad.outbound_index(A_ADDR) is not None
    assert a.sad.outbound_index(B_ADDR, child="bgp") is not None
    dirs = sorted(p.direction.value for p in a.engine.sas())
    assert dirs == ["in", "in", "out", "out"]  # mpls + bgp, each both ways
    result, plain = b.receive(a.send(B_ADDR))
    assert result == cp.Result.OK and plain == MPLS
    result, plain = a.receive(b.send(A_ADDR))
    assert result == cp.Result.OK and plain == MPLS


def test_lazy_trigger_waits_for_the_first_packet() -> None:
    net, a, _b, _ = setup()
    a.mgr.lazy = True
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    net.pump()
    assert a.sad.outbound_index(B_ADDR) is None and not list(a.engine.sas())
    a.mgr.packet_needs_tunnel(B_ADDR, now=net.now)
    net.pump()
    assert a.sad.outbound_index(B_ADDR) is not None


def test_rekey_is_hitless_and_old_inbound_drains() -> None:
    net, a, b, clock = setup()
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    net.pump()
    old_index = a.sad.outbound_index(B_ADDR)
    in_flight = a.send(B_ADDR)  # encrypted under the old SA, delivered after the rekey
    (ike,) = a.daemon.established()
    old_spi = next(c.spi_in for c in ike.children if c.name == "mpls")
    # the engine's soft expiry drives the rekey
    a.mgr.on_expiry(
        ExpiryEvent(old_index or 0, 0, Direction.OUTBOUND, ExpiryKind.SOFT, ExpiryReason.PACKETS),
        net.now,
    )
    net.pump()
    new_index = a.sad.outbound_index(B_ADDR)
    assert new_index != old_index
    assert a.changes[-1].out_index == new_index  # the app rewrites the tunnel entry
    # stale pipeline entry still naming the old index: encrypted with the new SA
    stale = a.engine.process(frame(cp.Op.ENCRYPT, old_index or 0, A_ADDR, B_ADDR, 137, MPLS))
    assert b.receive(stale) == (cp.Result.OK, MPLS)
    assert b.receive(in_flight) == (cp.Result.OK, MPLS)  # old inbound kept while draining
    assert b.receive(a.send(B_ADDR)) == (cp.Result.OK, MPLS)
    clock[0] = net.now = 3.0
    a.sad.tick(net.now)
    b.sad.tick(net.now)
    assert all(p.spi != old_spi for p in a.engine.sas())
    assert b.receive(a.send(B_ADDR)) == (cp.Result.OK, MPLS)
    assert len(list(a.engine.sas())) == 4


def test_hard_expiry_deletes_the_child_everywhere() -> None:
    net, a, b, _ = setup()
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    net.pump()
    index = a.sad.outbound_index(B_ADDR) or 0
    a.mgr.on_expiry(
        ExpiryEvent(index, 0, Direction.OUTBOUND, ExpiryKind.HARD, ExpiryReason.BYTES), net.now
    )
    net.pump()
    assert a.sad.outbound_index(B_ADDR) is None and b.sad.outbound_index(A_ADDR) is None
    assert a.changes[-1] == TunnelChange(a.changes[-1].key, None, None)


def test_peer_mobility_moves_the_sas() -> None:
    net, a, _b, _ = setup()
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    net.pump()
    new_addr = "198.51.100.77"
    a.mgr.peer_moved(B_ADDR, new_addr, now=net.now)
    assert a.sad.outbound_index(new_addr) is not None and a.sad.outbound_index(B_ADDR) is None
    outs = {str(p.remote) for p in a.engine.sas()}
    assert outs == {new_addr}
    (ike,) = a.daemon.established()
    assert ike.remote[0] == new_addr


def test_withdraw_deletes_the_ike_sa() -> None:
    net, a, b, _ = setup()
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    net.pump()
    a.mgr.withdraw(B_ADDR, now=net.now)
    net.pump()
    assert not list(a.engine.sas()) and not list(b.engine.sas())
    assert not a.daemon.sas and not b.daemon.sas


def test_ike_detected_move_and_sequence_exhaustion_reach_the_engine() -> None:
    from controller.ipsec.ike.events import PeerMoved

    net, a, b, _ = setup()
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    net.pump()
    (ike_b,) = b.daemon.established()
    # IKE saw the peer's authenticated requests come from a new address (NAT rebinding)
    b.mgr.on_events(
        [(ike_b, PeerMoved(ike_b.cfg.name, (A_ADDR, 4500), ("203.0.113.5", 4500)))], 0.0
    )
    assert {str(p.remote) for p in b.engine.sas()} == {"203.0.113.5"}
    # the tunnel is still the peer's (its black loopback); only its transport moved
    assert b.sad.outbound_index(A_ADDR) is not None
    assert b.sad.outbound_index("203.0.113.5") is None
    assert str(b.changes[-1].remote) == "203.0.113.5" and str(b.changes[-1].key[0]) == A_ADDR
    # the engine's sequence space nearly used up: a soft expiry, answered by a rekey
    index = a.sad.outbound_index(B_ADDR) or 0
    event = ExpiryEvent(index, 0, Direction.OUTBOUND, ExpiryKind.SOFT, ExpiryReason.SEQUENCE)
    a.mgr.on_expiry(event, net.now)
    net.pump()
    assert a.sad.outbound_index(B_ADDR) not in (None, index)


def test_packet_lifetime_in_the_engine_rekeys_through_ike() -> None:
    net, a, b, _ = setup()
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    cfg = a.daemon.config(f"cpe-{B_ADDR}")
    cfg.child("mpls").lifetimes = Lifetimes(None, None, rekey_packets=3, life_packets=10)
    events: list[ExpiryEvent] = []
    a.engine.subscribe(events.append)
    net.pump()
    first = a.sad.outbound_index(B_ADDR)
    for _ in range(3):
        a.send(B_ADDR)
    assert [e.kind for e in events] == [ExpiryKind.SOFT]
    a.mgr.on_expiry(events[0], net.now)
    net.pump()
    assert a.sad.outbound_index(B_ADDR) not in (None, first)
    assert b.receive(a.send(B_ADDR)) == (cp.Result.OK, MPLS)


def test_both_ends_trigger_at_once_and_traffic_flows_both_ways() -> None:
    net, a, b, clock = setup()
    b.mgr.accept(A_ADDR)
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    b.mgr.ensure_tunnel(A_ADDR, now=net.now)
    net.pump()
    assert b.receive(a.send(B_ADDR)) == (cp.Result.OK, MPLS)
    assert a.receive(b.send(A_ADDR)) == (cp.Result.OK, MPLS)
    # one IKE SA survives, the same at both ends: the one the lower address initiated
    (ike_a,) = a.daemon.established()
    (ike_b,) = b.daemon.established()
    assert ike_a.spis == ike_b.spis and ike_a.initiator
    clock[0] = net.now = 5.0
    a.sad.tick(net.now)
    b.sad.tick(net.now)
    assert len(list(a.engine.sas())) == len(list(b.engine.sas())) == 4
    assert b.receive(a.send(B_ADDR)) == (cp.Result.OK, MPLS)
    assert a.receive(b.send(A_ADDR)) == (cp.Result.OK, MPLS)


def _per_tenant_spis(side: Side, peer: str) -> dict[str, tuple[int, int]] | None:
    """Child name -> (SPI in, SPI out) of the per-tenant MPLS SAs, None until all are up."""
    out = {}
    for tenant in ("blue", "green"):
        inst = side.sad.tunnels.get((ipaddress.ip_address(peer), tenant, f"mpls-{tenant}"))
        if inst is None:
            return None
        out[tenant] = (inst.child.spi_in, inst.child.spi_out)
    return out


def test_per_tenant_sas_are_not_replaced_after_both_ends_set_up_at_once() -> None:
    """The lab flake: both C-PEs got the routes at once and both set up SAs; the duplicate
    IKE SA was closed seconds after convergence, replacing the per-tenant CHILD_SAs in use
    (packet counters restarted). Now the higher address waits for the lower's set-up."""
    net, a, b, clock = setup()
    for side in (a, b):
        side.mgr.per_tenant = True
    b.mgr.accept(A_ADDR)
    for tenant in ("blue", "green"):  # both ends, same instant (routes from the RRs)
        a.mgr.ensure_tunnel(B_ADDR, tenant=tenant, now=net.now)
        b.mgr.ensure_tunnel(A_ADDR, tenant=tenant, now=net.now)
    converged: tuple[dict, dict] | None = None
    ike_sas: set[tuple[bytes, bytes]] = set()
    downs = 0
    while net.now < 40.0:
        for side in (a, b):
            side.daemon.tick(net.now)
            side.mgr.tick(net.now)
            side.sad.tick(net.now)
        for _ in range(50):  # one datagram round at a time, as a real network would
            Net.pump(net, rounds=1)
            quiet = True
            for side, name in ((a, A_ADDR), (b, B_ADDR)):
                events = net.events.pop(name, [])
                quiet = quiet and not events
                downs += sum(type(ev).__name__ == "ChildDown" for _, ev in events)
                side.mgr.on_events(events, net.now)
            ike_sas |= {sa.spis for side in (a, b) for sa in side.daemon.established()}
            now = (_per_tenant_spis(a, B_ADDR), _per_tenant_spis(b, A_ADDR))
            if converged is None and None not in now:
                converged = now  # what the lab's readiness check would have seen
            if quiet:
                break
        net.now += 0.5
        clock[0] = net.now
    assert converged is not None
    assert (_per_tenant_spis(a, B_ADDR), _per_tenant_spis(b, A_ADDR)) == converged
    assert len(ike_sas) == 1 and downs == 0  # never a second IKE SA, nothing torn down
    (ike,) = a.daemon.established()
    assert ike.initiator  # the lower address set it up
    for tenant in ("blue", "green"):
        out = a.sad.outbound_index(B_ADDR, tenant, f"mpls-{tenant}")
        assert out is not None
        sealed = a.engine.process(frame(cp.Op.ENCRYPT, out, A_ADDR, B_ADDR, 137, MPLS))
        assert b.receive(sealed) == (cp.Result.OK, MPLS)


def test_the_higher_address_initiates_when_the_peer_never_does() -> None:
    net, a, b, clock = setup()
    a.mgr.accept(B_ADDR)  # A would answer B, but has no route that needs a tunnel to B
    b.mgr.ensure_tunnel(A_ADDR, now=net.now)
    net.pump()
    assert b.daemon.sas == {} and b.sad.outbound_index(A_ADDR) is None
    clock[0] = net.now = b.mgr.initiate_grace
    assert b.mgr.tick(net.now)
    net.pump()
    assert b.sad.outbound_index(A_ADDR) is not None
    assert a.receive(b.send(A_ADDR)) == (cp.Result.OK, MPLS)
