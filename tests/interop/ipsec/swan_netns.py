"""Namespaces for the strongSwan interop tests (controller/lab/netns.py), pid-unique names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from controller.lab.netns import Netns, veth

__all__ = ["Netns", "Topo", "veth_pair"]
US_IP, SS_IP = "10.66.0.1", "10.66.0.2"  # black (outer) addresses
US_INNER_IP, SS_INNER_IP = "10.10.1.1", "10.10.2.1"  # inside the tunnel-mode selectors


def veth_pair(a: Netns, a_ip: str, b: Netns, b_ip: str, tag: str) -> None:
    """Join two namespaces with a veth pair (va<tag>, vb<tag>); addresses are /24s."""
    va, vb = f"va{tag}", f"vb{tag}"
    veth(a, va, b, vb)
    a.add_address(va, f"{a_ip}/24")
    b.add_address(vb, f"{b_ip}/24")


@dataclass
class Topo:
    """Our namespace, strongSwan's namespace, and the charon running in the latter."""

    us: Netns
    ss: Netns
    charon: Any
    tag: str
