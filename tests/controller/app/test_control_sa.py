"""The red BGP sessions' control CHILD_SA (draft 3.2): transport mode by default.

A C-PE and an RR, each with its IKE daemon, SA database and real ESP engine built
from the daemon configuration (``make_ike_config``), negotiate in one process. A
BGP segment the C-PE's controller sends is then encrypted by the C-PE's engine
and decrypted by the RR's, as it would cross the crypto ports: what the black
side sees, and what the RR's pipeline gets back, are checked.
"""

from __future__ import annotations

import ipaddress
import struct
from pathlib import Path

import pytest
from scapy.layers.inet import IP, TCP
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import Ether

from controller.app.ikeconf import make_ike_config
from controller.config import Config, parse
from controller.ipsec.crypto_port import CryptoHeader, Op, frame
from controller.ipsec.esp import EspEngine
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.ike.wire.ts import TrafficSelector
from controller.ipsec.installer import Mode
from controller.ipsec.sad import SaDatabase, TunnelChange
from controller.ipsec.tunnels import TunnelManager

from .ikepump import pump

pytestmark = pytest.mark.unit
ip = ipaddress.ip_address
CPE_BLACK, CPE_RED = "198.51.100.11", "10.255.0.11"
RR_BLACK, RR_RED = "198.51.100.1", "10.255.0.1"


def config(black: str, red: str, mode: str | None, role: str = "cpe", bgp: str = "") -> Config:
    """``bgp``: the configuration's bgp section, if any (YAML, at column 0)."""
    control = f", control_sa: {{mode: {mode}}}" if mode else ""
    text = f"""
node: {{name: n{black[-2:].strip(".")}, role: {role}, as: 65000, router_id: 192.0.2.1}}
loopbacks: {{black: {black}, red: {red}}}
switch:
  ports:
    - {{port: 3, name: wan0, role: black}}
    - {{port: 255, role: cpu}}
    - {{port: 254, role: crypto}}
ike: {{auth: {{psk: "k"}}{control}}}
{bgp}"""
    return parse(text, "n.yml", Path("."))


class Node:
    def __init__(self, cfg: Config, me: str, peer: str, peer_red: str) -> None:
        self.changes: list[TunnelChange] = []
        self.engine = EspEngine()
        self.daemon = IkeDaemon([], spi_alloc=self.engine.allocate_spi)
        sad = SaDatabase(self.engine, ip(me), 0.5, self.changes.append)
        control = {peer: ip(peer_red)}
        self.tunnels = TunnelManager(
            self.daemon, sad, me, lambda p: make_ike_config(cfg, p, control)
        )
        self.sad = sad

    def child(self, name: str):  # type: ignore[no-untyped-def]
        return next(c for sa in self.daemon.sas.values() for c in sa.children if c.name == name)


def negotiate(mode: str | None) -> tuple[Node, Node]:
    cpe = Node(config(CPE_BLACK, CPE_RED, mode), CPE_BLACK, RR_BLACK, RR_RED)
    rr = Node(config(RR_BLACK, RR_RED, mode), RR_BLACK, CPE_BLACK, CPE_RED)
    rr.tunnels.accept(CPE_BLACK)
    cpe.tunnels.packet_needs_tunnel(RR_BLACK, now=0.0)  # C-PEs initiate to their RRs
    pump({CPE_BLACK: cpe, RR_BLACK: rr})
    return cpe, rr


def tcp_host(addr: str) -> list[TrafficSelector]:
    return [TrafficSelector.host(addr, 6)]


def crypto(op: Op, sa_index: int, packet: bytes) -> bytes:
    return frame(CryptoHeader(op=op, sa_index=sa_index, ingress_port=255), packet)


def bgp_segment(src: str, dst: str) -> bytes:
    keepalive = b"\xff" * 16 + struct.pack("!HB", 19, 4)
    return bytes(
        Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
        / IP(src=src, dst=dst, ttl=64)
        / TCP(sport=40000, dport=179, flags="PA", seq=1, ack=1)
        / keepalive
    )


def test_s32_control_sa_is_transport_mode_between_black_loopbacks() -> None:
    """Draft 3.2: "then using IPsec Transport Mode to protect the BGP session", SA
    endpoints the black loopbacks; on the wire only publicly routable addresses."""
    cpe, rr = negotiate(None)  # the default
    for node, me, peer in ((cpe, CPE_BLACK, RR_BLACK), (rr, RR_BLACK, CPE_BLACK)):
        child = node.child("bgp")
        assert child.transport
        assert (child.local_ts, child.remote_ts) == (tcp_host(me), tcp_host(peer))
        modes = {(p.mode, str(p.local), str(p.remote)) for p in node.engine.sas()}
        assert (Mode.TRANSPORT, me, peer) in modes and Mode.TUNNEL not in {m[0] for m in modes}
    out_index = cpe.sad.outbound_index(ip(RR_BLACK), child="bgp")
    assert out_index is not None
    segment = bgp_segment(CPE_BLACK, RR_BLACK)
    wire = cpe.engine.process(crypto(Op.ENCRYPT, out_index, segment))[8:]
    pkt = Ether(wire)
    # Transport mode: the one IP header is the black loopbacks', ESP right after it;
    # nothing red anywhere in the clear (in tunnel mode it would be inside, encrypted,
    # behind a second header).
    assert (pkt[IP].src, pkt[IP].dst, pkt[IP].proto) == (CPE_BLACK, RR_BLACK, 50)
    assert pkt.haslayer(ESP) and not pkt.haslayer(TCP)
    for red in (CPE_RED, RR_RED):
        assert ipaddress.ip_address(red).packed not in wire
    # The RR's engine gives back the BGP segment as sent, addressed black to black,
    # which its pipeline lets through the control SA to its CPU.
    back = rr.engine.process(crypto(Op.DECRYPT, 0, wire))
    assert back[4] == 0, "decrypt refused"
    got = Ether(back[8:])
    assert (got[IP].src, got[IP].dst, got[TCP].dport) == (CPE_BLACK, RR_BLACK, 179)
    assert bytes(got[TCP].payload) == bytes(Ether(segment)[TCP].payload)


def test_tunnel_mode_stays_a_configuration_choice() -> None:
    """``ike.control_sa.mode: tunnel``: BGP between red loopbacks, inside black ones."""
    cpe, rr = negotiate("tunnel")
    for node, me, peer in ((cpe, CPE_RED, RR_RED), (rr, RR_RED, CPE_RED)):
        child = node.child("bgp")
        assert not child.transport
        assert (child.local_ts, child.remote_ts) == (tcp_host(me), tcp_host(peer))
    out_index = cpe.sad.outbound_index(ip(RR_BLACK), child="bgp")
    assert out_index is not None
    wire = cpe.engine.process(crypto(Op.ENCRYPT, out_index, bgp_segment(CPE_RED, RR_RED)))[8:]
    pkt = Ether(wire)
    assert (pkt[IP].src, pkt[IP].dst, pkt[IP].proto) == (CPE_BLACK, RR_BLACK, 50)
    back = Ether(rr.engine.process(crypto(Op.DECRYPT, 0, wire))[8:])
    assert (back[IP].src, back[IP].dst, back[TCP].dport) == (CPE_RED, RR_RED, 179)


def test_mpls_child_is_transport_mode_in_either_mode() -> None:
    for mode in ("transport", "tunnel"):
        cpe, _ = negotiate(mode)
        mpls = cpe.child("mpls")
        assert mpls.transport and mpls.local_ts == [TrafficSelector.host(CPE_BLACK, 137)]
