"""A C-PE behind NAT, and the SA sets its Security Handle names (tunnel manager + real engines).

A is behind a NAT (public address 203.0.113.9): its IKE SA reaches B from there.
B knows A only by its black loopback (A_ADDR), from A's red loopback route.
"""

from __future__ import annotations

import ipaddress

import pytest

from controller.ipsec.esp import EspEngine
from controller.ipsec.handle import SecurityHandle
from controller.ipsec.ike.config import IkeConfig, Lifetimes
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.ike.sa import Datagram
from controller.ipsec.installer import UdpEncap
from controller.ipsec.sad import SaDatabase, TunnelChange
from controller.ipsec.tunnels import TunnelManager

from .harness import A_ADDR, B_ADDR, PSK, Net, psk_config

pytestmark = pytest.mark.unit
PUBLIC = "203.0.113.9"


def nat(dg: Datagram) -> Datagram:
    """Masquerade A's datagrams behind PUBLIC (port + 40000) and undo it on the way back."""
    if dg.src[0] == A_ADDR:
        return Datagram(dg.data, (PUBLIC, 40000 + dg.src[1]), dg.dst)
    if dg.dst[0] == PUBLIC:
        return Datagram(dg.data, dg.src, (A_ADDR, dg.dst[1] - 40000))
    return dg


class Side:
    def __init__(self, me: str, sets: dict[str | None, int], any_address: bool = True) -> None:
        self.me = me
        self.engine = EspEngine(clock=lambda: 0.0)
        self.changes: list[TunnelChange] = []
        self.sad = SaDatabase(self.engine, ipaddress.ip_address(me), 2.0, self.changes.append)
        self.log: list[str] = []

        def make(peer: str) -> IkeConfig:
            return IkeConfig(
                "x", me, peer, psk=PSK, lifetimes=Lifetimes(None, None), any_address=any_address
            )

        self.daemon = IkeDaemon([], spi_alloc=self.engine.allocate_spi, log=self.log.append)
        per_tenant = len(sets) > 1
        self.mgr = TunnelManager(
            self.daemon, self.sad, me, make, per_tenant, log=self.log.append, local_sets=sets
        )


def setup(
    a_sets: dict[str | None, int] | None = None,
    b_sets: dict[str | None, int] | None = None,
    b_any: bool = True,
) -> tuple[Net, Side, Side]:
    a, b = Side(A_ADDR, a_sets or {None: 0}), Side(B_ADDR, b_sets or {None: 0}, b_any)
    net = Net({A_ADDR: a.daemon, B_ADDR: b.daemon, PUBLIC: a.daemon}, nat=nat)
    original = net.pump

    def pump() -> None:
        for _ in range(20):
            original()
            events = [(s, net.events.pop(n, [])) for s, n in ((a, A_ADDR), (b, B_ADDR))]
            events += [(a, net.events.pop(PUBLIC, []))]
            if not any(ev for _, ev in events):
                return
            for side, ev in events:
                side.mgr.on_events(ev, net.now)

    net.pump = pump  # type: ignore[method-assign]
    return net, a, b


def test_peer_behind_nat_is_waited_for_and_reached_at_its_nat() -> None:
    net, a, b = setup()
    b.mgr.accept(A_ADDR)
    # B learns A's red loopback route first: A's handle says "I initiate"
    b.mgr.ensure_tunnel(A_ADDR, SecurityHandle(initiates=True).encode(), now=net.now)
    net.pump()
    assert not net.sent and not b.daemon.sas  # nothing sent to the unreachable loopback
    assert any("waiting for its IKE SA" in line for line in b.log)
    a.mgr.ensure_tunnel(B_ADDR, SecurityHandle().encode(), now=net.now)
    net.pump()
    # B keys the tunnel by A's black loopback; its SAs go to the NAT's address and port
    assert b.sad.outbound_index(A_ADDR) is not None
    assert b.sad.outbound_index(PUBLIC) is None
    change = next(c for c in reversed(b.changes) if c.out_index is not None)
    assert str(change.key[0]) == A_ADDR and str(change.remote) == PUBLIC
    sas = list(b.engine.sas())
    assert {str(p.remote) for p in sas} == {PUBLIC}
    assert {p.udp_encap for p in sas} == {UdpEncap(4500, 44500)}
    # A, behind the NAT, sends to B's own address, also in UDP
    a_sas = list(a.engine.sas())
    assert {str(p.remote) for p in a_sas} == {B_ADDR} and all(p.udp_encap for p in a_sas)
    (ike_a,) = a.daemon.established()
    assert ike_a.nat_here  # so A sends the NAT keepalives (RFC 3948 2.3)


def test_a_known_identity_through_a_nat_is_accepted_without_any_address() -> None:
    # The config names A's identity: IKE_AUTH authenticates it, the address never is
    # (the same rule lets a moved peer in, controller/ipsec/moves.py).
    net, a, b = setup(b_any=False)
    b.mgr.accept(A_ADDR)
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    net.pump()
    assert b.sad.outbound_index(A_ADDR) is not None
    assert not any("mobility" in line for line in b.log)  # a NAT is not a move


