"""The daemon's side of each switch port: a TAP on black ports, the responder on red ones.

Also prepares the namespace: loopback addresses on ``lo``, the default route
over the black TAP, and host routes to the red RRs' loopbacks over the black
TAP (with a permanent neighbour entry, so no ARP for a red address ever leaves
on the black side; the pipeline's SPD entry then puts the session into its
control SA).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import subprocess
from collections.abc import Callable
from pathlib import Path

from controller.app.redhosts import hosts_in_fib
from controller.config import Config
from controller.hostif import kernel
from controller.hostif.bridge import HostIf
from controller.hostif.red import RedPort, RedResponder
from controller.hostif.tap import Tap
from controller.p4rt import P4RuntimeClient, TableEntry
from controller.p4rt.errors import P4RuntimeClientError

log = logging.getLogger("sl3vpn.hostif")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
PUNT_ROUTE_TO_CPU = 8


def port_mac(node: str, port: int) -> str:
    """A stable, locally administered MAC per (node, port): same after a restart."""
    h = hashlib.sha256(node.encode()).digest()
    raw = bytes([0x02, h[0], h[1], h[2], port >> 8 & 0xFF, port & 0xFF])
    return ":".join(f"{b:02x}" for b in raw)


def _ip(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if check and proc.returncode != 0:
        raise OSError(f"`ip {' '.join(args)}` failed: {proc.stderr.strip()}")
    return proc.stdout


SendOut = Callable[[bytes, int, bool], None]


def _ip_dst(frame: bytes) -> IPAddress | None:
    ethertype = int.from_bytes(frame[12:14], "big") if len(frame) >= 14 else 0
    if ethertype == 0x0800 and len(frame) >= 34:
        return ipaddress.IPv4Address(frame[30:34])
    if ethertype == 0x86DD and len(frame) >= 54:
        return ipaddress.IPv6Address(frame[38:54])
    return None


def _sysctl(key: str, value: str, ifname: str) -> None:
    try:
        (Path("/proc/sys/net") / key).write_text(value)
    except OSError as exc:
        log.warning("%s: cannot set %s: %s", ifname, key, exc.strerror)


def quiet_ipv6(ifname: str, has_v6: bool) -> None:
    """What the kernel may say on a black TAP: nothing IPv6 unless the port has IPv6
    (then ND only: no router solicitations, no autoconfiguration)."""
    name = ifname.replace(".", "/")
    if not has_v6:
        _sysctl(f"ipv6/conf/{name}/disable_ipv6", "1", ifname)
        return
    for key in ("accept_ra", "router_solicitations", "autoconf"):
        _sysctl(f"ipv6/conf/{name}/{key}", "0", ifname)


def silence(ifname: str) -> None:
    """Keep the namespace's own IP stack off a switch-port interface.

    The switch (p4sim over AF_PACKET) owns the frames of that interface; the
    kernel must not also answer ARP there or accept packets for our loopbacks
    from it (they would bypass the pipeline). No ARP, no IPv6, and strict
    reverse-path filtering: every source is routed via a TAP, so every packet
    arriving on the raw port fails the check and is dropped by the kernel,
    after AF_PACKET has handed it to the switch.
    """
    _ip("link", "set", "dev", ifname, "arp", "off", "up")
    name = ifname.replace(".", "/")
    _sysctl(f"ipv6/conf/{name}/disable_ipv6", "1", ifname)
    _sysctl(f"ipv4/conf/{name}/rp_filter", "1", ifname)
    _sysctl(f"ipv4/conf/{name}/arp_ignore", "8", ifname)


class HostPorts:
    def __init__(
        self,
        cfg: Config,
        macs: dict[int, str],
        send_out: SendOut,
        needs_route: Callable[[int, IPAddress], None] = lambda port, dst: None,
    ) -> None:
        self.cfg = cfg
        self.needs_route = needs_route
        self.macs = macs
        self.send_out = send_out
        self.hostif = HostIf(send_out)
        self.red = RedResponder()
        self.black_ports = {p.port for p in cfg.switch.by_role("black")}
        self.taps: dict[int, Tap] = {}
        self.counts = {"red_ignored": 0, "solicits": 0}

    @staticmethod
    def tap_name(name: str | None, port: int, interface: str | None) -> str:
        tap = name or f"port{port}"
        return f"{tap[:13]}-h" if tap == interface else tap[:15]

    def prepare_namespace(self) -> None:
        lb = self.cfg.loopbacks
        _ip("link", "set", "lo", "up")
        for port in self.cfg.switch.ports:
            if port.interface:
                silence(port.interface)
        for addr in (lb.black, lb.red, *lb.tenants.values()):
            if addr is not None:
                _ip("addr", "replace", f"{addr}/{addr.max_prefixlen}", "dev", "lo")

    def add_loopback(self, addr: IPAddress) -> None:
        _ip("addr", "replace", f"{addr}/{addr.max_prefixlen}", "dev", "lo")

    def remove_loopback(self, addr: IPAddress) -> None:
        _ip("addr", "del", f"{addr}/{addr.max_prefixlen}", "dev", "lo", check=False)

    async def start(self, client: Callable[[], P4RuntimeClient]) -> None:
        for port in self.cfg.switch.ports:
            if port.role == "black":
                name = self.tap_name(port.name, port.port, port.interface)
                tap = Tap(name, self.macs[port.port], port.mtu)
                quiet_ipv6(name, has_v6=any(i.version == 6 for i in port.address))
                for iface in port.address:
                    _ip("addr", "replace", str(iface), "dev", name)
                self.taps[port.port] = tap
                self.hostif.add(port.port, "black", tap)
            elif port.role == "red" and port.vlan is None:
                addrs = [iface.ip for iface in port.address]
                self.red.add(RedPort(port.port, self.macs[port.port], addrs))
        self._default_route()

    def _default_route(self) -> None:
        """Default route via the black BGP peer on a black port's subnet, if there is one."""
        for nbr in self.cfg.bgp.neighbors:
            if nbr.type != "black":
                continue
            for port in self.cfg.switch.by_role("black"):
                if any(nbr.address in iface.network for iface in port.address):
                    self.set_default(nbr.address, port.port)
                    return

    def set_default(self, gateway: IPAddress, port: int) -> None:
        tap = self.taps.get(port)
        if tap is None:
            return
        fam = "-4" if gateway.version == 4 else "-6"
        _ip(fam, "route", "replace", "default", "via", str(gateway), "dev", tap.name)

    def route_control_peers(self, peers: dict[str, IPAddress], gateway: IPAddress | None) -> None:
        if not self.taps:
            return
        port, tap = next(iter(sorted(self.taps.items())))
        if gateway is not None:
            self.set_default(gateway, port)
        red = self.cfg.loopbacks.red
        if self.cfg.ike is not None and self.cfg.ike.control_sa.mode == "transport":
            return  # red sessions run between black loopbacks: by the black routes
        for peer_red in peers.values():
            plen = peer_red.max_prefixlen
            fam = "-4" if peer_red.version == 4 else "-6"
            src = ["src", str(red)] if red is not None and red.version == peer_red.version else []
            _ip(fam, "route", "replace", f"{peer_red}/{plen}", "dev", tap.name, *src)
            _ip(
                "neigh",
                "replace",
                str(peer_red),
                "lladdr",
                tap.mac,
                "dev",
                tap.name,
                "nud",
                "permanent",
            )

    def unroute_control_peer(self, peer_red: IPAddress) -> None:
        """Undo ``route_control_peers`` for one peer (a discovered C-PE that left)."""
        if not self.taps or (
            self.cfg.ike is not None and self.cfg.ike.control_sa.mode == "transport"
        ):
            return
        _port, tap = next(iter(sorted(self.taps.items())))
        fam = "-4" if peer_red.version == 4 else "-6"
        _ip(
            fam,
            "route",
            "del",
            f"{peer_red}/{peer_red.max_prefixlen}",
            "dev",
            tap.name,
            check=False,
        )
        _ip("neigh", "del", str(peer_red), "dev", tap.name, check=False)

    def black_port_of(self, dev: str) -> int | None:
        port = self.hostif.port_of(dev)
        return port if port in self.black_ports else None

    def read_kernel(self) -> tuple[list[kernel.KernelNeighbour], list[kernel.KernelRoute]]:
        problems: list[str] = []
        out = kernel.read_kernel(problems)
        for p in problems:
            log.warning("kernel tables: %s", p)
        return out

    def packet_in(self, port: int, reason: int, frame: bytes) -> list[tuple[IPAddress, str]]:
        """Deliver a punted frame; returns red neighbours learned from it."""
        if reason == PUNT_ROUTE_TO_CPU:
            if self._solicit(frame):
                return []
            dst = _ip_dst(frame)
            if dst is not None and port not in self.black_ports:
                self.needs_route(port, dst)  # a remote prefix without its SA yet (lazy)
                return []
        if port in self.black_ports:
            self.hostif.packet_in(port, frame)
            return []
        out = self.red.handle(port, frame)
        for reply in out.replies:
            self.send_out(reply, port, False)
        if out.dropped:
            self.counts["red_ignored"] += 1
        return out.learned

    def _solicit(self, frame: bytes) -> bool:
        """A tenant packet for a host whose MAC we lack (its subnet routes to the CPU).

        The packet-in does not say which VRF it was routed in (a packet from a
        remote C-PE enters on a black port), so ask on every red port whose
        subnet holds the address; with overlapping tenants each host answers on
        its own port and each VRF gets its own host entry. The packet is lost.
        """
        dst = _ip_dst(frame)
        if dst is None:
            return False
        return self.solicit(dst)

    async def ask_known_hosts(
        self, client: P4RuntimeClient, known: Callable[[], set[IPAddress]], rounds: int = 3
    ) -> None:
        """ARP/NS the tenant hosts an adopted switch forwards to (up to ``rounds`` times,
        1 s apart, until ``known`` has them), so that their answers re-learn them before
        stale entries may be deleted; else the first packet to such a host afterwards
        is lost to resolution."""
        try:
            read = await client.read([TableEntry("vrf_fib_v4"), TableEntry("vrf_fib_v6")])
        except P4RuntimeClientError as exc:
            log.warning("could not read the adopted switch's tenant hosts: %s", exc)
            return
        hosts = hosts_in_fib([e for e in read if isinstance(e, TableEntry)])
        for _ in range(rounds):
            for ip in set(hosts) - known():
                self.solicit(ip)
            await asyncio.sleep(1.0)

    def solicit(self, dst: IPAddress) -> bool:
        """ARP/NS for ``dst`` on every red port whose subnet holds it; True if asked."""
        asked = False
        for port in self.cfg.switch.by_role("red"):
            if any(dst in iface.network and dst != iface.ip for iface in port.address):
                if isinstance(dst, ipaddress.IPv4Address):
                    ask = self.red.arp_request(port.port, dst)
                else:
                    ask = self.red.neighbour_solicit(port.port, dst)
                if ask is not None:
                    self.counts["solicits"] += 1
                    self.send_out(ask, port.port, False)
                    asked = True
        return asked

    def close(self) -> None:
        self.hostif.close()
        self.taps.clear()
