"""Random inputs for the desired state: what BGP, IKE, the kernel and red hosts may do.

The pools are small on purpose, so that sequences revisit the same keys: a
route replaced by one to another tunnel, an SA lost while routes wait on it,
two sections wanting the same entry (a BGP route for our connected subnet).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import Any

from controller.app.desired import (
    BlackRoute,
    ControlPeer,
    DesiredState,
    Neighbour,
    SaPair,
    VpnRoute,
)

Pick = Callable[[Sequence[Any]], Any]
ip, net = ipaddress.ip_address, ipaddress.ip_network

VRFS = ["blue", "green", "nowhere"]
PREFIXES = [
    net("10.2.2.0/24"),
    net("10.3.0.0/16"),
    net("10.1.1.0/24"),  # blue's and green's connected subnet
    net("10.1.1.10/32"),  # a tenant host's address
    net("10.1.1.1/32"),  # our own red address
    net("2001:db8:9::/48"),
]
LABELS = [100, 101, 200]
ENDPOINTS = [ip("198.51.100.12"), ip("198.51.100.13"), ip("2001:db8::12")]
PEERS = ["198.51.100.12", "198.51.100.13"]
TENANTS = [None, "blue"]
PAIRS = [None, SaPair(2, 1), SaPair(4, 3, (1,)), SaPair(6, 5), SaPair(8, 7)]
NEIGHBOURS = [
    Neighbour(ip("203.0.113.1"), "02:aa:00:00:00:01", 3),
    Neighbour(ip("203.0.113.1"), "02:aa:00:00:00:02", 3),
    Neighbour(ip("10.1.1.10"), "02:bb:00:00:00:10", 1),
    Neighbour(ip("10.1.1.10"), "02:bb:00:00:00:10", 2),
    Neighbour(ip("10.1.1.20"), "02:bb:00:00:00:20", 1),
]
BLACK_ROUTES = [
    BlackRoute(net("0.0.0.0/0"), 3, ip("203.0.113.1")),
    BlackRoute(net("198.51.100.0/24"), 3, ip("203.0.113.1")),
    BlackRoute(net("203.0.113.0/30"), 3),
]
CONTROL = [ip("10.255.0.1"), ip("10.255.0.2")]
LOOPBACKS = [ip("198.51.100.11"), ip("198.51.100.111"), ip("2001:db8::11")]  # where we move
KINDS = ["route", "route", "route", "withdraw", "sa", "sa", "neighbour", "black", "control"]
KINDS += ["move", "peer_move"]
MOVED = ["198.51.100.112", "198.51.100.113"]  # where peers move to (mobility)


def random_event(pick: Pick) -> Callable[[DesiredState], None]:
    """One change to a desired state, chosen by ``pick`` (hypothesis draws or a Random)."""
    kind = pick(KINDS)
    if kind == "route":
        vrf, prefix, label = pick(VRFS), pick(PREFIXES), pick(LABELS)
        if pick([True, False]):
            route = VpnRoute(vrf, prefix, label, local=True)
        else:
            route = VpnRoute(vrf, prefix, label, False, pick(ENDPOINTS), pick(TENANTS))
        return lambda d: d.set_route(route)
    if kind == "withdraw":
        vrf, prefix = pick(VRFS), pick(PREFIXES)
        return lambda d: d.remove_route(vrf, prefix)
    if kind == "sa":
        peer, tenant, pair = pick(PEERS), pick(TENANTS), pick(PAIRS)
        return lambda d: d.set_sa(peer, tenant, pair)
    if kind == "neighbour":
        n = pick(NEIGHBOURS)
        return lambda d: d.neighbours.symmetric_difference_update({n})
    if kind == "black":
        routes = {r for r in BLACK_ROUTES if pick([True, False])}

        def set_black(d: DesiredState) -> None:
            d.black_routes = routes

        return set_black
    if kind == "move":
        black = pick(LOOPBACKS)

        def move(d: DesiredState) -> None:
            d.black = black

        return move
    if kind == "peer_move":
        old, new = pick(PEERS + MOVED), pick(MOVED + PEERS)

        def peer_move(d: DesiredState) -> None:
            in_use = {p for p, _ in d.sas} | {str(r.endpoint) for r in d.routes.values()}
            if old != new and new not in in_use:  # a peer never moves onto another's address
                d.move_peer(old, new)

        return peer_move
    red, pair = pick(CONTROL), pick(PAIRS)

    def set_control(d: DesiredState) -> None:
        if pair is None:
            d.control.pop(red, None)
        else:
            d.control[red] = ControlPeer(red, pair, ip("10.255.0.11"))

    return set_control
