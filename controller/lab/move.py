"""``sl3vpn lab move NODE NEW_BLACK_LOOPBACK``: a node's black address changes (mobility).

What a mobile C-PE sees when its provider hands it another address: the
underlay router now routes the new /32 over the node's black link and no
longer the old one, and the daemon is told to take the new address (its
configuration file gets the new ``loopbacks.black`` and the daemon SIGHUP).
The rest -- MOBIKE, re-advertising the red loopback route, peers re-pointing
their SAs -- is the daemons' own work (controller/app/mobility.py).

Only daemon labs (``lab up --daemons``) and nodes not behind NAT: behind NAT
the black loopback is hidden by the NAT box and a move there is a NAT
rebinding, which IKE already follows (RFC 7296 2.23).
"""

from __future__ import annotations

import ipaddress
import os
import signal
from pathlib import Path

import yaml

from controller.lab.lab import LabError, _ours, plan_of
from controller.lab.netns import Netns
from controller.lab.topology import ALLOWED


def _current_black(configs: Path, node: str) -> ipaddress.IPv4Address:
    doc = yaml.safe_load((configs / f"{node}.yml").read_text())
    return ipaddress.IPv4Address(doc["loopbacks"]["black"])


def _used(prefix: str, mover: str) -> set[ipaddress.IPv4Address]:
    """Addresses another node holds now (black loopbacks as moved so far), and links."""
    state, topo, _ = plan_of(prefix)
    used: set[ipaddress.IPv4Address] = set()
    for node in (*topo.rrs, *topo.cpes):
        used |= {node.red_loopback, *node.black_link}
        if node.name != mover:
            configs = state.run_dir / "configs"
            exists = (configs / f"{node.name}.yml").exists()
            used.add(_current_black(configs, node.name) if exists else node.black_loopback)
    return used


def move(prefix: str, node: str, new_text: str) -> tuple[str, str]:
    """Move ``node``'s black loopback to ``new_text``; returns (old, new)."""
    state, topo, plan = plan_of(prefix)
    if state.mode != "daemon":
        raise LabError("lab move needs a daemon lab (`sl3vpn lab up --daemons`)")
    try:
        new = ipaddress.IPv4Address(new_text)
    except ValueError:
        raise LabError(f"{new_text!r} is not an IPv4 address") from None
    if not any(new in n for n in ALLOWED):
        raise LabError(f"{new} is outside the lab's ranges (documentation and 10.0.0.0/8)")
    nodes = {n.name: n for n in (*topo.rrs, *topo.cpes)}
    if node not in nodes:
        raise LabError(f"no node {node!r} (nodes: {', '.join(sorted(nodes))})")
    via = nodes[node].link_address.ip
    if node not in plan.rr_ns:
        cpe = plan.cpe(node)
        if cpe.nat_ns:
            raise LabError(
                f"{node} is behind NAT: its black loopback is not routed in the underlay"
            )
        via = cpe.black_if_addr.ip
    config = state.run_dir / "configs" / f"{node}.yml"
    doc = yaml.safe_load(config.read_text())
    old = ipaddress.IPv4Address(doc["loopbacks"]["black"])
    if new == old:
        raise LabError(f"{node}'s black loopback is already {new}")
    if new in _used(prefix, node):
        raise LabError(f"{new} is already used in the lab")
    pid = state.pids.get(node)
    if pid is None or not _ours(pid, state.run_dir):
        raise LabError(f"{node}'s daemon is not running")
    under = Netns(plan.underlay_ns)
    under.add_route(f"{new}/32", via=str(via))
    doc["loopbacks"]["black"] = str(new)
    _rewrite(config, doc)
    os.kill(pid, signal.SIGHUP)
    under.ip("route", "del", f"{old}/32")  # the old address is gone from the underlay
    return str(old), str(new)


def _rewrite(path: Path, doc: object) -> None:
    tmp = path.with_suffix(".yml.tmp")
    tmp.write_text(yaml.safe_dump(doc, sort_keys=False))
    os.chmod(tmp, path.stat().st_mode & 0o777)
    tmp.replace(path)
