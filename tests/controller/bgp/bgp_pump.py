"""Pump several sans-I/O BGP speakers against each other in one process, with an explicit clock.

Each node is anything with the SpeakerCore transport interface (connection_made,
data_received, connection_lost, connection_failed, poll, next_deadline,
transport_ops). Connections are pairs of ids; bytes written on one end are
delivered to the other, possibly cut into small pieces to exercise framing.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from controller.bgp import session as s

Addr = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass
class Net:
    now: float = 0.0
    nodes: dict[Addr, Any] = field(default_factory=dict)
    # (node address, conn id) -> (peer node address, peer conn id)
    links: dict[tuple[Addr, int], tuple[Addr, int]] = field(default_factory=dict)
    down: set[Addr] = field(default_factory=set)  # nodes that refuse TCP connections
    mute: set[Addr] = field(default_factory=set)  # nodes whose writes are lost (a hung peer)
    chunk: int = 0  # deliver writes in pieces of this many octets (0 = whole)
    captured: list[tuple[Addr, Addr, bytes]] = field(default_factory=list)
    _next_conn: int = 1

    def add(self, address: str, node: Any) -> Any:
        self.nodes[ipaddress.ip_address(address)] = node
        return node

    def node(self, address: str) -> Any:
        return self.nodes[ipaddress.ip_address(address)]

    def addr_of(self, node: Any) -> Addr:
        return next(a for a, n in self.nodes.items() if n is node)

    def step(self) -> bool:
        """Carry out every pending transport operation once; True if any was pending."""
        busy = False
        for addr, node in list(self.nodes.items()):
            for peer, op in node.transport_ops():
                busy = True
                self._do(addr, peer, op)
        return busy

    def settle(self, limit: int = 10_000) -> None:
        for _ in range(limit):
            if not self.step():
                return
        raise AssertionError("network did not settle")

    def advance(self, seconds: float) -> None:
        """Move the clock forward, firing every timer that falls due on the way."""
        end = self.now + seconds
        self.settle()
        while True:
            due = [d for n in self.nodes.values() if (d := n.next_deadline()) is not None]
            nxt = min(due, default=None)
            if nxt is None or nxt > end:
                break
            self.now = max(self.now, nxt)
            for n in self.nodes.values():
                n.poll(self.now)
            self.settle()
        self.now = end
        for n in self.nodes.values():
            n.poll(self.now)
        self.settle()

    def cut(self, a: str, b: str) -> None:
        """Drop every TCP connection between two nodes silently (no NOTIFICATION)."""
        x, y = ipaddress.ip_address(a), ipaddress.ip_address(b)
        for (node, conn), (peer, pconn) in list(self.links.items()):
            if node == x and peer == y:
                del self.links[(node, conn)]
                del self.links[(peer, pconn)]
                self.nodes[node].connection_lost(peer, conn, self.now)
                self.nodes[peer].connection_lost(node, pconn, self.now)

    def _do(self, addr: Addr, peer: Addr, op: s.TransportOp) -> None:
        node = self.nodes[addr]
        if isinstance(op, s.Connect):
            target = self.nodes.get(peer)
            if target is None or peer in self.down or addr in self.down:
                node.connection_failed(peer, self.now)
                return
            c1, c2 = self._next_conn, self._next_conn + 1
            self._next_conn += 2
            self.links[(addr, c1)] = (peer, c2)
            self.links[(peer, c2)] = (addr, c1)
            # Each end learns its own address on the connection, as a socket would tell it.
            node.connection_made(peer, c1, True, self.now, addr)
            target.connection_made(addr, c2, False, self.now, peer)
        elif isinstance(op, s.Write):
            other = self.links.get((addr, op.conn))
            if other is None:
                return
            self.captured.append((addr, other[0], op.data))
            if addr in self.mute:
                return
            data = op.data
            step = self.chunk or len(data) or 1
            for i in range(0, len(data), step):
                if (addr, op.conn) not in self.links:
                    return
                self.nodes[other[0]].data_received(addr, other[1], data[i : i + step], self.now)
        elif isinstance(op, s.Close):
            other = self.links.pop((addr, op.conn), None)
            if other is not None:
                self.links.pop(other, None)
                self.nodes[other[0]].connection_lost(addr, other[1], self.now)


# ---- topology helpers ---------------------------------------------------------------

AS = 65000


def ip(text: str) -> Addr:
    return ipaddress.ip_address(text)


def net_(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


def cpe_config(
    rid: str,
    red: str,
    black: str,
    rrs: list[str],
    *,
    handle: bytes | None = b"\x01\x02",
    black_peers: list[tuple[str, int]] = (),  # type: ignore[assignment]
    vrfs: Any = None,
    red_loopbacks: Any = None,
    asn: int = AS,
    rr_as: int = AS,
    gr: Any = None,
) -> Any:
    from controller.bgp.config import (
        GracefulRestartConfig,
        NeighborConfig,
        RedLoopback,
        SpeakerConfig,
    )
    from controller.bgp.path import Color
    from controller.bgp.vrf import VrfConfig

    if vrfs is None:
        vrfs = (VrfConfig("blue", f"{rid}:1", ("65000:100",), ("65000:100",)),)
    if red_loopbacks is None:
        red_loopbacks = (RedLoopback(ip(red), handle),)
    neighbors = [
        NeighborConfig(ip(r), rr_as, Color.RED, connect_retry_time=5, idle_hold_time=1) for r in rrs
    ]
    neighbors += [
        NeighborConfig(ip(a), pas, Color.BLACK, connect_retry_time=5, idle_hold_time=1)
        for a, pas in black_peers
    ]
    return SpeakerConfig(
        asn,
        ip(rid),
        black_loopback=ip(black),
        red_loopbacks=red_loopbacks,
        neighbors=tuple(neighbors),
        vrfs=vrfs,
        graceful_restart=gr or GracefulRestartConfig(),
    )


def rr_config(
    rid: str,
    clients: list[str],
    *,
    others: list[str] = (),  # type: ignore[assignment]
    asn: int = AS,
    gr: Any = None,
) -> Any:
    from controller.bgp.config import GracefulRestartConfig, NeighborConfig, SpeakerConfig
    from controller.bgp.path import Color

    neighbors = [
        NeighborConfig(ip(c), asn, Color.RED, rr_client=True, passive=True, idle_hold_time=1)
        for c in clients
    ]
    neighbors += [NeighborConfig(ip(o), asn, Color.RED, idle_hold_time=1) for o in others]
    return SpeakerConfig(
        asn, ip(rid), neighbors=tuple(neighbors), graceful_restart=gr or GracefulRestartConfig()
    )


def protect_all(net: Net) -> None:
    """Tell every red session its transport is IPsec-protected (what the IKE layer does)."""
    for node in net.nodes.values():
        for peer, sess in node.sessions.items():
            if sess.neighbor.color.value == "red":
                node.set_transport_protected(peer, True, net.now)


def start_all(net: Net, protect: bool = True) -> None:
    for node in net.nodes.values():
        node.start(net.now)
    if protect:
        protect_all(net)
    net.advance(1)


def states(node: Any) -> dict[str, str]:
    return {str(p): str(sess.state) for p, sess in node.sessions.items()}


RR = "192.0.2.100"
A = "192.0.2.1"
B = "192.0.2.2"


def vpn_trio(start: bool = True, **b_kw: Any) -> Net:
    """RR 192.0.2.100 with C-PE clients A (192.0.2.1) and B (192.0.2.2).

    A: red loopback 10.255.0.1, black 198.51.100.1; B: 10.255.0.2 / 198.51.100.2.
    ``b_kw`` goes to B's config (black peers, other VRFs, ...).
    """
    from controller.bgp.core import SpeakerCore

    net = Net()
    net.add(RR, SpeakerCore(rr_config(RR, [A, B])))
    net.add(A, SpeakerCore(cpe_config("10.255.0.1", "10.255.0.1", "198.51.100.1", [RR])))
    net.add(B, SpeakerCore(cpe_config("10.255.0.2", "10.255.0.2", "198.51.100.2", [RR], **b_kw)))
    if start:
        start_all(net)
    return net


E = "203.0.113.9"  # an Internet peer on B's black session (AS 64999)


def _add_provider(net: Net) -> None:
    from controller.bgp.config import NeighborConfig, SpeakerConfig
    from controller.bgp.core import SpeakerCore
    from controller.bgp.path import Color

    e_n = NeighborConfig(ip(B), 65000, Color.BLACK, connect_retry_time=5, idle_hold_time=1)
    net.add(E, SpeakerCore(SpeakerConfig(64999, ip(E), neighbors=(e_n,))))


def with_black_peer(**b_kw: Any) -> Net:
    """``vpn_trio`` where B also has a black EBGP session to the provider E."""
    net = vpn_trio(start=False, black_peers=[(E, 64999)], **b_kw)
    _add_provider(net)
    start_all(net)
    return net


def spoof_setup() -> Net:
    """As ``with_black_peer``, but A has no black loopback, so no red loopback route yet."""
    from controller.bgp.config import SpeakerConfig
    from controller.bgp.core import SpeakerCore

    net = Net()
    net.add(RR, SpeakerCore(rr_config(RR, [A, B])))
    a_cfg = cpe_config("10.255.0.1", "10.255.0.1", "198.51.100.1", [RR])
    net.add(A, SpeakerCore(SpeakerConfig(**{**a_cfg.__dict__, "black_loopback": None})))
    b_cfg = cpe_config("10.255.0.2", "10.255.0.2", "198.51.100.2", [RR], black_peers=[(E, 64999)])
    net.add(B, SpeakerCore(b_cfg))
    _add_provider(net)
    start_all(net)
    return net


def notifications(net: Net, sender: str | None = None) -> list[tuple[int, int]]:
    """(code, subcode) of every NOTIFICATION sent so far (by ``sender`` if given)."""
    from controller.bgp.wire.message import decode_message
    from controller.bgp.wire.notification import Notification

    out = []
    for src, _dst, data in net.captured:
        if sender is not None and src != ipaddress.ip_address(sender):
            continue
        if len(data) > 18 and data[18] == 3:
            msg = decode_message(data)
            assert isinstance(msg, Notification)
            out.append((msg.code, msg.subcode))
    return out


def inject(net: Net, sender: str, receiver: str, msgs: list[Any]) -> None:
    """Deliver hand-built messages to ``receiver`` as if ``sender`` sent them on their session."""
    x, y = ipaddress.ip_address(sender), ipaddress.ip_address(receiver)
    conn = next(c for (n, c), (p, _) in net.links.items() if n == y and p == x)
    node = net.nodes[y]
    ctx = node.sessions[x]._ctx[conn]
    for m in msgs:
        node.data_received(x, conn, m.encode(ctx), net.now)
    net.settle()


def vpn_from_rr(net: Net, prefix: str, tunnels: tuple[Any, ...]) -> None:
    """The RR sends B a VPN route of A's (next hop A's red loopback) with these tunnels."""
    from controller.bgp import convert
    from controller.bgp.path import VPNV4, Attrs, Nlri
    from controller.bgp.wire.attributes.ext_communities import ExtCommunity
    from controller.bgp.wire.nlri.rd import RouteDistinguisher

    b = net.node(B)
    neg = b.sessions[ip(RR)].negotiated
    rt = ExtCommunity.route_target("65000:100")
    nlri = Nlri(VPNV4, net_(prefix), RouteDistinguisher.parse("10.255.0.1:1"))
    attrs = Attrs(next_hop=ip("10.255.0.1"), local_pref=100, ext_communities=(rt,), tunnels=tunnels)
    inject(net, RR, B, convert.encode_updates([(nlri, attrs, (555,))], [], neg))
