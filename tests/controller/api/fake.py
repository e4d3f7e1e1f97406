"""A StatusSource with the state of a small C-PE: two tenants, two red RRs, one spoof.

Some methods are coroutines, as the daemon's counters are, so the server's
"await when awaitable" path is exercised.
"""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from controller.api.source import (
    BgpSessionInfo,
    Counters,
    DropCount,
    RouteInfo,
    SaStatus,
    TunnelInfo,
    VrfInfo,
)

VRFS: list[VrfInfo] = [
    {
        "name": "blue",
        "vrf_id": 1,
        "rd": "65000:1",
        "import_rts": ["65000:1"],
        "export_rts": ["65000:1"],
        "label_mode": "per-vrf",
        "ports": ["blue0"],
        "routes": 3,
    },
    {
        "name": "green",
        "vrf_id": 2,
        "rd": "65000:2",
        "import_rts": ["65000:2", "65000:99"],
        "export_rts": ["65000:2"],
        "label_mode": "per-vrf",
        "ports": ["green0"],
        "routes": 1,
    },
]


def _route(vrf: str, prefix: str, **kw: object) -> RouteInfo:
    r: RouteInfo = {
        "vrf": vrf,
        "prefix": prefix,
        "family": "ipv6" if ":" in prefix else "ipv4",
        "local": False,
        "next_hop": "10.255.0.12",
        "label": 100,
        "rd": "65000:1",
        "verdict": "resolved",
        "tunnel_endpoint": "198.51.100.12",
        "installed": True,
        "spoof": [],
    }
    r.update(kw)  # type: ignore[typeddict-item]
    return r


ROUTES: list[RouteInfo] = [
    _route(
        "blue",
        "10.1.1.0/24",
        local=True,
        next_hop=None,
        label=16,
        tunnel_endpoint=None,
        verdict="local",
    ),
    _route("blue", "10.1.2.0/24"),
    _route("blue", "2001:db8:1:2::/64", spoof=["10.255.0.0/24 from 203.0.113.1"]),
    _route(
        "green",
        "10.1.2.0/24",
        rd="65000:2",
        label=200,
        next_hop="10.255.0.13",
        verdict="spoof",
        tunnel_endpoint=None,
        installed=False,
        spoof=["10.255.0.13/32 from 203.0.113.1", "10.255.0.0/24 from 203.0.113.1"],
    ),
    # Arrived without the MPLS-in-IPsec Tunnel Encapsulation attribute (draft 2).
    _route(
        "green",
        "10.1.3.0/24",
        rd="65000:2",
        verdict="no-encap",
        installed=False,
        tunnel_endpoint=None,
        label=201,
    ),
]

BGP: list[BgpSessionInfo] = [
    {
        "neighbor": "10.255.0.1",
        "remote_address": "198.51.100.1",
        "local_address": "198.51.100.11",
        "remote_as": 65000,
        "color": "red",
        "state": "Established",
        "uptime": 3725.4,
        "families": ["ipv4-vpn", "ipv6-vpn"],
        "received": 12,
        "advertised": 3,
        "rejected": 0,
        "last_error": None,
        "spoof_attempts": 0,
        "spoof_routes": [],
        "refused": {"no-encap": 2},
        "refused_routes": ["no-encap 65000:2:10.1.3.0/24"],
    },
    {
        "neighbor": "10.255.0.2",
        "remote_as": 65000,
        "color": "red",
        "state": "Active",
        "uptime": None,
        "families": [],
        "received": 0,
        "advertised": 0,
        "rejected": 0,
        "last_error": "connect: connection refused",
        "spoof_attempts": 0,
        "spoof_routes": [],
    },
    {
        "neighbor": "203.0.113.1",
        "remote_as": 64500,
        "color": "black",
        "state": "Established",
        "uptime": 86400.0,
        "families": ["ipv4-unicast"],
        "received": 5,
        "advertised": 1,
        "rejected": 1,
        "last_error": None,
        "spoof_attempts": 3,
        "spoof_routes": ["10.255.0.0/24", "10.255.0.13/32"],
    },
]

SAS: SaStatus = {
    "ike": [
        {
            "local": "198.51.100.11:500",
            "remote": "198.51.100.12:500",
            "state": "established",
            "initiator": True,
            "spi_i": 0x1122334455667788,
            "spi_r": 0x99AABBCCDDEEFF00,
            "suite": "AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256",
            "nat_t": False,
            "established": 600.0,
            "rekey_in": 13800.0,
            "children": 2,
        },
        {
            "local": "198.51.100.11:4500",
            "remote": "192.0.2.77:4500",
            "state": "connecting",
            "initiator": True,
            "spi_i": 0xDEADBEEF00000001,
            "spi_r": 0,
            "suite": "",
            "nat_t": True,
            "established": None,
            "rekey_in": None,
            "children": 0,
        },
    ],
    "child": [
        {
            "name": "blue",
            "peer": "198.51.100.12",
            "tenant": "blue",
            "spi_in": 0xC1000001,
            "spi_out": 0xC2000001,
            "sa_in": 1,
            "sa_out": 2,
            "suite": "aes-gcm-16-256",
            "mode": "transport",
            "nat_t": False,
            "encap_port": None,
            "established": 600.0,
            "rekey_in": 3000.0,
            "expire_in": 3600.0,
            "packets_in": 1500,
            "bytes_in": 180000,
            "packets_out": 1499,
            "bytes_out": 179880,
            "errors": {"replay": 2},
        },
        {
            "name": "control",
            "peer": "198.51.100.12",
            "tenant": None,
            "spi_in": 0xC1000002,
            "spi_out": 0xC2000002,
            "sa_in": 3,
            "sa_out": 4,
            "suite": "aes-gcm-16-128",
            "mode": "transport",
            "nat_t": True,
            "encap_port": 4500,
            "established": 590.0,
            "rekey_in": None,
            "expire_in": None,
            "packets_in": 42,
            "bytes_in": 4200,
            "packets_out": 40,
            "bytes_out": 4000,
            "errors": {},
        },
    ],
}

