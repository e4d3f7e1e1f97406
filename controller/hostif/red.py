"""The C-PE's own presence on red ports: ARP, IPv6 ND and ping, answered in userspace.

Why not a TAP per red port: tenants' address spaces overlap (two VRFs may both
use 10.1.1.1/24), and one Linux namespace can only keep them apart with VRF
devices (l3mdev), which not every kernel has (this CI kernel has none). The
C-PE needs very little on a red port: answer ARP/ND for its gateway address,
answer pings to it, resolve tenant hosts, and learn who is where. That is done
here, sans I/O: frames in, reply frames and learned neighbours out. Once a
neighbour is learned, the switch answers its ARP/NS for our addresses itself
(``controller/app/desired/replies.py``), so what reaches this code is first
contact, a changed MAC, and everything that is not a request for our address.

Wire formats: Ethernet II; ARP (RFC 826); IPv4 (RFC 791) + ICMP echo (RFC
792); IPv6 (RFC 8200) + ICMPv6 echo (RFC 4443) and neighbour solicitation /
advertisement with link-layer address options (RFC 4861 4.3, 4.4, 4.6.1).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
ETH_IPV4, ETH_ARP, ETH_IPV6 = 0x0800, 0x0806, 0x86DD
BROADCAST = b"\xff" * 6


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", "").replace("-", ""))


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _icmp6_csum(src: bytes, dst: bytes, body: bytes) -> int:
    pseudo = src + dst + struct.pack("!I3xB", len(body), 58)
    return checksum(pseudo + body)


def _ipv4(src: bytes, dst: bytes, proto: int, payload: bytes) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0, src, dst)
    return hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:] + payload


def _ipv6(src: bytes, dst: bytes, payload: bytes, hlim: int = 64) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), 58, hlim, src, dst) + payload


def _icmp6(src: bytes, dst: bytes, typ: int, code: int, rest: bytes, hlim: int = 64) -> bytes:
    body = struct.pack("!BBH", typ, code, 0) + rest
    csum = _icmp6_csum(src, dst, body)
    return _ipv6(src, dst, body[:2] + struct.pack("!H", csum) + body[4:], hlim)


def solicited_node(addr: ipaddress.IPv6Address) -> ipaddress.IPv6Address:
    """RFC 4291 2.7.1: ff02::1:ffXX:XXXX."""
    return ipaddress.IPv6Address(b"\xff\x02" + bytes(9) + b"\x01\xff" + addr.packed[13:])


@dataclass
class RedPort:
    port: int
    mac: str
    addresses: list[IPAddress] = field(default_factory=list)


@dataclass
class Outcome:
    replies: list[bytes] = field(default_factory=list)
    learned: list[tuple[IPAddress, str]] = field(default_factory=list)
    dropped: str = ""  # why the frame was not used (for debug counters)


class RedResponder:
    def __init__(self) -> None:
        self.ports: dict[int, RedPort] = {}

    def add(self, port: RedPort) -> None:
        self.ports[port.port] = port

    def handle(self, port_no: int, frame: bytes) -> Outcome:
        port = self.ports.get(port_no)
        if port is None:
            return Outcome(dropped=f"port {port_no} is not a red port")
        if len(frame) < 14:
            return Outcome(dropped="runt frame")
        ethertype = int.from_bytes(frame[12:14], "big")
        handlers = {ETH_ARP: self._arp, ETH_IPV4: self._ipv4, ETH_IPV6: self._ipv6}
        handler = handlers.get(ethertype)
        if handler is None:
            return Outcome(dropped=f"ethertype 0x{ethertype:04x}")
        try:
            out = handler(port, frame)
        except (struct.error, ValueError, IndexError) as exc:
            return Outcome(dropped=f"malformed: {exc}")
        if not (out.replies or out.learned or out.dropped):
            out.dropped = "nothing to answer or learn"
        return out

    # -- ARP -------------------------------------------------------------------------------

    def _arp(self, port: RedPort, frame: bytes) -> Outcome:
        htype, ptype, hlen, plen, op = struct.unpack_from("!HHBBH", frame, 14)
        if (htype, ptype, hlen, plen) != (1, ETH_IPV4, 6, 4):
            return Outcome(dropped="ARP for something other than Ethernet/IPv4")
        sha, spa, _tha, tpa = struct.unpack_from("!6s4s6s4s", frame, 22)
        out = Outcome()
        sender = ipaddress.IPv4Address(spa)
        if int(sender) != 0:
            out.learned.append((sender, mac_text(sha)))
        if op == 1 and ipaddress.IPv4Address(tpa) in port.addresses:
            me = mac_bytes(port.mac)
            body = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, 2, me, tpa, sha, spa)
            out.replies.append(sha + me + struct.pack("!H", ETH_ARP) + body)
        return out

    def arp_request(self, port_no: int, target: ipaddress.IPv4Address) -> bytes | None:
        port = self.ports.get(port_no)
        src = next((a for a in port.addresses if a.version == 4), None) if port else None
        if port is None or src is None:
            return None
        me = mac_bytes(port.mac)
        body = struct.pack(
            "!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, 1, me, src.packed, bytes(6), target.packed
        )
        return BROADCAST + me + struct.pack("!H", ETH_ARP) + body

    # -- IPv4 ping -------------------------------------------------------------------------

    def _ipv4(self, port: RedPort, frame: bytes) -> Outcome:
        ihl = (frame[14] & 0x0F) * 4
        proto = frame[23]
        src, dst = frame[26:30], frame[30:34]
        out = Outcome()
        if ipaddress.IPv4Address(dst) not in port.addresses:
            return Outcome(dropped="IPv4 not addressed to us")
        total = int.from_bytes(frame[16:18], "big")
        icmp = frame[14 + ihl : 14 + total]
        if proto != 1 or len(icmp) < 8 or icmp[0] != 8:
            return Outcome(dropped="not an echo request")
        reply = b"\x00\x00\x00\x00" + icmp[4:]
        reply = reply[:2] + struct.pack("!H", checksum(reply)) + reply[4:]
        me = mac_bytes(port.mac)
        out.replies.append(
            frame[6:12] + me + struct.pack("!H", ETH_IPV4) + _ipv4(dst, src, 1, reply)
        )
        return out

    # -- IPv6: ND and ping -----------------------------------------------------------------

    def _ipv6(self, port: RedPort, frame: bytes) -> Outcome:
        if frame[20] != 58:
            return Outcome(dropped="IPv6 other than ICMPv6")
        plen = int.from_bytes(frame[18:20], "big")
        src, dst = frame[22:38], frame[38:54]
        body = frame[54 : 54 + plen]
        typ = body[0]
        me = mac_bytes(port.mac)
        out = Outcome()
        mine = [a for a in port.addresses if a.version == 6]
        if typ in (135, 136):  # NS / NA
            target = ipaddress.IPv6Address(body[8:24])
            lladdr = self._ll_option(body[24:], 1 if typ == 135 else 2)
            source = ipaddress.IPv6Address(src)
            if typ == 135 and lladdr and not source.is_unspecified:
                out.learned.append((source, mac_text(lladdr)))
            if typ == 136 and lladdr:
                out.learned.append((target, mac_text(lladdr)))
            elif typ == 136:
                out.learned.append((target, mac_text(frame[6:12])))
            if typ == 135 and target in mine and not source.is_unspecified:
                # Solicited NA: router, solicited, override; target link-layer option.
                rest = struct.pack("!I16s", 0xE0000000, target.packed) + b"\x02\x01" + me
                na = _icmp6(target.packed, src, 136, 0, rest, hlim=255)
                out.replies.append(frame[6:12] + me + struct.pack("!H", ETH_IPV6) + na)
            return out
        if typ == 128 and ipaddress.IPv6Address(dst) in mine:
            reply = _icmp6(dst, src, 129, 0, body[4:])
            out.replies.append(frame[6:12] + me + struct.pack("!H", ETH_IPV6) + reply)
            return out
        return Outcome(dropped=f"ICMPv6 type {typ} not for us")

    @staticmethod
    def _ll_option(options: bytes, kind: int) -> bytes | None:
        i = 0
        while i + 2 <= len(options):
            otype, olen = options[i], options[i + 1] * 8
            if olen == 0:
                return None
            if otype == kind and olen >= 8:
                return options[i + 2 : i + 8]
            i += olen
        return None

    def neighbour_solicit(self, port_no: int, target: ipaddress.IPv6Address) -> bytes | None:
        port = self.ports.get(port_no)
        src = next((a for a in port.addresses if a.version == 6), None) if port else None
        if port is None or not isinstance(src, ipaddress.IPv6Address):
            return None
        me = mac_bytes(port.mac)
        group = solicited_node(target)
        rest = struct.pack("!I16s", 0, target.packed) + b"\x01\x01" + me
        ns = _icmp6(src.packed, group.packed, 135, 0, rest, hlim=255)
        dst_mac = b"\x33\x33" + group.packed[12:]
        return dst_mac + me + struct.pack("!H", ETH_IPV6) + ns
