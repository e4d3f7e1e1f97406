"""Our side of ESP traffic tests: engine + SA database answering pings like a host would."""

from __future__ import annotations

import asyncio
import ipaddress
import struct

from swan_netns import SS_INNER_IP, SS_IP, US_INNER_IP, US_IP, Netns

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.packet import PROTO_UDP, checksum, outer_header, udp_header
from controller.ipsec.ike.adapter import IkeService
from controller.ipsec.ike.events import ChildDown, ChildUp, Event
from controller.ipsec.ike.sa import IkeSa
from controller.ipsec.sad import SaDatabase

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

    def __init__(self, local: str = US_IP) -> None:
        self.local = local
        self.engine = EspEngine()
        self.sad = SaDatabase(self.engine, ipaddress.ip_address(local))
        self.svc = None
        self.echoed = 0

    def esp_in(self, esp: bytes, src: tuple[str, int]) -> None:
        us, them = ipaddress.ip_address(self.local).packed, ipaddress.ip_address(src[0]).packed
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


def attach(peer: EnginePeer, svc: IkeService) -> None:
    """Feed the service's ESP to the engine and its CHILD_SA events to the SA database."""
    svc.esp_sink = peer.esp_in
    peer.svc = svc  # type: ignore[assignment]

    def on_event(sa: IkeSa, ev: Event) -> None:
        if isinstance(ev, ChildUp):
            peer.sad.child_up(
                ev.child, sa.remote[0], svc.now, ev.replaces, remote_port=sa.remote[1]
            )
        elif isinstance(ev, ChildDown):
            peer.sad.child_down(ev.child, svc.now)

    svc.listeners.append(on_event)


async def ping_from_strongswan(ss: Netns, count: int) -> str:
    """Ping our inner address from strongSwan's, through its ipsec0; returns ping's output."""
    proc = await asyncio.create_subprocess_exec(
        "ip",
        "netns",
        "exec",
        ss.name,
        "ping",
        "-c",
        str(count),
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
    out, _ = await asyncio.wait_for(proc.communicate(), 20)
    text = out.decode()
    if proc.returncode != 0:
        raise AssertionError(f"ping failed:\n{text}")
    return text
