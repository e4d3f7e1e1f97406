"""A restarted RR rejoins its clients in seconds (controller/ipsec/rejoin.py).

A C-PE and an RR with their IKE daemons, SA databases and real ESP engines, built
from the daemon configuration, negotiate in one process on an explicit clock. The
RR then "restarts" (a fresh daemon and engine: kill -9 of all three) while the
C-PE keeps the dead RR's SAs, as it does in the lab, until its liveness check
reaches the new RR; which peers a starting daemon watches is checked on the real
control plane.
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
from controller.ipsec.ike.wire.header import HEADER_LEN, IkeHeader
from controller.ipsec.rejoin import COOLDOWN

from .ikepump import pump
from .test_control_sa import CPE_BLACK, CPE_RED, RR_BLACK, RR_RED, Node, config

pytestmark = pytest.mark.unit


DPD = 30.0  # the configuration's default: a client checks its RR after that long idle


def rr_node() -> Node:
    rr = Node(config(RR_BLACK, RR_RED, None), RR_BLACK, CPE_BLACK, CPE_RED)
    rr.tunnels.accept(CPE_BLACK)  # as open_control_sas does
    rr.tunnels.rejoin.watch(CPE_BLACK)
    return rr


def client_up() -> tuple[Node, IkeSa]:
    """A client with its IKE SA to an RR that then dies: it holds the SA on."""
    cpe = Node(config(CPE_BLACK, CPE_RED, None), CPE_BLACK, RR_BLACK, RR_RED)
    rr = Node(config(RR_BLACK, RR_RED, None), RR_BLACK, CPE_BLACK, CPE_RED)
    rr.tunnels.accept(CPE_BLACK)
    cpe.tunnels.packet_needs_tunnel(RR_BLACK, now=0.0)
    pump({CPE_BLACK: cpe, RR_BLACK: rr})
    (dead,) = up(cpe)
    return cpe, dead


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


def stray_request(node: Node, src: str, now: float) -> None:
    """An INFORMATIONAL request on an IKE SA ``node`` does not know, from ``src``."""
    hdr = IkeHeader(b"\x11" * 8, b"\x22" * 8, 0, ExchangeType.INFORMATIONAL, 0, 5, HEADER_LEN)
    node.daemon.receive(hdr.encode(), (src, 500), (RR_BLACK, 500), now)


def test_restarted_rr_rejoins_a_client_on_its_first_liveness_check() -> None:
    cpe, dead = client_up()
    old_bgp = cpe.sad.outbound_index(RR_BLACK, child="bgp")
    rr2 = rr_node()  # kill -9 of the RR's daemon, switch and engine; a fresh one starts
    nodes = {CPE_BLACK: cpe, RR_BLACK: rr2}
    now = run(nodes, 0.0, DPD - 0.5)
    assert rr2.daemon.sas == {}, "initiated before the client showed it holds dead SAs"
    run(nodes, now, DPD + 0.5)  # the client's liveness check reaches the new RR

    (new,) = up(cpe)  # INITIAL_CONTACT dropped the dead RR's IKE SA at once
    assert new is not dead and not new.initiator and dead.state == IkeState.DELETED
    assert [sa.spis for sa in up(rr2)] == [new.spis]
    bgp = cpe.sad.outbound_index(RR_BLACK, child="bgp")
    assert bgp not in (None, old_bgp), "the client still sends BGP on the dead RR's SA"
    assert rr2.sad.outbound_index(CPE_BLACK, child="bgp") is not None
    assert any(c.key[2] == "bgp" and c.out_index == bgp for c in cpe.changes)


def test_restarted_rr_that_knows_it_lost_its_sas_rejoins_at_once() -> None:
    cpe, dead = client_up()
    rr2 = rr_node()
    nodes = {CPE_BLACK: cpe, RR_BLACK: rr2}
    assert rr2.tunnels.rejoin.lost(CPE_BLACK, 0.0)  # its engine's PID file was left
    run(nodes, 0.0, 0.5)
    (new,) = up(cpe)
    assert new is not dead and dead.state == IkeState.DELETED
    assert [sa.spis for sa in up(rr2)] == [new.spis] and up(rr2)[0].initiator
    assert cpe.sad.outbound_index(RR_BLACK, child="bgp") is not None
    assert not rr2.tunnels.rejoin.lost(CPE_BLACK, 1.0), "a second IKE SA"


def test_at_a_common_start_the_rr_never_initiates() -> None:
    cpe = Node(config(CPE_BLACK, CPE_RED, None), CPE_BLACK, RR_BLACK, RR_RED)
    rr = rr_node()
    nodes = {CPE_BLACK: cpe, RR_BLACK: rr}
    now = run(nodes, 0.0, 8.0)  # the client is slow to start
    assert rr.daemon.sas == {}
    cpe.tunnels.packet_needs_tunnel(RR_BLACK, now=now)
    run(nodes, now, 200.0)  # several liveness checks either way
    assert len(up(cpe)) == 1 and len(rr.daemon.sas) == 1 and not up(rr)[0].initiator


@pytest.mark.parametrize("src", ["203.0.113.9", CPE_BLACK])
def test_a_stray_request_from_elsewhere_or_from_a_peer_we_have_is_no_hint(src: str) -> None:
    """Not a peer that waits for us (a NAT's address, anyone), or one whose SA we hold."""
    cpe = Node(config(CPE_BLACK, CPE_RED, None), CPE_BLACK, RR_BLACK, RR_RED)
    rr = rr_node()
    cpe.tunnels.packet_needs_tunnel(RR_BLACK, now=0.0)
    pump({CPE_BLACK: cpe, RR_BLACK: rr})
    (have,) = rr.daemon.sas.values()
    stray_request(rr, src, 1.0)
    assert list(rr.daemon.sas.values()) == [have]
    assert rr.daemon.drain()[0] == []


def test_hints_make_one_attempt_per_cooldown() -> None:
    """Anyone may send stray requests, many: at most one attempt per COOLDOWN, even when
    the last one is gone (its retransmissions ran out)."""
    rr = rr_node()
    inits = []
    for now in (1.0, 2.0, 10.0, 1.0 + COOLDOWN):
        for sa in list(rr.daemon.sas.values()):
            rr.daemon.abandon(sa, "no answer")
        stray_request(rr, CPE_BLACK, now)
        out = rr.daemon.drain()[0]
        inits += [d for d in out if IkeHeader.decode(d.data).exchange == ExchangeType.IKE_SA_INIT]
    assert len(inits) == 2


def test_a_client_initiating_while_our_attempt_is_unanswered_wins() -> None:
    """The RR's IKE_SA_INIT got lost; the client's liveness check failed meanwhile and it
    initiates itself: the RR's unanswered attempt is dropped, not raced to a second
    IKE SA."""
    cpe = Node(config(CPE_BLACK, CPE_RED, None), CPE_BLACK, RR_BLACK, RR_RED)
    rr = rr_node()
    nodes = {CPE_BLACK: cpe, RR_BLACK: rr}
    stray_request(rr, CPE_BLACK, 1.0)
    now = run(nodes, 1.0, 1.5, drop={CPE_BLACK})
    (attempt,) = rr.daemon.sas.values()
    assert attempt.initiator and attempt.state == IkeState.CONNECTING
    cpe.tunnels.packet_needs_tunnel(RR_BLACK, now=now)
    run(nodes, now, now + 200.0)
    assert attempt.state == IkeState.DELETED
    assert len(up(cpe)) == 1 and len(up(rr)) == 1 and len(rr.daemon.sas) == 1
    assert up(cpe)[0].initiator


CLIENT = "198.51.100.11"
RR1, RR2 = "198.51.100.1", "198.51.100.2"


def red_neighbour(black: str, client: bool = False) -> str:
    red = f"10.255.0.{black.rsplit('.', 1)[1]}"
    flag = ", route_reflector_client: true" if client else ""
    return f"    - {{address: {red}, black_address: {black}, as: 65000, type: red{flag}}}"


@pytest.mark.parametrize(
    ("role", "black", "neighbours", "lost", "initiates", "rejoins"),
    [
        # rr1: its client waits for it; the other RR (higher) it initiates to at once
        ("rr", RR1, [(CLIENT, True), (RR2, False)], False, [RR2], [CLIENT]),
        # ... and to the client too if it lost its SAs (its engine died with them)
        ("rr", RR1, [(CLIENT, True), (RR2, False)], True, [CLIENT, RR2], [CLIENT]),
        # rr2 waits for rr1 (the lower address), and after a restart rejoins it too
        ("rr", RR2, [(CLIENT, True), (RR1, False)], False, [], [RR1, CLIENT]),
        ("rr", RR2, [(CLIENT, True), (RR1, False)], True, [RR1, CLIENT], [RR1, CLIENT]),
        # a C-PE initiates to its RRs at once: nothing to rejoin
        ("cpe", CLIENT, [(RR1, False), (RR2, False)], True, [RR1, RR2], []),
    ],
)
async def test_a_starting_daemon_initiates_or_watches_to_rejoin_each_control_peer(
    role: str,
    black: str,
    neighbours: list[tuple[str, bool]],
    lost: bool,
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
    plane.open_control_sas(lost_sas=lost)
    started = sorted(sa.remote[0] for sa in plane.ipsec.daemon.sas.values() if sa.initiator)
    assert started == initiates
    assert sorted(plane.ipsec.tunnels.rejoin.peers) == rejoins
