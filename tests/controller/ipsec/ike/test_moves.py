"""Mobility through the tunnel manager and the SA database, over two real ESP engines."""

from __future__ import annotations

import pytest

from controller.ipsec import crypto_port as cp
from controller.ipsec.ike.config import IkeConfig, Lifetimes
from controller.ipsec.ike.sa import IkeState
from controller.ipsec.tunnels import bgp_child

from .harness import A_ADDR, B_ADDR, PSK, Net
from .test_sad_tunnels import MPLS, Side, setup

pytestmark = pytest.mark.unit
A_NEW, B_NEW = "192.0.2.99", "198.51.100.99"


def traffic_flows(a: Side, b: Side) -> None:
    assert b.receive(a.send(b.me)) == (cp.Result.OK, MPLS)
    assert a.receive(b.send(a.me)) == (cp.Result.OK, MPLS)


def test_our_move_as_initiator_moves_both_ends_with_mobike() -> None:
    net, a, b, _ = setup()
    told: list[tuple[str, str]] = []
    b.mgr.on_moved = lambda old, new: told.append((old, new))
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    net.pump()
    net.nodes[A_NEW] = a.daemon
    a.mgr.local_moved(A_NEW, now=net.now)
    a.me = A_NEW
    net.pump()
    assert told == [(A_ADDR, A_NEW)]  # the app hears it before the SAD re-keys
    assert b.sad.outbound_index(A_NEW) is not None and b.sad.outbound_index(A_ADDR) is None
    assert {str(p.remote) for p in b.engine.sas()} == {A_NEW}
    assert {str(p.local) for p in a.engine.sas()} == {A_NEW}
    (ike_b,) = b.daemon.established()
    assert ike_b.remote[0] == A_NEW
    assert b.daemon.config(f"cpe-{A_NEW}").remote_addr == A_NEW
    traffic_flows(a, b)


def test_our_move_as_responder_waits_for_the_initiator_told_by_bgp() -> None:
    net, a, b, _ = setup()
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    net.pump()
    net.nodes[B_NEW] = b.daemon
    b.mgr.local_moved(B_NEW, now=net.now)  # B responded to A's IKE SA: no MOBIKE from here
    b.me = B_NEW
    net.pump()
    (ike_a,) = a.daemon.established()
    assert ike_a.remote[0] == B_ADDR
    a.mgr.peer_moved(B_ADDR, B_NEW, now=net.now)  # BGP: B's red loopback route, new endpoint
    net.pump()
    (ike_b,) = b.daemon.established()
    assert ike_b.local[0] == B_NEW and ike_a.remote[0] == B_NEW and ike_a.active is None
    assert a.sad.outbound_index(B_NEW) is not None
    traffic_flows(a, b)
    # a rekey after the move negotiates selectors naming the new address
    (child,) = [c for c in ike_a.children if c.name == "mpls"]
    a.daemon.rekey_child(child.spi_in, net.now)
    net.pump()
    (new,) = [c for c in ike_a.children if c.name == "mpls"]
    assert new is not child
    traffic_flows(a, b)


def test_a_peer_without_mobike_gets_a_fresh_ike_sa_at_its_new_address() -> None:
    net, a, b, _ = setup()
    for cfg in b.daemon.configs:
        cfg.mobike = False
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    net.pump()
    (old_ike,) = a.daemon.established()
    assert not old_ike.peer_mobike
    net.nodes[B_NEW] = b.daemon
    b.mgr.local_moved(B_NEW, now=net.now)
    b.me = B_NEW
    a.mgr.peer_moved(B_ADDR, B_NEW, now=net.now)
    net.pump()
    (ike_a,) = a.daemon.established()  # make-before-break: the old one deleted once up
    assert ike_a is not old_ike and old_ike.state == IkeState.DELETED
    assert ike_a.remote[0] == B_NEW
    assert len(b.daemon.established()) == 1
    traffic_flows(a, b)


def test_a_peer_back_from_a_new_address_is_known_by_its_identity() -> None:
    """The peer restarted after moving (no MOBIKE possible): a fresh IKE SA from an
    address our config does not list is accepted for its authenticated identity."""
    net, a, b, clock = setup()
    told: list[tuple[str, str]] = []
    b.mgr.on_moved = lambda old, new: told.append((old, new))
    b.daemon.configs[0].remote_addr = A_ADDR  # as TunnelManager.accept makes it
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    net.pump()
    back = Side(A_NEW, B_ADDR, clock)  # A's daemon again, at its new address ...

    def make(peer: str) -> IkeConfig:  # ... with its original identity
        return IkeConfig(
            "x", A_ADDR, peer, psk=PSK, children=[bgp_child(A_NEW, peer)],
            lifetimes=Lifetimes(None, None),
        )  # fmt: skip

    back.mgr.make_config = make
    del net.nodes[A_ADDR]
    net.nodes[A_NEW] = back.daemon
    back.mgr.ensure_tunnel(B_ADDR, now=net.now)
    for _ in range(20):
        Net.pump(net)
        for side, name in ((back, A_NEW), (b, B_ADDR)):
            side.mgr.on_events(net.events.pop(name, []), net.now)
    assert told == [(A_ADDR, A_NEW)]
    (ike_b,) = b.daemon.established()  # the stale SA went with INITIAL_CONTACT
    assert ike_b.remote[0] == A_NEW and ike_b.cfg.remote_addr == A_NEW
    assert {c.name for c in ike_b.children} == {"mpls", "bgp"}  # selectors name A_NEW
    assert b.sad.outbound_index(A_NEW) is not None
    traffic_flows(back, b)


def test_an_unknown_identity_from_an_unknown_address_is_refused() -> None:
    net, _a, b, clock = setup()
    b.daemon.configs[0].remote_addr = A_ADDR
    stranger = Side("203.0.113.9", B_ADDR, clock)
    net.nodes["203.0.113.9"] = stranger.daemon
    stranger.mgr.initiate_grace = 0.0  # the higher address would leave B 3 s to start
    stranger.mgr.ensure_tunnel(B_ADDR, now=net.now)
    for _ in range(20):
        Net.pump(net)
    # B answered (IKE_SA_INIT is accepted for a possible moved peer) but IKE_AUTH failed
    assert any(d.dst[0] == "203.0.113.9" for d in net.sent)
    assert not b.daemon.established() and not list(b.engine.sas())
    assert not stranger.daemon.established()


def test_an_sa_answered_by_identity_is_not_taken_for_another_peers() -> None:
    """B has no config for A yet when A's IKE_SA_INIT arrives (its route to A is still on
    the way): B answers it for a possible moved peer with another peer's config. B's own
    tunnel to A, asked for meanwhile, must not pile CHILD_SAs onto that half-open SA."""
    net, a, b, _ = setup()
    b.daemon.configs[0].name, b.daemon.configs[0].remote_addr = "cpe-203.0.113.50", "203.0.113.50"
    b.daemon.configs[0].remote_id = "203.0.113.50"
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    Net.pump(net, rounds=1)  # IKE_SA_INIT answered, IKE_AUTH not yet
    (half,) = b.daemon.sas.values()
    assert half.state == IkeState.CONNECTING and half.cfg.remote_addr == "203.0.113.50"
    b.mgr.ensure_tunnel(A_ADDR, now=net.now)  # B's route to A arrives
    assert not half.pending and half.active is None
    net.pump()
    assert len(a.daemon.established()) == len(b.daemon.established()) == 1
    traffic_flows(a, b)
