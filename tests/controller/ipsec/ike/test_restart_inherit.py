"""A daemon restart with the ESP engine in its own process: SAs inherited, replaced without loss.

Side A's engine is served over the engine-control socket (as the engine
process serves it); A's daemon (IKE + SA database) is replaced by a fresh one
that inherits the engine's SAs and initiates with INITIAL_CONTACT; B keeps the
old SAs of A until the new CHILD_SAs take over.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.client import EngineClient
from controller.ipsec.esp.ports import LockedEngine
from controller.ipsec.esp.process import accept_loop, listen
from controller.ipsec.esp.service import EngineService
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.inherit import pairs_from_listing
from controller.ipsec.sad import SaDatabase
from controller.ipsec.tunnels import TunnelManager

from .harness import A_ADDR, B_ADDR, Net
from .test_sad_tunnels import MPLS, Side, frame, setup

pytestmark = pytest.mark.unit
OK = (cp.Result.OK, MPLS)


class ProcessSide(Side):
    """A side whose installer is an EngineClient; ``engine`` is the served engine itself."""

    def __init__(self, clock: list[float], engine: EspEngine, path: Path) -> None:
        super().__init__(A_ADDR, B_ADDR, clock)
        make = self.mgr.make_config
        self.engine = engine  # the data path: frames go straight to the served engine
        self.client = EngineClient(path)
        self.client.connect()
        self.sad = SaDatabase(self.client, ipaddress.ip_address(A_ADDR), 2.0, self.changes.append)
        self.daemon = IkeDaemon([], spi_alloc=self.client.allocate_spi)
        self.mgr = TunnelManager(self.daemon, self.sad, A_ADDR, make)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, EspEngine, list[float]]]:
    clock = [0.0]
    engine = EspEngine(clock=lambda: clock[0])
    path = tmp_path / "engine.sock"
    listener = listen(path)
    svc = EngineService(LockedEngine(engine))
    threading.Thread(target=accept_loop, args=(listener, svc), daemon=True).start()
    yield path, engine, clock
    listener.close()


def tunnel_up(path: Path, engine: EspEngine, clock: list[float]) -> tuple[Net, Side, Side]:
    """A (engine behind the socket) and B with their tunnel up."""
    net, a, b, _ = setup(ProcessSide(clock, engine, path), clock)
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    net.pump()
    return net, a, b


def restart(net: Net, path: Path, engine: EspEngine, clock: list[float]) -> ProcessSide:
    """A's daemon restarts: a new one connects to the same engine and inherits its SAs."""
    a2 = ProcessSide(clock, engine, path)
    pairs, stray = pairs_from_listing(a2.client.list_sas())
    assert stray == [] and sorted(p.child.name for p in pairs) == ["bgp", "mpls"]
    a2.sad.inherit(pairs, clock[0], 60.0)
    net.nodes[A_ADDR] = a2.daemon
    net.sides[A_ADDR] = a2  # type: ignore[attr-defined]
    return a2


def test_restarted_daemon_keeps_traffic_and_the_peer_switches_without_loss(served) -> None:  # type: ignore[no-untyped-def]
    path, engine, clock = served
    net, a, b = tunnel_up(path, engine, clock)
    old_a, old_b = a.sad.outbound_index(B_ADDR), b.sad.outbound_index(A_ADDR)
    old_bgp = a.sad.outbound_index(B_ADDR, child="bgp")
    assert isinstance(a, ProcessSide)
    a.client.close()  # the daemon exits; the engine process and its SAs stay

    a2 = restart(net, path, engine, clock)
    assert a2.sad.outbound_index(B_ADDR) == old_a
    assert a2.sad.outbound_index(B_ADDR, child="bgp") == old_bgp
    assert {c.key[2]: c.out_index for c in a2.changes} == {"mpls": old_a, "bgp": old_bgp}
    assert b.receive(a2.send(B_ADDR)) == OK and a2.receive(b.send(A_ADDR)) == OK
    in_flight_a, in_flight_b = a2.send(B_ADDR), b.send(A_ADDR)

    # the new daemon initiates (as it does to its control peers): INITIAL_CONTACT
    a2.mgr.packet_needs_tunnel(B_ADDR, now=net.now)
    net.pump()
    (ike_b,) = b.daemon.established()  # the dead daemon's IKE SA is gone at B
    assert ike_b.spis == a2.daemon.established()[0].spis
    new_a, new_b = a2.sad.outbound_index(B_ADDR), b.sad.outbound_index(A_ADDR)
    assert new_a not in (None, old_a) and new_b not in (None, old_b)
    assert a2.sad.outbound_index(B_ADDR, child="bgp") not in (None, old_bgp)
    # neither side ever left a tunnel without an SA
    assert all(c.out_index is not None for c in a2.changes + b.changes)
    # sent under the old SAs just before the switch: still accepted while they drain
    assert b.receive(in_flight_a) == OK and a2.receive(in_flight_b) == OK
    stale = engine.process(frame(cp.Op.ENCRYPT, old_a or 0, A_ADDR, B_ADDR, 137, MPLS))
    assert b.receive(stale) == OK  # a pipeline entry still naming the old SA: new SA used
    assert b.receive(a2.send(B_ADDR)) == OK and a2.receive(b.send(A_ADDR)) == OK

    clock[0] = net.now = 3.0  # after the drain: only the new pairs are left, on both sides
    a2.sad.tick(net.now)
    b.sad.tick(net.now)
    assert len(list(engine.sas())) == 4 and len(list(b.engine.sas())) == 4
    assert {p.sa_index for p in engine.sas()}.isdisjoint({old_a, old_bgp})
    assert b.receive(a2.send(B_ADDR)) == OK and a2.receive(b.send(A_ADDR)) == OK


