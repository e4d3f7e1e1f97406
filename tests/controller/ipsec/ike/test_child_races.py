"""Per-tenant CHILD_SAs set up by both ends at once on a slow network (the lab flake).

Under CPU load the lab's per-tenant test saw a CHILD_SA in use replaced after convergence,
with no duplicate IKE SA behind it: a second CHILD_SA of the same tenant had been created
on the one IKE SA, and whichever came up last took the tunnel over. These tests slow the
network down (every datagram takes ``HOP`` seconds of the explicit clock), so the lower
address's set-up outlasts the higher one's grace, as a loaded daemon's does.
"""

from __future__ import annotations

import ipaddress

import pytest

from controller.ipsec import crypto_port as cp
from controller.ipsec.ike.child import ChildState
from controller.ipsec.ike.sa import IkeSa

from .harness import A_ADDR, B_ADDR, Net
from .test_sad_tunnels import MPLS, Side, frame
from .test_sad_tunnels import setup as sides_setup

pytestmark = pytest.mark.unit
HOP = 0.4  # seconds a datagram takes, one way
TENANTS = ("blue", "green")


def _run(net: Net, sides: tuple[Side, Side], clock: list[float], until: float) -> list[dict]:
    """Advance the clock in HOP steps, delivering one datagram round per step; return the
    per-tenant outbound SPIs of both ends after every step."""
    seen = []
    while net.now < until:
        Net.pump(net, rounds=1)
        for side, name in zip(sides, (A_ADDR, B_ADDR), strict=True):
            side.mgr.on_events(net.events.pop(name, []), net.now)
        net.now += HOP
        clock[0] = net.now
        for side in sides:
            side.daemon.tick(net.now)
            side.mgr.tick(net.now)
            side.sad.tick(net.now)
        seen.append({side.me: _spis_out(side) for side in sides})
    return seen


def _spis_out(side: Side) -> dict[str, int]:
    peer = B_ADDR if side.me == A_ADDR else A_ADDR
    out = {}
    for tenant in TENANTS:
        inst = side.sad.tunnels.get((ipaddress.ip_address(peer), tenant, f"mpls-{tenant}"))
        if inst is not None:
            out[tenant] = inst.child.spi_out
    return out


def _live(sa: IkeSa, name: str) -> list[int]:
    return [c.spi_in for c in sa.children if c.name == name and c.state == ChildState.INSTALLED]


def _per_tenant() -> tuple[Net, Side, Side, list[float]]:
    """Both ends per tenant, each with a CHILD_SA config per tenant for the other (what
    the daemon's SA sets give it), so neither files a tenant's request as another's."""
    net, a, b, clock = sides_setup()
    b.daemon.configs.clear()  # setup()'s shared-only config: made again per tenant below
    for side, peer in ((a, B_ADDR), (b, A_ADDR)):
        side.mgr.per_tenant = True
        side.mgr.local_sets = {None: 0, "blue": 1, "green": 2}
        side.mgr.accept(peer)
    return net, a, b, clock


def _assert_one_child_each_and_traffic(a: Side, b: Side) -> None:
    (ike_a,) = a.daemon.established()
    (ike_b,) = b.daemon.established()
    assert ike_a.spis == ike_b.spis
    for tenant in TENANTS:
        name = f"mpls-{tenant}"
        assert len(_live(ike_a, name)) == len(_live(ike_b, name)) == 1, (tenant, ike_a.children)
        out = a.sad.outbound_index(B_ADDR, tenant, name)
        assert out is not None
        sealed = a.engine.process(frame(cp.Op.ENCRYPT, out, A_ADDR, B_ADDR, 137, MPLS))
        assert b.receive(sealed) == (cp.Result.OK, MPLS)
        back = b.sad.outbound_index(A_ADDR, tenant, name)
        assert back is not None
        sealed = b.engine.process(frame(cp.Op.ENCRYPT, back, B_ADDR, A_ADDR, 137, MPLS))
        assert a.receive(sealed) == (cp.Result.OK, MPLS)


def test_slow_set_up_by_the_lower_address_is_not_duplicated_by_the_higher() -> None:
    """Both ends get both tenants' routes at once; the lower address's four exchanges take
    longer than the higher one's grace. The higher end must not add the CHILD_SAs the lower
    one is still creating, and no SA in use changes once both ends have all of them."""
    net, a, b, clock = _per_tenant()
    for tenant in TENANTS:
        a.mgr.ensure_tunnel(B_ADDR, tenant=tenant, now=net.now)
        b.mgr.ensure_tunnel(A_ADDR, tenant=tenant, now=net.now)
    seen = _run(net, (a, b), clock, until=20.0)
    complete = [s for s in seen if all(len(v) == len(TENANTS) for v in s.values())]
    assert complete, seen[-1]
    assert all(s == complete[0] for s in complete), "a per-tenant SA was replaced"
    _assert_one_child_each_and_traffic(a, b)


def test_the_same_end_never_creates_a_tenant_child_twice() -> None:
    """The higher address initiates after its grace for both tenants at once (the lower one
    never did): the new IKE SA already carries the second tenant's CHILD_SA request, so
    that tenant's own start must not queue another one."""
    net, a, b, clock = _per_tenant()
    for tenant in TENANTS:
        b.mgr.ensure_tunnel(A_ADDR, tenant=tenant, now=net.now)
    _run(net, (a, b), clock, until=15.0)
    _assert_one_child_each_and_traffic(a, b)


def test_a_retry_after_the_ike_sa_failed_creates_each_child_once() -> None:
    """Both tenants' tunnels are retried in the same tick after their IKE SA went away."""
    net, a, b, clock = _per_tenant()
    for tenant in TENANTS:
        a.mgr.ensure_tunnel(B_ADDR, tenant=tenant, now=net.now)
    _run(net, (a, b), clock, until=6.0)
    (ike,) = a.daemon.established()
    ike.fail("test: the IKE SA is gone")  # as after a DPD timeout
    a.daemon._collect(ike)
    (peer_ike,) = b.daemon.established()
    peer_ike.fail("test: the peer's too")
    b.daemon._collect(peer_ike)
    _run(net, (a, b), clock, until=30.0)
    _assert_one_child_each_and_traffic(a, b)


def test_a_duplicate_from_both_ends_is_settled_to_the_lower_address_child() -> None:
    """If both ends still create the same tenant's CHILD_SA at once (both requests cross),
    both keep the one the lower address created and its creator's duplicate goes."""
    net, a, b, clock = _per_tenant()
    for tenant in TENANTS:
        a.mgr.ensure_tunnel(B_ADDR, tenant=tenant, now=net.now)
        b.mgr.ensure_tunnel(A_ADDR, tenant=tenant, now=net.now)
    _run(net, (a, b), clock, until=10.0)
    (ike_a,) = a.daemon.established()
    (ike_b,) = b.daemon.established()
    # a new CHILD_SA for blue requested by both ends in the same instant
    a.daemon.add_child(ike_a, "mpls-blue", net.now)
    b.daemon.add_child(ike_b, "mpls-blue", net.now)
    _run(net, (a, b), clock, until=20.0)
    _assert_one_child_each_and_traffic(a, b)
    (kept,) = [c for c in ike_a.children if c.name == "mpls-blue"]
    assert kept.we_initiated  # the lower address's
    assert _spis_out(a)["blue"] == kept.spi_out
    assert _spis_out(b)["blue"] == kept.spi_in
