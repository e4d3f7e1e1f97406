"""Network namespaces for the BGP interop harness: pid-unique names, torn down by the fixture.

A :class:`Lab` is two namespaces joined by a veth: ``peer`` (the daemon under
test) and ``us`` (the test-side speakers). Addresses come from 10.x/24s private
to the two namespaces, so nothing touches the root namespace's routing.
"""

from __future__ import annotations

import ctypes
import ipaddress
import itertools
import os
import socket
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL("libc.so.6", use_errno=True)
_counter = itertools.count()


def sh(*args: str, check: bool = True, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing text output; raise with its stderr when ``check`` fails."""
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


class Netns:
    """One network namespace with its loopback up."""

    def __init__(self, name: str) -> None:
        self.name = name
        sh("ip", "netns", "add", name)
        self.run("ip", "link", "set", "lo", "up")

    def run(
        self, *args: str, check: bool = True, timeout: float = 20
    ) -> subprocess.CompletedProcess[str]:
        return sh("ip", "netns", "exec", self.name, *args, check=check, timeout=timeout)

    def popen(self, args: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        """Start a process inside the namespace, in its own session (stopped by its pid)."""
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            ["ip", "netns", "exec", self.name, *args], start_new_session=True, **kwargs
        )

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on a thread that entered this namespace; sockets it makes stay in it."""
        box: dict[str, object] = {}

        def body() -> None:
            fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {self.name} failed")
                box["value"] = fn()
            except BaseException as exc:  # handed to the caller's thread
                box["error"] = exc
            finally:
                os.close(fd)

        t = threading.Thread(target=body, name=f"netns-{self.name}")
        t.start()
        t.join()
        if "error" in box:
            raise box["error"]  # type: ignore[misc]
        return box["value"]  # type: ignore[return-value]

    def tcp_connect(self, src: str, dst: str, port: int = 179, timeout: float = 5) -> socket.socket:
        """A TCP connection from ``src`` to ``dst`` made inside this namespace."""

        def make() -> socket.socket:
            family = socket.AF_INET6 if ":" in dst else socket.AF_INET
            s = socket.socket(family, socket.SOCK_STREAM)
            s.settimeout(timeout)
            s.bind((src, 0))
            s.connect((dst, port))
            return s

        return self.call(make)

    def tcp_listen(self, address: str, port: int = 179) -> socket.socket:
        """A listening TCP socket inside this namespace (for daemons configured as active)."""

        def make() -> socket.socket:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            s = socket.socket(family, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((address, port))
            s.listen(8)
            return s

        return self.call(make)

    def delete(self) -> None:
        sh("ip", "netns", "del", self.name, check=False)


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
    us = Netns(f"sl3bgp-{kind}-us-{tag}")
    try:
        peer = Netns(f"sl3bgp-{kind}-pe-{tag}")
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
        sh("ip", "link", "add", veth_us, "netns", us.name, "type", "veth",
           "peer", "name", veth_peer, "netns", peer.name)  # fmt: skip
        peer.run("ip", "addr", "add", f"{peer_ip}/24", "dev", veth_peer)
        peer.run("ip", "-6", "addr", "add", f"{peer_ip6}/64", "dev", veth_peer, "nodad")
        for ip in us_ips:
            us.run("ip", "addr", "add", f"{ip}/24", "dev", veth_us)
        for ip6 in us_ip6s:
            us.run("ip", "-6", "addr", "add", f"{ip6}/64", "dev", veth_us, "nodad")
        peer.run("ip", "link", "set", veth_peer, "up")
        us.run("ip", "link", "set", veth_us, "up")
    except Exception:
        lab.close()
        raise
    return lab
