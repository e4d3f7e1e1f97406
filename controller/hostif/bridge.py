"""Bridge switch ports to TAPs: packet-in -> TAP, TAP -> packet-out.

What the kernel sends on a red TAP goes straight out of that red port (ARP,
ND and ICMP answers to tenant hosts). What it sends on a black TAP is ARP/ND
(straight out) or IP traffic of the C-PE itself (BGP, IKE), which goes through
the pipeline (``do_forward``): routed by ``black_fib`` and, for a red BGP
session, protected by the control SA the SPD table selects.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from controller.hostif.csum import complete_partial
from controller.hostif.tap import Tap

log = logging.getLogger(__name__)

ETH_ARP = 0x0806
ETH_IPV6 = 0x86DD
ICMPV6 = 58
ND_TYPES = range(133, 138)  # RS, RA, NS, NA, Redirect (RFC 4861)


def is_link_local_control(frame: bytes) -> bool:
    """ARP or IPv6 neighbour discovery: never routed, sent out the port as is."""
    if len(frame) < 14:
        return False
    ethertype = int.from_bytes(frame[12:14], "big")
    if ethertype == ETH_ARP:
        return True
    if ethertype == ETH_IPV6 and len(frame) >= 55 and frame[20] == ICMPV6:
        return frame[54] in ND_TYPES
    return False


# (frame, egress port, do_forward) -> a packet-out
SendOut = Callable[[bytes, int, bool], None]


@dataclass
class PortTap:
    port: int
    role: str
    tap: Tap


class HostIf:
    def __init__(self, send_out: SendOut) -> None:
        self.send_out = send_out
        self.by_port: dict[int, PortTap] = {}
        self.by_name: dict[str, PortTap] = {}
        self.counts = {"to_kernel": 0, "from_kernel": 0, "unknown_port": 0}

    def add(self, port: int, role: str, tap: Tap) -> None:
        pt = PortTap(port, role, tap)
        self.by_port[port] = pt
        self.by_name[tap.name] = pt
        asyncio.get_running_loop().add_reader(tap.fd, self._readable, pt)

    def port_of(self, dev: str) -> int | None:
        pt = self.by_name.get(dev)
        return pt.port if pt is not None else None

    def packet_in(self, ingress_port: int, frame: bytes) -> None:
        pt = self.by_port.get(ingress_port)
        if pt is None:
            self.counts["unknown_port"] += 1
            log.debug("packet-in from port %d, which has no TAP: dropped", ingress_port)
            return
        self.counts["to_kernel"] += 1
        if pt.role == "black":
            # A veth peer's offloaded checksum arrives partial (see csum.py).
            frame = complete_partial(frame)
        pt.tap.write(frame)

    def _readable(self, pt: PortTap) -> None:
        for _ in range(64):  # bounded, so one busy TAP cannot starve the loop
            frame = pt.tap.read()
            if frame is None:
                return
            self.counts["from_kernel"] += 1
            forward = pt.role == "black" and not is_link_local_control(frame)
            self.send_out(frame, pt.port, forward)

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        for pt in self.by_port.values():
            loop.remove_reader(pt.tap.fd)
            pt.tap.close()
        self.by_port.clear()
        self.by_name.clear()
