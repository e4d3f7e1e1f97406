"""A restarted RR rejoins its clients in seconds (controller/ipsec/rejoin.py).

A C-PE and an RR with their IKE daemons, SA databases and real ESP engines, built
from the daemon configuration, negotiate in one process on an explicit clock. The
RR then "restarts" (a fresh daemon and engine: kill -9 of all three) while the
C-PE keeps the dead RR's SAs, as it does in the lab; which peers a starting
daemon plans to rejoin is checked on the real control plane.
"""

from __future__ import annotations

from collections.abc import Collection

import pytest

from controller.app.controlplane import ControlPlane
from controller.app.desired import DesiredState
from controller.app.ikeconf import make_ike_config
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.ports import LockedEngine
from controller.ipsec.ike.runtime import IpsecRuntime
from controller.ipsec.ike.sa import IkeSa, IkeState
from controller.ipsec.ike.wire.consts import ExchangeType
from controller.ipsec.ike.wire.header import IkeHeader
from controller.ipsec.rejoin import REJOIN_GRACE

from .ikepump import pump
from .test_control_sa import CPE_BLACK, CPE_RED, RR_BLACK, RR_RED, Node, config

pytestmark = pytest.mark.unit


def rr_node() -> Node:
    rr = Node(config(RR_BLACK, RR_RED, None), RR_BLACK, CPE_BLACK, CPE_RED)
    rr.tunnels.accept(CPE_BLACK)  # as open_control_sas does
    rr.tunnels.rejoin.plan(CPE_BLACK, 0.0)
    return rr


def up(node: Node) -> list[IkeSa]:
    return [sa for sa in node.daemon.sas.values() if sa.state == IkeState.ESTABLISHED]


def run(nodes: dict[str, Node], start: float, end: float, drop: Collection[str] = ()) -> float:
    """Advance the clock in half seconds as the runtime does (IKE timers, the managers'
    tick); datagrams to an address in ``drop`` are lost."""
    now = start
    while now < end:
        now += 0.5
        for node in nodes.values():
            node.daemon.tick(now)
            node.tunnels.tick(now)
        pump(nodes, now, drop=drop)
    return now


def test_restarted_rr_initiates_with_initial_contact_and_the_client_moves_over() -> None:
    cpe = Node(config(CPE_BLACK, CPE_RED, None), CPE_BLACK, RR_BLACK, RR_RED)
    rr = Node(config(RR_BLACK, RR_RED, None), RR_BLACK, CPE_BLACK, CPE_RED)
    rr.tunnels.accept(CPE_BLACK)
    cpe.tunnels.packet_needs_tunnel(RR_BLACK, now=0.0)
    pump({CPE_BLACK: cpe, RR_BLACK: rr})
    (dead,) = up(cpe)
    old_bgp = cpe.sad.outbound_index(RR_BLACK, child="bgp")

    rr2 = rr_node()  # kill -9 of the RR's daemon, switch and engine; a fresh one starts
    nodes = {CPE_BLACK: cpe, RR_BLACK: rr2}
    now = run(nodes, 0.0, REJOIN_GRACE - 0.5)
    assert rr2.daemon.sas == {}, "initiated before the client had its grace"
    run(nodes, now, REJOIN_GRACE + 1.0)

    (new,) = up(cpe)  # INITIAL_CONTACT dropped the dead RR's IKE SA at once
    assert new is not dead and not new.initiator and dead.state == IkeState.DELETED
    assert [sa.spis for sa in up(rr2)] == [new.spis]
    bgp = cpe.sad.outbound_index(RR_BLACK, child="bgp")
    assert bgp not in (None, old_bgp), "the client still sends BGP on the dead RR's SA"
    assert rr2.sad.outbound_index(CPE_BLACK, child="bgp") is not None
    # both ends keep the control CHILD_SA's pair; the client's change is announced
    assert any(c.key[2] == "bgp" and c.out_index == bgp for c in cpe.changes)


def test_a_client_that_initiates_within_the_grace_gets_no_second_ike_sa() -> None:
    """A common start: the client initiates as it should, and the RR does nothing."""
    cpe = Node(config(CPE_BLACK, CPE_RED, None), CPE_BLACK, RR_BLACK, RR_RED)
    rr = rr_node()
    nodes = {CPE_BLACK: cpe, RR_BLACK: rr}
    now = run(nodes, 0.0, 2.0)
    cpe.tunnels.packet_needs_tunnel(RR_BLACK, now=now)
    run(nodes, now, 3 * REJOIN_GRACE)
    assert len(up(cpe)) == 1 and len(up(rr)) == 1 and not up(rr)[0].initiator
    assert len(rr.daemon.sas) == 1


