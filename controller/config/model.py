"""The daemon configuration: one YAML file per C-PE or route reflector.

Top-level sections (see ``examples/cpe1.yml`` and ``examples/rr1.yml``)::

    node:      name, role (cpe | rr), as, router_id
    loopbacks: black, red, tenants (per-tenant red loopbacks, draft section 4),
               security_handles (draft section 6)
    switch:    p4sim (default), bmv2 (simple_switch_grpc started by the daemon) or
               p4runtime (address, device id, pipeline files); ports and roles
    vrfs:      name, rd, import, export, label_mode, label, routes, interfaces
    extranet:  from, to, prefixes (red → red across VRFs by explicit policy, draft 7)
    bgp:       neighbors (address, as, type red|black, families, rr client), cluster_id,
               graceful_restart (enabled, restart_time, stale_time, deferral_time),
               rt_constrain (RFC 4684, default on)
    ike:       auth (psk | certificates), proposals, lifetimes, sa_mode, NAT-T
    tunnel_encapsulation: the draft's two code points without IANA values
    logging, metrics, control_socket
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator

from controller.bgp.wire.context import (
    DEFAULT_MPLS_IN_IPSEC_TUNNEL_TYPE,
    DEFAULT_SECURITY_HANDLE_SUBTLV,
)
from controller.config.ike import Ike
from controller.config.switch import Strict, Switch, host_port
from controller.config.vpn import Bgp, Extranet, IPAddress, Vrf


class Node(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
    role: Literal["cpe", "rr"]
    asn: int = Field(alias="as", ge=1, le=0xFFFFFFFF)
    router_id: ipaddress.IPv4Address


class Loopbacks(Strict):
    black: IPAddress | None = None
    red: IPAddress | None = None
    # Per-tenant red loopbacks: VRF name -> address; each gets its own SAs.
    tenants: dict[str, IPAddress] = Field(default_factory=dict)
    # Security Handle sub-TLV values (draft section 6, "deployment specific"), keyed
    # "red" or by tenant: "0x..." for octets, other text as UTF-8. Omitted when absent.
    security_handles: dict[str, str] = Field(default_factory=dict)

    @field_validator("security_handles")
    @classmethod
    def _handles(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            data = security_handle_bytes(text)
            if not 0 < len(data) <= 255:
                raise ValueError(f"{key}: a Security Handle has 1 to 255 octets (one-octet length)")
        return value

    def security_handle(self, key: str) -> bytes | None:
        text = self.security_handles.get(key)
        return None if text is None else security_handle_bytes(text)


def security_handle_bytes(text: str) -> bytes:
    if text.lower().startswith("0x"):
        try:
            return bytes.fromhex(text[2:])
        except ValueError:
            raise ValueError(f"{text!r} is not an even number of hex digits") from None
    return text.encode()


class TunnelEncapsulation(Strict):
    """The draft's code points that IANA never assigned; defaults and reasons live with
    the BGP codec (controller/bgp/wire/context.py): Security Handle sub-TLV 126 (RFC 9012
    experimental range), MPLS-in-IPsec tunnel type 0xFFFE (the last FCFS value)."""

    mpls_in_ipsec_tunnel_type: int = Field(
        default=DEFAULT_MPLS_IN_IPSEC_TUNNEL_TYPE, ge=1, le=0xFFFE
    )
    security_handle_subtlv: int = Field(default=DEFAULT_SECURITY_HANDLE_SUBTLV, ge=0, le=127)
    # The daemon puts our handle (controller/ipsec/handle.py) on every red loopback route
    # that has none configured under loopbacks.security_handles; false: only those.
    auto_security_handles: bool = True


class Logging(Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"
    file: str | None = None  # stderr when absent


class Metrics(Strict):
    enabled: bool = True
    listen: str = "127.0.0.1:9100"  # Prometheus text format over HTTP

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        return host_port(value)


class Config(Strict):
    node: Node
    loopbacks: Loopbacks = Field(default_factory=Loopbacks)
    switch: Switch = Field(default_factory=Switch)
    vrfs: list[Vrf] = Field(default_factory=list)
    extranet: list[Extranet] = Field(default_factory=list)  # draft 7, explicit policy only
    bgp: Bgp = Field(default_factory=Bgp)
    ike: Ike | None = None
    tunnel_encapsulation: TunnelEncapsulation = Field(default_factory=TunnelEncapsulation)
    logging: Logging = Field(default_factory=Logging)
    metrics: Metrics = Field(default_factory=Metrics)
    control_socket: str = "/run/sl3vpn/{name}.sock"

    @field_validator("control_socket")
    @classmethod
    def _socket(cls, value: str) -> str:
        # A Unix socket path is limited to 107 bytes (sun_path); relative paths would
        # depend on the daemon's working directory.
        if not value.startswith("/"):
            raise ValueError("must be an absolute path")
        if len(value.encode()) > 100:
            raise ValueError("is longer than a Unix socket path may be")
        return value

    # Where the configuration came from (set by the loader, not the file).
    source: str = Field(default="", exclude=True)

    @property
    def control_socket_path(self) -> str:
        return self.control_socket.replace("{name}", self.node.name)

    def vrf(self, name: str) -> Vrf | None:
        return next((v for v in self.vrfs if v.name == name), None)
