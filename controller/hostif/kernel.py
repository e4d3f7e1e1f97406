"""Neighbours and routes the kernel holds, from ``ip -j neigh`` / ``ip -j route``.

iproute2's JSON output is the stable, documented view of the kernel's tables
(the same data netlink gives), so parsing it needs no netlink library. Parsers
are permissive about extra keys and strict about the ones used: a malformed
item is reported as one line and skipped, never a traceback.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
# States in which the kernel believes the link-layer address (ip-neighbour(8)).
_USABLE = {"REACHABLE", "STALE", "DELAY", "PROBE", "PERMANENT", "NOARP"}


@dataclass(frozen=True)
class KernelNeighbour:
    ip: IPAddress
    mac: str
    dev: str


@dataclass(frozen=True)
class KernelRoute:
    prefix: IPNetwork
    dev: str
    gateway: IPAddress | None


def _items(text: str, what: str, problems: list[str]) -> list[dict[str, object]]:
    try:
        doc = json.loads(text) if text.strip() else []
    except json.JSONDecodeError as exc:
        problems.append(f"{what}: not JSON ({exc.msg} at offset {exc.pos})")
        return []
    if not isinstance(doc, list):
        problems.append(f"{what}: expected a JSON list, got {type(doc).__name__}")
        return []
    out = []
    for i, item in enumerate(doc):
        if isinstance(item, dict):
            out.append(item)
        else:
            problems.append(f"{what}[{i}]: expected an object")
    return out


def parse_neighbours(text: str, problems: list[str]) -> list[KernelNeighbour]:
    out = []
    for i, item in enumerate(_items(text, "ip neigh", problems)):
        dst, mac, dev = item.get("dst"), item.get("lladdr"), item.get("dev")
        state = item.get("state", [])
        if mac is None or not isinstance(state, list) or not _USABLE & set(map(str, state)):
            continue  # incomplete/failed: nothing to forward to yet
        if not isinstance(dst, str) or not isinstance(dev, str) or not isinstance(mac, str):
            problems.append(f"ip neigh[{i}]: dst/dev/lladdr missing or not text")
            continue
        try:
            addr = ipaddress.ip_address(dst)
        except ValueError:
            problems.append(f"ip neigh[{i}]: {dst!r} is not an IP address")
            continue
        if not _MAC.match(mac.lower()):
            problems.append(f"ip neigh[{i}]: {mac!r} is not a MAC address")
            continue
        out.append(KernelNeighbour(addr, mac.lower(), dev))
    return out


def parse_routes(text: str, version: int, problems: list[str]) -> list[KernelRoute]:
    out = []
    for i, item in enumerate(_items(text, "ip route", problems)):
        dst, dev, gw = item.get("dst"), item.get("dev"), item.get("gateway")
        if item.get("type", "unicast") != "unicast":
            continue
        if not isinstance(dst, str) or not isinstance(dev, str):
            problems.append(f"ip route[{i}]: dst/dev missing or not text")
            continue
        try:
            prefix = ipaddress.ip_network(
                ("0.0.0.0/0" if version == 4 else "::/0") if dst == "default" else dst,
                strict=False,
            )
            gateway = ipaddress.ip_address(gw) if isinstance(gw, str) else None
        except ValueError as exc:
            problems.append(f"ip route[{i}]: {exc}")
            continue
        if prefix.version != version:
            problems.append(f"ip route[{i}]: {dst} is not IPv{version}")
            continue
        out.append(KernelRoute(prefix, dev, gateway))
    return out


def _run(argv: list[str]) -> str:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    return proc.stdout if proc.returncode == 0 else ""


def read_kernel(problems: list[str]) -> tuple[list[KernelNeighbour], list[KernelRoute]]:
    """The namespace's neighbours and main-table routes, IPv4 and IPv6."""
    neigh = parse_neighbours(_run(["ip", "-j", "neigh", "show"]), problems)
    routes = parse_routes(_run(["ip", "-j", "-4", "route", "show"]), 4, problems)
    routes += parse_routes(_run(["ip", "-j", "-6", "route", "show"]), 6, problems)
    return neigh, routes
