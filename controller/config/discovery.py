"""``bgp.auto_discovery``: a route reflector admits C-PEs it was never told about (draft 3.2).

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
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from controller.config.switch import Strict
from controller.ipsec.ike.peerid import BadPattern, check_pattern

if TYPE_CHECKING:
    from controller.config.model import Config

Found = Iterator[tuple[str, str]]


class AutoDiscovery(Strict):
    identities: list[str] = Field(min_length=1)
    ca: list[str] = Field(default_factory=list)
    route_reflector_client: bool = True
    hold_time: int = Field(default=90, ge=0, le=0xFFFF)
    families: list[str] = Field(default_factory=lambda: ["vpnv4", "vpnv6", "ipv4-unicast"])

    @field_validator("identities")
    @classmethod
    def _patterns(cls, values: list[str]) -> list[str]:
        for i, pattern in enumerate(values):
            try:
                check_pattern(pattern)
            except BadPattern as exc:
                raise ValueError(f"[{i}]: {exc}") from None
        return values

    @field_validator("families")
    @classmethod
    def _families(cls, values: list[str]) -> list[str]:
        from controller.config.vpn import FAMILIES

        bad = [f for f in values if f not in FAMILIES]
        if bad:
            raise ValueError(f"unknown families {', '.join(bad)} (use {', '.join(FAMILIES)})")
        return values


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
