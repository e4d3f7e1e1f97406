"""What the desired state is made of: the daemon's inputs as values, and table order."""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
RouteKey = tuple[str, IPNetwork]  # (VRF name, prefix)
TunnelKey = tuple[str, str | None]  # (peer black address, tenant)

PROTO_TCP = 6
BGP_PORT = 179
# Overhead the black side adds to an MPLS-in-IP packet after our outer header:
# ESP header 8 + IV 8 + pad/trailer up to 3+2 + ICV 16, plus UDP 8 for NAT-T, rounded up.
ESP_OVERHEAD = 48

# Write order: a later table may refer to entries of an earlier one.
TABLE_ORDER = (
    "port_role",
    "red_subif",
    "egress_port_role",
    "my_black_v4",
    "my_black_v6",
    "black_acl",
    "arp_reply",
    "nd_reply",
    "black_nexthop",
    "black_fib_v4",
    "black_fib_v6",
    "red_nexthop",
    "tunnel",
    "tunnel_sa",
    "inbound_sa_v4",
    "inbound_sa_v6",
    "vpn_label",
    "spd_v4",
    "spd_v6",
    "vrf_fib_v4",
    "vrf_fib_v6",
    "extranet",
)


@dataclass(frozen=True)
class Neighbour:
    """An L2 neighbour the kernel resolved on the TAP of a switch port."""

    ip: IPAddress
    mac: str
    port: int


@dataclass(frozen=True)
class BlackRoute:
    """A kernel route over a black TAP: ``gateway`` None means directly connected."""

    prefix: IPNetwork
    port: int
    gateway: IPAddress | None = None


@dataclass(frozen=True)
class VpnRoute:
    """A VRF prefix as BGP resolved it: local (``label`` is ours) or remote."""

    vrf: str
    prefix: IPNetwork
    label: int
    local: bool
    endpoint: IPAddress | None = None  # remote black loopback (Tunnel Egress Endpoint)
    tenant: str | None = None  # per-tenant SAs: which tenant's SA carries it

    @property
    def tunnel(self) -> TunnelKey | None:
        """The tunnel a remote route needs (None for a local route)."""
        if self.local or self.endpoint is None:
            return None
        return (address_text(self.endpoint), self.tenant)


# ``str()`` of an ipaddress object re-formats it every time (~2 us); tunnel endpoints are
# few and each is looked up once or more per route change.
address_text = functools.lru_cache(maxsize=4096)(str)


@dataclass(frozen=True)
class SaPair:
    """The SA indexes that currently carry a tunnel (from the SA database)."""

    out_index: int
    in_index: int
    # inbound indexes still accepted besides in_index (a rekey's new SA before the
    # outbound switch, the old one while it drains): the pipeline must not drop them
    more_in: tuple[int, ...] = ()
    # where the peer's SAs are: its black loopback, or its NAT's public address (RFC
    # 3948); transport-mode ESP goes there and comes back from there
    outer: IPAddress | None = None

    def inbound(self) -> tuple[int, ...]:
        return (self.in_index, *(i for i in self.more_in if i != self.in_index))


@dataclass(frozen=True)
class ControlPeer:
    """A red BGP neighbour whose session runs inside a control SA.

    Tunnel mode: the session runs between ``local_red`` and ``red_address``.
    Transport mode (``peer_transport`` set, draft 3.2): between our black loopback
    and ``peer_transport``, the address the peer's SAs use (its black loopback, or
    its NAT's public address when it is behind one).
    """

    red_address: IPAddress
    sa: SaPair
    local_red: IPAddress
    peer_transport: IPAddress | None = None
