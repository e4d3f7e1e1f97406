"""Neighbours added and removed at run time: a route reflector's C-PEs discovered by
their certificates (draft 3.2), each bound to the red loopback its certificate names."""

import pytest
from bgp_pump import RR, A, B, Net, cpe_config, ip, net_, rr_config, states

from controller.bgp.config import NeighborConfig
from controller.bgp.core import SpeakerCore
from controller.bgp.path import IPV4_UNICAST, Color, Nlri

pytestmark = pytest.mark.unit
LO_A, LO_B = (Nlri(IPV4_UNICAST, net_(f"10.255.0.{i}/32")) for i in (1, 2))


def discovered(addr: str, red: str, black: str) -> NeighborConfig:
    return NeighborConfig(
        ip(addr), 65000, Color.RED, rr_client=True, passive=True, idle_hold_time=1,
        originates=(ip(red),), endpoints=(ip(black),),
    )  # fmt: skip


def _rr_without_clients(a_red: str = "10.255.0.1") -> Net:
    net = Net()
    net.add(RR, SpeakerCore(rr_config(RR, [])))  # told about nobody
    net.add(A, SpeakerCore(cpe_config("10.255.0.1", a_red, "198.51.100.1", [RR])))
    net.add(B, SpeakerCore(cpe_config("10.255.0.2", "10.255.0.2", "198.51.100.2", [RR])))
    for node in net.nodes.values():
        node.start(net.now)
    for cpe in (A, B):
        net.node(cpe).set_transport_protected(ip(RR), True, net.now)
    net.advance(3)
    return net


def _discover(net: Net, who: str, red: str, black: str) -> None:
    rr = net.node(RR)
    rr.add_neighbor(discovered(who, red, black), net.now)
    rr.set_transport_protected(ip(who), True, net.now)
    net.advance(12)  # the C-PE's connect retry


def test_discovered_clients_come_up_and_exchange_routes() -> None:
    net = _rr_without_clients()
    rr, b = net.node(RR), net.node(B)
    assert not rr.sessions and rr.counters["refused-unknown-peer"] > 0
    _discover(net, A, "10.255.0.1", "198.51.100.1")
    _discover(net, B, "10.255.0.2", "198.51.100.2")
    assert states(rr) == {A: "Established", B: "Established"}
    lo = b.red.best(LO_A)
    assert lo is not None and lo.attrs.tunnels[0].endpoint == ip("198.51.100.1")


def test_removed_client_is_closed_and_its_routes_withdrawn() -> None:
    net = _rr_without_clients()
    _discover(net, A, "10.255.0.1", "198.51.100.1")
    _discover(net, B, "10.255.0.2", "198.51.100.2")
    rr, a, b = net.node(RR), net.node(A), net.node(B)
    rr.remove_neighbor(ip(A), net.now)
    net.advance(1)
    assert ip(A) not in rr.sessions and rr.red.paths(LO_A) == []
    assert b.red.best(LO_A) is None  # withdrawn towards the other client
    assert str(a.sessions[ip(RR)].state) != "Established"
    net.advance(15)  # A keeps trying; the RR refuses it like any unknown peer
    assert ip(A) not in rr.sessions and rr.counters["refused-unknown-peer"] > 0


def test_discovered_client_is_held_to_its_certificates_loopback() -> None:
    # A claims B's red loopback; its certificate bound it to 10.255.0.1
    net = _rr_without_clients(a_red="10.255.0.2")
    _discover(net, A, "10.255.0.1", "198.51.100.1")
    rr = net.node(RR)
    assert rr.red.best(LO_B) is None
    (ref,) = rr.refusals.current()
    assert ref.kind == "identity" and "10.255.0.2 is not bound" in ref.detail


def test_rebinding_judges_the_neighbours_routes_again() -> None:
    """A discovered C-PE that moved: its endpoint binding changes, its routes are re-judged."""
    net = _rr_without_clients()
    _discover(net, A, "10.255.0.1", "198.51.100.1")
    rr = net.node(RR)
    assert rr.red.best(LO_A) is not None
    rr.rebind_neighbor(discovered(A, "10.255.0.1", "198.51.100.9"), net.now)  # elsewhere now
    assert rr.red.best(LO_A) is None
    (ref,) = rr.refusals.current()
    assert (
        ref.kind == "identity"
        and "198.51.100.1 is not this neighbour's black address" in ref.detail
    )
    rr.rebind_neighbor(discovered(A, "10.255.0.1", "198.51.100.1"), net.now)
    assert rr.red.best(LO_A) is not None and rr.refusals.current() == []
    assert str(rr.sessions[ip(A)].state) == "Established"  # the session never dropped
