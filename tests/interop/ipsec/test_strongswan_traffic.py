"""Real ESP both ways: strongSwan's userspace ESP (kernel-libipsec) and our ESP engine.

charon pings 10.10.1.1 from 10.10.2.1 through its ipsec0 TUN; the ESP-in-UDP
packets reach our IKE service's port 4500, which feeds them to our engine
(tunnel mode, RFC 3948), answers the decrypted echo request like a host would,
and sends the reply back through the engine's outbound SA.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import struct

import pytest
from swan_common import our_config, start_service, swanctl_conf, wait_event
from swan_netns import SS_INNER_IP, SS_IP, US_INNER_IP, US_IP, Topo

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.packet import PROTO_UDP, checksum, outer_header, udp_header
from controller.ipsec.ike.events import ChildDown, ChildUp
from controller.ipsec.sad import SaDatabase

pytestmark = [pytest.mark.interop]
ETH = b"\x02\x00\x00\x00\x00\x0b\x02\x00\x00\x00\x00\x0a\x08\x00"


def echo_reply(packet: bytes) -> bytes | None:
    """The ICMP echo reply a host at the destination would send (IPv4 only)."""
    ihl = (packet[0] & 0x0F) * 4
    if packet[9] != 1 or packet[ihl] != 8:
        return None
    icmp = bytearray(b"\x00\x00\x00\x00" + packet[ihl + 4 :])
    icmp[2:4] = struct.pack("!H", checksum(bytes(icmp)))
    src, dst = packet[16:20], packet[12:16]
    header = bytearray(
        struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, 1, 0, src, dst)
    )
    header[10:12] = struct.pack("!H", checksum(bytes(header)))
    return bytes(header) + bytes(icmp)


class EnginePeer:
    """Our side's data path: engine + SA database, fed ESP from the IKE service's port 4500."""

    def __init__(self) -> None:
        self.engine = EspEngine()
        self.sad = SaDatabase(self.engine, ipaddress.ip_address(US_IP))
        self.svc = None
        self.echoed = 0

    def esp_in(self, esp: bytes, src: tuple[str, int]) -> None:
        us, them = ipaddress.ip_address(US_IP).packed, ipaddress.ip_address(src[0]).packed
        udp = udp_header(them, us, src[1], 4500, esp) + esp
        frame = (
            cp.CryptoHeader(cp.Op.DECRYPT).encode()
            + ETH
            + outer_header(them, us, PROTO_UDP, len(udp), 0)
            + udp
        )
        out = self.engine.process(frame)
        if out[4] != cp.Result.OK:
            return
        reply = echo_reply(out[8 + 14 :])
        index = self.sad.outbound_index(SS_IP, child="net")
        if reply is None or index is None or self.svc is None:
            return
        enc = self.engine.process(cp.CryptoHeader(cp.Op.ENCRYPT, index).encode() + ETH + reply)
        assert enc[4] == cp.Result.OK, self.engine.last_error
        self.svc.send_esp(enc[8 + 14 + 20 + 8 :], src)  # strip crypto hdr, Ethernet, IP, UDP
        self.echoed += 1


@pytest.mark.parametrize("esp", ["aes128gcm16", "aes256-sha256"])
async def test_strongswan_esp_traffic_through_our_engine(topo: Topo, esp: str) -> None:
    await topo.charon.load(swanctl_conf(esp_proposal=esp))
    peer = EnginePeer()
    svc = await start_service(topo, our_config(esp_proposal=esp))
    svc.esp_sink = peer.esp_in
    peer.svc = svc  # type: ignore[assignment]

    def on_event(sa, ev) -> None:  # type: ignore[no-untyped-def]
        if isinstance(ev, ChildUp):
            peer.sad.child_up(
                ev.child, sa.remote[0], svc.now, ev.replaces, remote_port=sa.remote[1]
            )
        elif isinstance(ev, ChildDown):
            peer.sad.child_down(ev.child, svc.now)

    svc.listeners.append(on_event)
    try:
        svc.initiate("ss", SS_IP)
        _, up = await wait_event(svc, lambda s, e: isinstance(e, ChildUp))
        await topo.charon.wait_for(r"INSTALLED, TUNNEL-in-UDP")
        ping = await asyncio.create_subprocess_exec(
            "ip",
            "netns",
            "exec",
            topo.ss.name,
            "ping",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "2",
            "-I",
            SS_INNER_IP,
            US_INNER_IP,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(ping.communicate(), 20)
        text = out.decode()
        assert ping.returncode == 0, text + topo.charon.log_text()[-2000:]
        assert "3 received" in text and peer.echoed == 3
        child = up.child  # type: ignore[union-attr]
        sas = await topo.charon.list_sas()
        # strongSwan counted 3 packets each way on the SA pair we negotiated
        assert re.search(rf"in  {child.spi_out:08x},\s+\d+ bytes,\s+3 packets", sas), sas
        assert re.search(rf"out {child.spi_in:08x},\s+\d+ bytes,\s+3 packets", sas), sas
        # rekey while traffic runs: the new SA carries the next pings
        svc.daemon.rekey_child(child.spi_in, svc.now)
        svc.poke()
        await wait_event(svc, lambda s, e: isinstance(e, ChildDown) and e.child is child)
        ping = await asyncio.create_subprocess_exec(
            "ip",
            "netns",
            "exec",
            topo.ss.name,
            "ping",
            "-c",
            "2",
            "-i",
            "0.2",
            "-W",
            "2",
            "-I",
            SS_INNER_IP,
            US_INNER_IP,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(ping.communicate(), 20)
        assert ping.returncode == 0, out.decode()
        assert peer.echoed == 5
    finally:
        await svc.stop()
