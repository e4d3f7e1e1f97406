"""Network namespaces, veth links, addresses and routes, through iproute2.

The lab builds every node (underlay router, C-PEs, RRs, tenant hosts) as a
network namespace joined by veth pairs. iproute2's `ip` is the tool every
operator already knows and its error messages are clear, so the lab drives it
rather than speaking netlink itself. Every failure becomes a NetnsError that
names the command and what `ip` said.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import ipaddress
import os
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from controller.proc import alive

T = TypeVar("T")
CLONE_NEWNET = 0x40000000  # setns(2): join a network namespace
# linux/sockios.h and linux/ethtool.h: the legacy "TX checksumming" get/set commands,
# which every driver gets from the kernel's generic feature code (veth included).
SIOCETHTOOL = 0x8946
ETHTOOL_GTXCSUM, ETHTOOL_STXCSUM = 0x16, 0x17
IFREQ_SIZE = 40  # struct ifreq on 64-bit Linux: 16-octet name + 24-octet union


class NetnsError(RuntimeError):
    """An iproute2 command failed; the message names the command and its error."""


def require_tools() -> None:
    """Fail clearly when the host cannot build a lab."""
    if shutil.which("ip") is None:
        raise NetnsError("the lab needs iproute2's `ip` command (apt-get install iproute2)")


def run(argv: Sequence[str], *, check: bool = True, timeout: float = 10.0) -> str:
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as exc:
        raise NetnsError(f"{argv[0]}: not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise NetnsError(f"`{' '.join(argv)}` did not finish in {timeout:g}s") from exc
    if check and proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise NetnsError(f"`{' '.join(argv)}` failed: {msg[-1] if msg else proc.returncode}")
    return proc.stdout


def list_netns() -> set[str]:
    out = run(["ip", "netns", "list"])
    return {line.split()[0] for line in out.splitlines() if line.strip()}


@dataclass(frozen=True)
class Netns:
    """One network namespace, by name."""

    name: str

    @classmethod
    def new(cls, name: str) -> Netns:
        """Create the namespace (loopback up) and return it."""
        ns = cls(name)
        ns.create()
        return ns

    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start a process inside the namespace, leading its own session (stop it by pid)."""
        return subprocess.Popen(self.exec_argv(argv), start_new_session=True, **kwargs)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on a thread that entered this namespace; sockets it makes stay in it."""
        box: dict[str, Any] = {}

        def body() -> None:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise NetnsError(f"setns into {self.name}: {os.strerror(ctypes.get_errno())}")
                box["value"] = fn()
            except BaseException as exc:  # handed to the caller's thread
                box["error"] = exc
            finally:
                os.close(fd)

        t = threading.Thread(target=body, name=f"netns-{self.name}")
        t.start()
        t.join()
        if "error" in box:
            raise box["error"]
        return box["value"]

    def udp_socket(self, address: str, port: int) -> socket.socket:
        """A non-blocking UDP socket bound inside this namespace."""

        def make() -> socket.socket:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.setblocking(False)
            s.bind((address, port))
            return s

        return self.call(make)

    def tcp_connect(self, src: str, dst: str, port: int, timeout: float = 5.0) -> socket.socket:
        """A TCP connection from ``src`` to ``dst`` made inside this namespace."""

        def make() -> socket.socket:
            s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET)
            s.settimeout(timeout)
            s.bind((src, 0))
            s.connect((dst, port))
            return s

        return self.call(make)

    def tcp_listen(self, address: str, port: int) -> socket.socket:
        """A listening TCP socket inside this namespace."""

        def make() -> socket.socket:
            s = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((address, port))
            s.listen(8)
            return s

        return self.call(make)

    def run(self, argv: Sequence[str], *, check: bool = True, timeout: float = 10.0) -> str:
        return run(self.exec_argv(argv), check=check, timeout=timeout)

    def tx_checksum(self, ifname: str, on: bool | None = None) -> bool:
        """Set (``on`` given) and return ``ifname``'s TX checksum offload (ethtool's
        ``tx``), by ioctl: ethtool is not part of the lab's tools."""

        def body() -> bool:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                if on is not None:
                    _ethtool(s, ifname, ETHTOOL_STXCSUM, int(on))
                return bool(_ethtool(s, ifname, ETHTOOL_GTXCSUM, 0))

        try:
            return self.call(body)
        except OSError as exc:
            raise NetnsError(f"{self.name}: TX checksum offload of {ifname}: {exc}") from None

    def ip(self, *args: str) -> str:
        return run(["ip", "-n", self.name, *args])

    def create(self) -> None:
        run(["ip", "netns", "add", self.name])
        self.ip("link", "set", "lo", "up")

    def pids(self) -> set[int]:
        out = run(["ip", "netns", "pids", self.name], check=False)
        return {int(p) for p in out.split() if p.isdigit()}

    def kill_all(self, grace: float = 3.0) -> None:
        """End every process still inside this namespace: TERM, then KILL after ``grace``.

        Deleting a namespace does not end its processes; one left behind (a daemon's
        orphaned child, say) would keep running detached from any namespace name.
        """
        pids = self.pids()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + grace
            while pids and time.monotonic() < deadline:
                time.sleep(0.05)
                pids = {p for p in pids if alive(p)}
            if not pids:
                return

    def delete(self) -> None:
        if self.exists():
            self.kill_all()
        run(["ip", "netns", "delete", self.name], check=False)

    def exists(self) -> bool:
        return self.name in list_netns()

    def add_address(self, ifname: str, iface: str) -> None:
        """Add an address in CIDR form (``192.0.2.1/24``) to an interface."""
        ipaddress.ip_interface(iface)  # fail early, with Python's message, on a typo
        self.ip("addr", "add", iface, "dev", ifname)

    def add_route(self, prefix: str, via: str | None = None, dev: str | None = None) -> None:
        args = ["route", "replace", str(ipaddress.ip_network(prefix, strict=False))]
        if via:
            args += ["via", via]
        if dev:
            args += ["dev", dev]
        if ipaddress.ip_network(prefix, strict=False).version == 6:
            args = ["-6", *args]
        self.ip(*args)

    def set_sysctl(self, key: str, value: str) -> None:
        self.run(["sysctl", "-q", "-w", f"{key}={value}"])

    def enable_forwarding(self) -> None:
        self.set_sysctl("net.ipv4.ip_forward", "1")
        self.set_sysctl("net.ipv6.conf.all.forwarding", "1")

    def link_up(self, ifname: str) -> None:
        self.ip("link", "set", "dev", ifname, "up")


