"""Network namespaces for the BGP interop harness: pid-unique names, torn down by the fixture.

Built with controller/lab/netns.py (the lab's own namespace code).

A :class:`Lab` is two namespaces joined by a veth: ``peer`` (the daemon under
test) and ``us`` (the test-side speakers). Addresses come from 10.x/24s private
to the two namespaces, so nothing touches the root namespace's routing.
"""

from __future__ import annotations

import ipaddress
import itertools
import os
from dataclasses import dataclass

from controller.lab.netns import Netns, veth

__all__ = ["Lab", "Netns", "make_lab"]
_counter = itertools.count()


@dataclass
class Lab:
    """``us`` and ``peer`` namespaces joined by veth ``veth_us``/``veth_peer``."""

    tag: str
    us: Netns
    peer: Netns
    peer_ip: str
    us_ips: tuple[str, ...]
    peer_ip6: str
    us_ip6s: tuple[str, ...]
    veth_us: str
    veth_peer: str

    def close(self) -> None:
        self.us.delete()
        self.peer.delete()


def make_lab(kind: str, n_us: int = 3) -> Lab:
    """Create a lab; names include the test pid and a counter, so parallel runs never clash."""
    seq = next(_counter)
    tag = f"{os.getpid() % 100000}x{seq}"
    us = Netns.new(f"sl3bgp-{kind}-us-{tag}")
    try:
        peer = Netns.new(f"sl3bgp-{kind}-pe-{tag}")
    except Exception:
        us.delete()
        raise
    # The second octet spreads concurrent labs; the namespaces are private anyway.
    net = f"10.{100 + seq % 100}.{os.getpid() % 250}"
    peer_ip = f"{net}.1"
    us_ips = tuple(f"{net}.{10 + i}" for i in range(n_us))
    net6 = f"fd00:5b3:{seq % 0xFFFF:x}"
    # Canonical text, as the daemons print it in their CLIs and JSON.
    peer_ip6 = str(ipaddress.IPv6Address(f"{net6}::1"))
    us_ip6s = tuple(str(ipaddress.IPv6Address(f"{net6}::{10 + i:x}")) for i in range(n_us))
    veth_us, veth_peer = f"vu{tag}"[:15], f"vp{tag}"[:15]
    lab = Lab(tag, us, peer, peer_ip, us_ips, peer_ip6, us_ip6s, veth_us, veth_peer)
    try:
        veth(us, veth_us, peer, veth_peer)  # up, without duplicate address detection
        peer.add_address(veth_peer, f"{peer_ip}/24")
        peer.add_address(veth_peer, f"{peer_ip6}/64")
        for ip in us_ips:
            us.add_address(veth_us, f"{ip}/24")
        for ip6 in us_ip6s:
            us.add_address(veth_us, f"{ip6}/64")
    except Exception:
        lab.close()
        raise
    return lab
