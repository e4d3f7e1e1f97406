"""A dead ESP engine replaced by a fresh one: the SA database refills it (sad_restart.py)."""

from __future__ import annotations

import pytest

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.installer import Direction, ExpiryEvent, ExpiryKind, ExpiryReason
from controller.ipsec.sad_restart import refill

from .harness import A_ADDR, B_ADDR
from .test_sad_tunnels import MPLS, setup

pytestmark = pytest.mark.unit


def _keys(engine: EspEngine) -> dict[int, tuple[Direction, bytes]]:
    return {p.sa_index: (p.direction, p.keys.enc_key) for p in engine.sas()}


def test_refill_restores_inbound_keys_never_outbound_ones_then_rekey_restores_traffic() -> None:
    net, a, b, clock = setup()
    a.mgr.ensure_tunnel(B_ADDR, now=net.now)
    net.pump()
    # one rekey first, so a retired outbound SA (an alias in the engine) is refilled too
    old = a.sad.outbound_index(B_ADDR) or 0
    soft = ExpiryEvent(old, 0, Direction.OUTBOUND, ExpiryKind.SOFT, ExpiryReason.PACKETS)
    a.mgr.on_expiry(soft, net.now)
    net.pump()
    for _ in range(3):  # b's replay window moves past the first sequence numbers
        assert b.receive(a.send(B_ADDR)) == (cp.Result.OK, MPLS)
    before = _keys(a.engine)

    a.engine = EspEngine(clock=lambda: clock[0])  # the process died; a new one answers
    a.sad.installer = a.engine
    spis = refill(a.sad)

    after = _keys(a.engine)
    assert set(after) == set(before)  # every pair back at its indexes: pipeline entries hold
    for index, (direction, key) in after.items():
        assert (key == before[index][1]) == (direction is Direction.INBOUND), index
    current = {inst.child.spi_in for inst in a.sad.tunnels.values()}
    assert sorted(spis) == sorted(current)  # mpls and bgp: both to be rekeyed
    assert a.receive(b.send(A_ADDR)) == (cp.Result.OK, MPLS)  # the peer's traffic, at once
    # ours under a placeholder key: sequence numbers b saw are replays, the next fail the ICV
    results = [b.receive(a.send(B_ADDR))[0] for _ in range(5)]
    assert results == [cp.Result.REPLAY] * 3 + [cp.Result.AUTH_FAILED] * 2

    for spi in spis:
        assert a.daemon.rekey_child(spi, net.now)
    net.pump()
    assert b.receive(a.send(B_ADDR)) == (cp.Result.OK, MPLS)
    assert a.receive(b.send(A_ADDR)) == (cp.Result.OK, MPLS)
    clock[0] = net.now = 3.0  # the replaced pairs drain out of the new engine
    a.sad.tick(net.now)
    assert len(list(a.engine.sas())) == 4