def _ethtool(sock: socket.socket, ifname: str, cmd: int, data: int) -> int:
    """One SIOCETHTOOL request with a struct ethtool_value; returns its ``data``."""
    value = ctypes.create_string_buffer(struct.pack("II", cmd, data))
    req = struct.pack("16sP", ifname.encode(), ctypes.addressof(value))
    fcntl.ioctl(sock.fileno(), SIOCETHTOOL, req.ljust(IFREQ_SIZE, b"\0"))
    return int(struct.unpack("II", value.raw[:8])[1])


def veth(a: Netns, a_if: str, b: Netns, b_if: str, *, mtu: int | None = None) -> None:
    """Join two namespaces with a veth pair and bring both ends up."""
    if max(len(a_if), len(b_if)) > 15:
        raise NetnsError(f"interface names are at most 15 characters: {a_if!r}, {b_if!r}")
    argv = ["ip", "link", "add", "name", a_if, "netns", a.name]
    if mtu:
        argv += ["mtu", str(mtu)]
    argv += ["type", "veth", "peer", "name", b_if, "netns", b.name]
    if mtu:
        argv += ["mtu", str(mtu)]
    run(argv)
    a.link_up(a_if)
    b.link_up(b_if)
    for ns, ifname in ((a, a_if), (b, b_if)):
        # Tenant hosts and routers answer ND at once instead of waiting for DAD.
        ns.set_sysctl(f"net.ipv6.conf.{ifname}.accept_dad", "0")