def test_inherited_sas_not_replaced_in_time_are_removed(served) -> None:  # type: ignore[no-untyped-def]
    path, engine, clock = served
    net, a, _ = tunnel_up(path, engine, clock)
    assert isinstance(a, ProcessSide)
    a.client.close()
    a2 = restart(net, path, engine, clock)
    a2.sad.tick(59.0)
    assert len(list(engine.sas())) == 4
    a2.sad.tick(61.0)  # no IKE replaced them within the hold time
    assert [c.out_index for c in a2.changes[-2:]] == [None, None]
    assert not list(engine.sas())


def test_listing_pairs_only_consistent_labels() -> None:
    def sa(index: int, direction: str, label: dict[str, object]) -> dict[str, object]:
        return {
            "sa_index": index, "direction": direction, "spi": 0x1000 + index, "mode": "tunnel",
            "udp_encap": [4500, 4501], "label": label, "retired": False, "remote": B_ADDR,
        }  # fmt: skip

    lab = {"peer": B_ADDR, "tenant": "blue", "child": "mpls-blue"}
    pairs, stray = pairs_from_listing(
        [
            sa(1, "in", {**lab, "pair": 2}),
            sa(2, "out", {**lab, "pair": 1}),
            sa(3, "in", {**lab, "pair": 4}),  # its partner names another SA
            sa(4, "out", {**lab, "pair": 9}),
            sa(5, "in", {}),  # installed without a label
            sa(6, "in", {"peer": "not an address", "child": "mpls", "pair": 7}),
            sa(7, "out", {"peer": "not an address", "child": "mpls", "pair": 6}),
        ]
    )
    assert [(p.in_index, p.out_index, p.tenant, p.remote_port) for p in pairs] == [
        (1, 2, "blue", 4501)
    ]
    assert pairs[0].child.encap and not pairs[0].child.transport
    assert stray == [3, 4, 5, 6, 7]


def test_an_inherited_pair_whose_successor_dies_before_the_switch_goes_too(served) -> None:  # type: ignore[no-untyped-def]
    path, engine, clock = served
    net, a, _ = tunnel_up(path, engine, clock)
    old_a = a.sad.outbound_index(B_ADDR)
    assert isinstance(a, ProcessSide)
    a.client.close()
    a2 = restart(net, path, engine, clock)
    a2.sad.switch_delay = 0.5  # as in the daemon: the outbound switch waits
    a2.mgr.packet_needs_tunnel(B_ADDR, now=net.now)
    net.pump()
    assert a2.sad.outbound_index(B_ADDR) == old_a  # the switch is still pending
    (ike,) = a2.daemon.established()
    new = next(c for c in ike.children if c.name == "mpls")
    a2.sad.child_down(new, net.now)  # the new CHILD_SA goes before taking over
    mpls = [c for c in a2.changes if c.key[2] == "mpls"]
    assert mpls[-1].out_index is None  # no IKE SA behind the inherited pair: gone as well
    assert old_a not in {p.sa_index for p in engine.sas()}