def test_an_identity_no_config_names_is_refused_through_the_nat() -> None:
    # B expects C from anywhere and A by identity; X comes through the NAT as itself
    c_cfg = psk_config(B_ADDR, "192.0.2.77", any_address=True, remote_addr="192.0.2.77")
    a_cfg = psk_config(B_ADDR, A_ADDR, remote_addr=A_ADDR)
    b = IkeDaemon([c_cfg, a_cfg])
    x = IkeDaemon([psk_config(A_ADDR, B_ADDR, local_id="192.0.2.99")])
    net = Net({A_ADDR: x, B_ADDR: b, PUBLIC: x}, nat=nat)
    sa = x.initiate(f"to-{B_ADDR}", (A_ADDR, 500), (B_ADDR, 500), net.now)
    net.pump()
    assert sa.state.value != "established" and not b.established()


def test_sa_set_from_the_handle_picks_the_tenant_and_unknown_sets_are_refused() -> None:
    sets = {None: 0, "blue": 5, "green": 6}
    net, a, b = setup(a_sets={None: 0, "blue": 1, "green": 2}, b_sets=sets)
    b.mgr.accept(A_ADDR)
    # A's VRF is called "blue" too, but it asks for B's set 6 (B's green) on purpose:
    # the advertiser's id decides where B files it, not the initiator's name
    a.mgr.ensure_tunnel(B_ADDR, SecurityHandle(6).encode(), "blue", now=net.now)
    net.pump()
    assert b.sad.outbound_index(A_ADDR, "green", "mpls-green") is not None
    assert b.sad.outbound_index(A_ADDR, "blue", "mpls-blue") is None
    assert a.sad.outbound_index(B_ADDR, "blue", "mpls-blue") is not None
    # a set B never advertised: refused, the IKE SA stays up
    a.mgr.ensure_tunnel(B_ADDR, SecurityHandle(9).encode(), "green", now=net.now)
    net.pump()
    assert a.sad.outbound_index(B_ADDR, "green", "mpls-green") is None
    assert any("unknown SA set 9" in line for line in b.log)
    assert len(b.daemon.established()) == 1


def test_malformed_and_foreign_handles_fall_back_to_defaults_logged_once() -> None:
    net, a, b = setup()
    b.mgr.accept(A_ADDR)
    for _ in range(2):
        a.mgr.ensure_tunnel(B_ADDR, b"\x01\x40\x00\x00", now=net.now)  # P flag, no port
    net.pump()
    assert a.sad.outbound_index(B_ADDR) is not None  # the route is still usable
    problems = [line for line in a.log if "Security Handle malformed" in line]
    assert len(problems) == 1 and "IKE port is missing" in problems[0]
    a.mgr.ensure_tunnel(B_ADDR, b"\x07opaque", "x", now=net.now)
    assert any("Security Handle opaque (version 7" in line for line in a.log)


def test_refused_before_the_peer_knew_us_is_retried_until_it_does() -> None:
    """The lab race: A (behind NAT) initiates before B has A's route and config; B
    refuses IKE_AUTH, and B will never initiate, so A must try again."""
    net, a, b = setup()
    b.mgr.accept("192.0.2.77")  # B knows someone else, so it answers IKE_SA_INIT
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    net.pump()
    assert a.sad.outbound_index(B_ADDR) is None and not a.daemon.established()
    assert any("AUTHENTICATION_FAILED" in line for line in a.log)
    b.mgr.accept(A_ADDR)  # A's red loopback route reached B
    for _ in range(12):  # 6 s in 0.5 s ticks: the first retry comes after 2 s
        net.now += 0.5
        if a.mgr.tick(net.now):
            net.pump()
    assert a.sad.outbound_index(B_ADDR) is not None and b.sad.outbound_index(A_ADDR) is not None
    assert any("setting up its tunnel again" in line for line in a.log)
    assert not a.mgr.tick(net.now + 100)  # up: nothing left to retry


def test_per_tenant_sas_with_a_natted_peer_are_filed_alike_at_both_ends() -> None:
    """Each side names its tenants' SA sets differently; every CHILD_SA, whoever asked
    for it, ends up under the same tenant at both ends (by the advertiser's set id)."""
    net, a, b = setup(
        a_sets={None: 0, "blue": 1, "green": 2}, b_sets={None: 0, "blue": 5, "green": 6}
    )
    for tenant, a_set, b_set in (("blue", 1, 5), ("green", 2, 6)):
        b.mgr.ensure_tunnel(A_ADDR, SecurityHandle(a_set, initiates=True).encode(), tenant, now=0)
        a.mgr.ensure_tunnel(B_ADDR, SecurityHandle(b_set).encode(), tenant, now=0)
    net.pump()
    for side, peer in ((a, B_ADDR), (b, A_ADDR)):
        for tenant in ("blue", "green"):
            assert side.sad.outbound_index(peer, tenant, f"mpls-{tenant}") is not None
    a_tenant = {i.child.spi_in: i.tenant for i in a.sad.installed()}
    pairs = [(i.tenant, a_tenant.get(i.child.spi_out)) for i in b.sad.installed()]
    assert {t for t, _ in pairs} >= {"blue", "green"}
    assert all(mine == theirs for mine, theirs in pairs), pairs
    assert not any(s.initiator for s in b.daemon.established())  # only A initiated