TUNNELS: list[TunnelInfo] = [
    {
        "remote": "10.255.0.12",
        "tenant": "blue",
        "endpoint": "198.51.100.12",
        "security_handle_len": 4,
        "tunnel_id": 1,
        "sa_out": 2,
        "sa_in": 1,
        "child_sa": "blue",
        "verdict": "resolved",
        "via": "10.255.0.12/32 red",
    },
    {
        "remote": "10.255.0.13",
        "tenant": "green",
        "endpoint": None,
        "security_handle_len": None,
        "tunnel_id": None,
        "sa_out": None,
        "sa_in": None,
        "child_sa": None,
        "verdict": "spoof",
        "via": "10.255.0.13/32 black 203.0.113.1",
    },
]

TABLES: list[str] = [
    "port_role port=1 -> set_red(vrf_id=1)",
    "port_role port=3 -> set_black()",
    "vrf_fib_v4 vrf_id=1 ipv4_dst=10.1.2.0/24 -> route_remote(label=100, tunnel_id=1)",
    "vrf_fib_v4 vrf_id=1 ipv4_dst=10.1.1.0/24 -> route_local(nexthop_id=1)",
    "tunnel_sa tunnel_id=1 -> set_sa(sa_index=2)",
]

COUNTERS: Counters = {
    "vrf": [
        {"vrf": "blue", "vrf_id": 1, "packets": 3000, "bytes": 360000},
        {"vrf": "green", "vrf_id": 2, "packets": 0, "bytes": 0},
    ],
    "sa": [
        {
            "sa_index": 1,
            "direction": "in",
            "spi": 0xC1000001,
            "peer": "198.51.100.12",
            "packets": 1500,
            "bytes": 180000,
            "errors": {"replay": 2},
        },
        {
            "sa_index": 2,
            "direction": "out",
            "spi": 0xC2000001,
            "peer": "198.51.100.12",
            "packets": 1499,
            "bytes": 179880,
            "errors": {},
        },
    ],
    "port": [
        {
            "port": 1,
            "name": "blue0",
            "role": "red",
            "rx_packets": 1500,
            "rx_bytes": 150000,
            "tx_packets": 1500,
            "tx_bytes": 150000,
        },
        {
            "port": 3,
            "name": "wan0",
            "role": "black",
            "rx_packets": 1600,
            "rx_bytes": 250000,
            "tx_packets": 1590,
            "tx_bytes": 249000,
        },
    ],
}

DROPS: list[DropCount] = [
    {"reason": "VRF_MISS", "code": 6, "packets": 7, "bytes": 700},
    {"reason": "REPLAY", "code": 9, "packets": 2, "bytes": 240},
    {"reason": "CLEAR_MPLS_IN_IP", "code": 4, "packets": 1, "bytes": 120},
]


class FakeSource:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str | None]]] = []
        self.fail: set[str] = set()  # methods that raise, to test error replies

    def _call(self, name: str, **args: str | None) -> None:
        self.calls.append((name, args))
        if name in self.fail:
            raise RuntimeError(f"{name} is broken\nsecond line")

    def vrfs(self) -> list[VrfInfo]:
        self._call("vrfs")
        return VRFS

    def routes(self, vrf: str | None = None, family: str | None = None) -> list[RouteInfo]:
        self._call("routes", vrf=vrf, family=family)
        return [r for r in ROUTES if vrf in (None, r["vrf"]) and family in (None, r["family"])]

    def bgp(self) -> list[BgpSessionInfo]:
        self._call("bgp")
        return BGP

    async def sas(self) -> SaStatus:
        self._call("sas")
        return SAS

    def tunnels(self) -> list[TunnelInfo]:
        self._call("tunnels")
        return TUNNELS

    async def tables(self) -> list[str]:
        self._call("tables")
        return TABLES

    async def counters(self) -> Counters:
        self._call("counters")
        return COUNTERS

    async def drops(self) -> list[DropCount]:
        self._call("drops")
        return DROPS


def samples(exposition: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(sample name, sorted labels) -> value, read with prometheus-client's parser."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(exposition)
        for s in fam.samples
    }
