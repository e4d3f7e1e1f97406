"""What the daemon tells the control API: the ``StatusSource`` seam and its records.

The daemon (controller/app) implements :class:`StatusSource`; the control API
server calls it, the renderers and the metrics writer read what it returns.
Every record is a ``TypedDict`` of JSON types only, so a reply is exactly what
``json.dumps`` writes and what ``sl3vpn show --json`` prints.

Each method may be a plain function or a coroutine (``async def``): counters
are read from the switch over P4Runtime, which is asynchronous, while the BGP
and SA tables are in memory.

Key material never appears here: SAs are described by SPI, SA index and
suite; Security Handles by their length only, since they may carry SA
parameters (draft-rosen-bess-secure-l3vpn section 6).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, NotRequired, Protocol, TypedDict, runtime_checkable

# CpeIngress.drop_counter index -> reason, from p4src/include/defines.p4 (DROP_*).
DROP_REASONS: dict[int, str] = {
    1: "PORT_UNKNOWN",
    2: "RED_TO_BLACK_CLEAR",
    3: "BLACK_TO_RED_NO_SA",
    4: "CLEAR_MPLS_IN_IP",
    5: "UNKNOWN_LABEL",
    6: "VRF_MISS",
    7: "UNKNOWN_SA",
    8: "DECRYPT_FAILED",
    9: "REPLAY",
    10: "SA_TUNNEL_MISMATCH",
    11: "EXTRANET_DENIED",
    12: "BLACK_POLICY",
    13: "ESP_MALFORMED",
    14: "SA_EXPIRED",
    15: "SEQ_EXHAUSTED",
    16: "NO_BLACK_ROUTE",
    17: "ROUTE_BLACKHOLE",
    18: "NOT_IP",
    19: "NO_TUNNEL",
    20: "CRYPTO_BAD_HEADER",
    21: "UNKNOWN_VLAN",
    22: "NO_NEXTHOP",
    23: "NO_DECISION",
    24: "LABEL_STACK",
    25: "SPD_DISCARD",
    26: "SA_POLICY",
    27: "EGRESS_PORT_UNKNOWN",
}

# The kinds `sl3vpn show` knows, in the order its help lists them.
SHOW_KINDS: tuple[str, ...] = (
    "vrf",
    "routes",
    "bgp",
    "sa",
    "tunnels",
    "tables",
    "counters",
    "drops",
)


class VrfInfo(TypedDict):
    name: str
    vrf_id: int  # the P4 vrf_id the pipeline uses
    rd: str  # "65000:1"
    import_rts: list[str]
    export_rts: list[str]
    label_mode: str  # "per-vrf" | "per-prefix" ...
    ports: list[str]  # red ports bound to this VRF
    routes: int  # number of routes in the VRF


class RouteInfo(TypedDict):
    vrf: str
    prefix: str  # "10.1.0.0/16"
    family: str  # "ipv4" | "ipv6"
    local: bool  # originated here (connected/static) vs learned from a remote C-PE
    next_hop: str | None  # remote C-PE red loopback, or the local next hop
    label: int | None  # VPN label (pushed for remote, advertised for local)
    rd: str | None
    verdict: str  # "local" | "resolved" | "unresolved" | "spoof" | "no-encap" ...
    tunnel_endpoint: str | None  # black endpoint the route resolved to
    installed: bool  # written to the switch
    # Black-session routes ("10.255.0.0/24 from 203.0.113.1") that cover the next hop:
    # spoof attempts (draft section 4), reported even while a red route wins.
    spoof: list[str]


class BgpSessionInfo(TypedDict):
    neighbor: str
    remote_as: int
    color: str  # "red" | "black"
    state: str  # RFC 4271 FSM state name: Idle .. Established
    uptime: float | None  # seconds in Established, None when not established
    families: list[str]
    received: int  # prefixes in
    advertised: int  # prefixes out
    rejected: int
    last_error: str | None
    spoof_attempts: int  # black routes seen covering a red address (draft 4), ever
    spoof_routes: list[str]  # the prefixes of those present now
    # RFC 4724: prefixes kept stale, and the state (controller.bgp.show.graceful_data);
    # absent from older daemons.
    stale: NotRequired[int]
    graceful_restart: NotRequired[dict[str, object]]
    # Red routes kept but refused by a draft rule: per kind ("no-encap",
    # "duplicate-loopback", "identity") ever, and "kind prefix" of those refused now.
    refused: NotRequired[dict[str, int]]
    refused_routes: NotRequired[list[str]]
    # The session's TCP endpoints; they differ from the neighbour's address for a red
    # session in IPsec transport mode (draft 3.2: between the black loopbacks).
    remote_address: NotRequired[str]
    local_address: NotRequired[str | None]


class IkeSaInfo(TypedDict):
    local: str  # "198.51.100.11:500"
    remote: str
    state: str  # "established" | "connecting" | "rekeying" | "deleting"
    initiator: bool
    spi_i: int  # IKE SPIs (8 octets)
    spi_r: int
    suite: str  # "AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256"
    nat_t: bool  # NAT detected, IKE and ESP on UDP 4500
    established: float | None  # seconds since established
    rekey_in: float | None  # seconds until rekey
    children: int


class ChildSaInfo(TypedDict):
    name: str
    peer: str  # remote black address
    tenant: str | None  # per-tenant SA, or None for the shared/control SA
    spi_in: int
    spi_out: int
    sa_in: int  # SA index in the ESP engine / P4 tables
    sa_out: int
    suite: str  # CipherSuite value, e.g. "aes-gcm-16-256"
    mode: str  # "transport" | "tunnel"
    nat_t: bool
    encap_port: int | None  # remote UDP port when NAT-T
    established: float | None  # seconds since installed
    rekey_in: float | None
    expire_in: float | None
    packets_in: int
    bytes_in: int
    packets_out: int
    bytes_out: int
    errors: dict[str, int]  # engine error kind -> count (replay, auth, ...)


class SaStatus(TypedDict):
    ike: list[IkeSaInfo]
    child: list[ChildSaInfo]


class TunnelInfo(TypedDict):
    remote: str  # remote C-PE red loopback
    tenant: str | None
    endpoint: str | None  # black tunnel endpoint, None when unresolved
    security_handle_len: int | None  # length only: it may carry SA parameters
    # the handle as our format reads it (controller/ipsec/handle.py: no secrets in it),
    # e.g. "v1 set=0 initiates", or why it was not used ("opaque (version 7, ...)")
    security_handle: NotRequired[str | None]
    outer: NotRequired[str | None]  # where its ESP goes: endpoint, or its NAT's address
    tunnel_id: int | None  # P4 tunnel id
    sa_out: int | None  # outbound SA index, None while no SA is up
    sa_in: int | None
    child_sa: str | None
    verdict: str  # "resolved" | "unresolved" | "spoof" | "no-sa"
    via: str | None  # the route the endpoint was resolved through (spoofs: the black one)


class VrfCounter(TypedDict):
    vrf: str
    vrf_id: int
    packets: int
    bytes: int


class SaCounter(TypedDict):
    sa_index: int
    direction: str  # "in" | "out"
    spi: int
    peer: str
    packets: int
    bytes: int
    errors: dict[str, int]


class PortCounter(TypedDict):
    port: int
    name: str
    role: str  # "red" | "black" | "cpu" | "crypto"
    rx_packets: int
    rx_bytes: int
    tx_packets: int
    tx_bytes: int


class Counters(TypedDict):
    vrf: list[VrfCounter]
    sa: list[SaCounter]
    port: list[PortCounter]


class DropCount(TypedDict):
    reason: str  # DROP_REASONS name
    code: int  # drop_counter index
    packets: int
    bytes: int


@runtime_checkable
class StatusSource(Protocol):
    """The daemon's state as the control API shows it; see the module docstring."""

    def vrfs(self) -> list[VrfInfo] | Awaitable[list[VrfInfo]]: ...

    def routes(
        self, vrf: str | None = None, family: str | None = None
    ) -> list[RouteInfo] | Awaitable[list[RouteInfo]]:
        """Routes of one VRF (all when None), one family ("ipv4"/"ipv6", both when None)."""
        ...

    def bgp(self) -> list[BgpSessionInfo] | Awaitable[list[BgpSessionInfo]]: ...

    def sas(self) -> SaStatus | Awaitable[SaStatus]: ...

    def tunnels(self) -> list[TunnelInfo] | Awaitable[list[TunnelInfo]]: ...

    def tables(self) -> list[str] | Awaitable[list[str]]:
        """Switch entries as controller/p4rt canonical strings."""
        ...

    def counters(self) -> Counters | Awaitable[Counters]: ...

    def drops(self) -> list[DropCount] | Awaitable[list[DropCount]]: ...


class Record(dict[str, Any]):
    """A reply record where an absent field reads as None (renderers and metrics use it,
    so a daemon that does not fill a field yet shows '-' instead of failing)."""

    def __missing__(self, key: str) -> None:
        return None


def records(data: Any) -> Any:
    """``data`` with every dict turned into a :class:`Record`."""
    if isinstance(data, dict):
        return Record({k: records(v) for k, v in data.items()})
    if isinstance(data, list):
        return [records(v) for v in data]
    return data