def test_a_slow_client_initiating_while_our_attempt_is_unanswered_wins() -> None:
    """The RR's IKE_SA_INIT found no client yet (lost); the client then starts and
    initiates: the RR's unanswered attempt is dropped, not raced to a second IKE SA."""
    cpe = Node(config(CPE_BLACK, CPE_RED, None), CPE_BLACK, RR_BLACK, RR_RED)
    rr = rr_node()
    nodes = {CPE_BLACK: cpe, RR_BLACK: rr}
    now = run(nodes, 0.0, REJOIN_GRACE + 0.5, drop={CPE_BLACK})
    (attempt,) = rr.daemon.sas.values()
    assert attempt.initiator and attempt.state == IkeState.CONNECTING
    cpe.tunnels.packet_needs_tunnel(RR_BLACK, now=now)
    run(nodes, now, now + 200.0)
    assert attempt.state == IkeState.DELETED
    assert len(up(cpe)) == 1 and len(up(rr)) == 1 and len(rr.daemon.sas) == 1
    assert up(cpe)[0].initiator


def test_a_client_that_never_answers_is_tried_once() -> None:
    """Down, or behind a NAT where its black address is not reachable: one IKE_SA_INIT
    and its retransmissions, then nothing (it initiates itself when it can)."""
    rr = rr_node()
    sent: list[bytes] = []
    now = 0.0
    while now < 400.0:
        now += 0.5
        rr.daemon.tick(now)
        rr.tunnels.tick(now)
        out, events = rr.daemon.drain()
        rr.tunnels.on_events(events, now)
        sent += [dg.data for dg in out if dg.dst[0] == CPE_BLACK]
    inits = [d for d in sent if IkeHeader.decode(d).exchange == ExchangeType.IKE_SA_INIT]
    assert len(inits) == len(sent) == 1 + 5  # the default retransmission count
    assert len({IkeHeader.decode(d).spi_i for d in inits}) == 1, "a second attempt"
    assert rr.daemon.sas == {}


CLIENT = "198.51.100.11"
RR1, RR2 = "198.51.100.1", "198.51.100.2"


def red_neighbour(black: str, client: bool = False) -> str:
    red = f"10.255.0.{black.rsplit('.', 1)[1]}"
    flag = ", route_reflector_client: true" if client else ""
    return f"    - {{address: {red}, black_address: {black}, as: 65000, type: red{flag}}}"


@pytest.mark.parametrize(
    ("role", "black", "neighbours", "initiates", "rejoins"),
    [
        # rr1: its client waits for its grace; the other RR (higher) it initiates to at once
        ("rr", RR1, [(CLIENT, True), (RR2, False)], [RR2], [CLIENT]),
        # rr2 waits for rr1 (the lower address), and after a restart rejoins it too
        ("rr", RR2, [(CLIENT, True), (RR1, False)], [], [RR1, CLIENT]),
        # a C-PE initiates to its RRs at once: nothing to rejoin
        ("cpe", CLIENT, [(RR1, False), (RR2, False)], [RR1, RR2], []),
    ],
)
async def test_a_starting_daemon_initiates_or_plans_to_rejoin_each_control_peer(
    role: str,
    black: str,
    neighbours: list[tuple[str, bool]],
    initiates: list[str],
    rejoins: list[str],
) -> None:
    red = f"10.255.0.{black.rsplit('.', 1)[1]}"
    lines = "\n".join(red_neighbour(b, c) for b, c in neighbours)
    cfg = config(black, red, None, role, f"bgp:\n  neighbors:\n{lines}")
    control = {str(n.black_address): n.address for n in cfg.bgp.neighbors}
    plane = ControlPlane(cfg, DesiredState(cfg, {}), control, lambda: None)
    plane.ipsec = IpsecRuntime(
        LockedEngine(EspEngine()),
        black,
        lambda peer: make_ike_config(cfg, peer, control, local_black=black),
    )
    plane.ipsec.service.poke = lambda: None  # type: ignore[method-assign]  # no sockets here
    plane.open_control_sas()
    started = sorted(sa.remote[0] for sa in plane.ipsec.daemon.sas.values() if sa.initiator)
    assert started == initiates
    assert sorted(plane.ipsec.tunnels.rejoin.due) == rejoins
