"""Network namespaces for the interop tests: created per test with pid-unique names."""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
US_IP, SS_IP = "10.66.0.1", "10.66.0.2"  # black (outer) addresses
US_INNER_IP, SS_INNER_IP = "10.10.1.1", "10.10.2.1"  # inside the tunnel-mode selectors
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL("libc.so.6", use_errno=True)


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=check, capture_output=True, text=True, timeout=30)


class Netns:
    def __init__(self, name: str) -> None:
        self.name = name
        sh("ip", "netns", "add", name)
        self.run("ip", "link", "set", "lo", "up")

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.name, *args, check=check)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on a thread that has entered this namespace (sockets stay in it)."""
        box: dict[str, object] = {}

        def body() -> None:
            fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns failed")
                box["v"] = fn()
            except BaseException as exc:
                box["e"] = exc
            finally:
                os.close(fd)

        t = threading.Thread(target=body)
        t.start()
        t.join()
        if "e" in box:
            raise box["e"]  # type: ignore[misc]
        return box["v"]  # type: ignore[return-value]

    def udp_socket(self, ip: str, port: int) -> socket.socket:
        def make() -> socket.socket:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.setblocking(False)
            s.bind((ip, port))
            return s

        return self.call(make)

    def delete(self) -> None:
        sh("ip", "netns", "del", self.name, check=False)


def veth_pair(a: Netns, a_ip: str, b: Netns, b_ip: str, tag: str) -> None:
    """Join two namespaces with a veth pair; addresses are /24s."""
    va, vb = f"va{tag}", f"vb{tag}"
    sh(
        "ip",
        "link",
        "add",
        va,
        "netns",
        a.name,
        "type",
        "veth",
        "peer",
        "name",
        vb,
        "netns",
        b.name,
    )
    for ns, dev, ip in ((a, va, a_ip), (b, vb, b_ip)):
        ns.run("ip", "addr", "add", f"{ip}/24", "dev", dev)
        ns.run("ip", "link", "set", dev, "up")


@dataclass
class Topo:
    """Our namespace, strongSwan's namespace, and the charon running in the latter."""

    us: Netns
    ss: Netns
    charon: Any
    tag: str
