"""Checks of ``bgp.auto_discovery`` (model: ``controller/config/vpn.py`` ``AutoDiscovery``).

A route reflector admits C-PEs it was never told about (draft 3.2):

    bgp:
      auto_discovery:
        identities: ["*.cpe.example"]   # IKE identities admitted (patterns, below)
        ca: [cpe-ca.pem]                # CAs vouching for them (default: ike.auth.certificates.ca)
        # route_reflector_client: true, hold_time: 90, families: [...] as for a neighbour

A C-PE whose certificate chains to ``ca``, names the IKE identity it claims,
that identity matching one of ``identities``, and binds its red loopback (URI
subjectAltName ``sl3vpn:red-loopback:ADDR``) gets a control SA and a red BGP
session from that red loopback; it may originate that red loopback only. Its
session and routes go away with its IKE SA. Patterns (controller/ipsec/ike/peerid.py):
``*.domain`` (any name below it), an exact name, ``*@domain``, an IP prefix, a DN
with ``*`` values.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from controller.config.model import Config

Found = Iterator[tuple[str, str]]


def check_discovery(cfg: Config) -> Found:
    auto = cfg.bgp.auto_discovery
    if auto is None:
        return
    where = "bgp.auto_discovery"
    if cfg.node.role != "rr":
        yield where, "only a route reflector discovers its C-PEs (node.role: rr)"
    if cfg.ike is None or cfg.ike.auth.certificates is None:
        yield where, "needs ike.auth.certificates: a discovered C-PE proves itself by certificate"
    if cfg.loopbacks.red is None:
        yield where, "needs loopbacks.red: the discovered C-PEs' red sessions run to it"
    if auto.hold_time in (1, 2):
        yield f"{where}.hold_time", "must be 0 or at least 3 (RFC 4271 4.2)"


def check_discovery_files(cfg: Config, base_dir: Path) -> Found:
    auto = cfg.bgp.auto_discovery
    for i, name in enumerate(auto.ca if auto is not None else []):
        file = Path(name) if Path(name).is_absolute() else base_dir / name
        if not file.is_file():
            yield f"bgp.auto_discovery.ca[{i}]", f"file {file} does not exist"
