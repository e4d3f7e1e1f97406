"""The lab's static data plane: table entries and ESP SAs written by the lab itself.

Until the C-PE daemon (BGP + IKE + reconciliation) runs end to end, the lab
can still run every C-PE's real data plane: p4src/cpe.p4 on p4sim with the
ESP engine on the crypto port, forwarding real packets between namespaces. What
the daemon would learn (VPN routes from the RRs, SAs from IKE) is derived here
from the topology instead, and the SA keys are random per lab ("manual
keying", RFC 4301 section 4.5). This is pure: no I/O, so it is unit-tested.

SAs: one pair per ordered C-PE pair (``src`` encrypts, ``dst`` decrypts), or
per pair and tenant when the topology asks for per-tenant SAs. A C-PE behind
NAT is reached at its NAT's public address with UDP-encapsulated ESP (RFC
3948), and uses UDP encapsulation itself.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import struct
from dataclasses import dataclass

from controller.ipsec.installer import CipherSuite, Direction, SaKeys, SaParams, UdpEncap
from controller.lab.plan import BLACK_PORT, CpePlan, LabPlan, vpn_label
from controller.p4rt import TableEntry

SUITE = CipherSuite.AES_GCM_16_128


@dataclass(frozen=True)
class StaticSa:
    """One direction of traffic from C-PE ``src`` to C-PE ``dst`` (and tenant)."""

    src: str
    dst: str
    tenant: str | None
    spi: int
    key: bytes
    salt: bytes

    def to_json(self) -> dict[str, object]:
        return {
            "src": self.src,
            "dst": self.dst,
            "tenant": self.tenant,
            "spi": self.spi,
            "key": self.key.hex(),
            "salt": self.salt.hex(),
        }

    @classmethod
    def from_json(cls, d: dict[str, object]) -> StaticSa:
        t = d["tenant"]
        return cls(
            str(d["src"]),
            str(d["dst"]),
            None if t is None else str(t),
            int(str(d["spi"])),
            bytes.fromhex(str(d["key"])),
            bytes.fromhex(str(d["salt"])),
        )


def tunnel_keys(plan: LabPlan) -> list[tuple[str, str, str | None]]:
    """(src, dst, tenant) for every SA the topology needs, in a stable order."""
    out: list[tuple[str, str, str | None]] = []
    for a in plan.cpes:
        for b in plan.cpes:
            if a is b:
                continue
            if plan.topo.sa.per_tenant:
                shared = sorted({r.site.tenant for r in a.red} & {r.site.tenant for r in b.red})
                out += [(a.name, b.name, t) for t in shared]
            else:
                out.append((a.name, b.name, None))
    return out


def generate_sas(plan: LabPlan) -> list[StaticSa]:
    """Fresh random keys and distinct SPIs for every SA of the lab."""
    spis: set[int] = set()
    out = []
    for src, dst, tenant in tunnel_keys(plan):
        spi = 0
        while spi < 0x1000 or spi in spis:
            spi = secrets.randbits(32)
        spis.add(spi)
        out.append(
            StaticSa(
                src, dst, tenant, spi, os.urandom(SUITE.enc_key_len), os.urandom(SUITE.salt_len)
            )
        )
    return out


def outer_address(c: CpePlan) -> ipaddress.IPv4Address:
    """Where peers send a C-PE's ESP: its black loopback, or its NAT's public address."""
    return c.cpe.link_address.ip if c.nat_ns else c.cpe.black_loopback


def node_state(
    plan: LabPlan, name: str, sas: list[StaticSa]
) -> tuple[list[TableEntry], list[SaParams]]:
    """Every table entry and ESP SA of C-PE ``name``."""
    me = plan.cpe(name)
    entries: list[TableEntry] = [
        TableEntry("port_role", {"port": BLACK_PORT}, "set_black_port"),
        TableEntry("egress_port_role", {"port": BLACK_PORT}, "egress_black"),
        TableEntry("my_black_v4", {"ipv4_dst": str(me.cpe.black_loopback)}, "my_loopback"),
        TableEntry("my_black_v4", {"ipv4_dst": str(me.black_if_addr.ip)}, "my_address"),
        TableEntry(
            "black_nexthop",
            {"nexthop_id": 1},
            "set_black_nexthop",
            {"port": BLACK_PORT, "src_mac": me.black_mac, "dst_mac": me.black_gw_mac},
        ),
        TableEntry(
            "black_fib_v4", {"ipv4_dst": "0.0.0.0/0"}, "set_black_nexthop_id", {"nexthop_id": 1}
        ),
    ]
    for nh, r in enumerate(me.red, start=1):
        entries += [
            TableEntry("port_role", {"port": r.port}, "set_red_port", {"vrf_id": r.vrf_id}),
            TableEntry("egress_port_role", {"port": r.port}, "egress_red"),
            TableEntry(
                "red_nexthop",
                {"nexthop_id": nh},
                "set_red_nexthop",
                {
                    "port": r.port,
                    "src_mac": r.mac,
                    "dst_mac": r.host_mac,
                    "vlan_id": 0,
                    "vrf_id": r.vrf_id,
                },
            ),
            TableEntry(
                "vrf_fib_v4",
                {"vrf_id": r.vrf_id, "ipv4_dst": str(r.site.subnet)},
                "route_local",
                {"nexthop_id": nh},
            ),
            TableEntry(
                "vpn_label",
                {"label": vpn_label(plan.topo, r.site.tenant)},
                "set_label_vrf",
                {"vrf_id": r.vrf_id},
            ),
        ]
        if r.site.subnet6 is not None:
            entries.append(
                TableEntry(
                    "vrf_fib_v6",
                    {"vrf_id": r.vrf_id, "ipv6_dst": str(r.site.subnet6)},
                    "route_local",
                    {"nexthop_id": nh},
                )
            )
    params: list[SaParams] = []
    mine = [s for s in sas if me.name in (s.src, s.dst)]
    tunnels: dict[tuple[str, str | None], int] = {}
    for index, sa in enumerate(mine, start=1):
        outbound = sa.src == me.name
        peer = plan.cpe(sa.dst if outbound else sa.src)
        natted = me.nat_ns is not None or peer.nat_ns is not None
        params.append(
            SaParams(
                direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
                spi=sa.spi,
                sa_index=index,
                local=me.cpe.black_loopback,
                remote=outer_address(peer),
                suite=SUITE,
                keys=SaKeys(enc_key=sa.key, salt=sa.salt),
                udp_encap=UdpEncap(4500, 4500) if natted else None,
            )
        )
        tid = tunnels.setdefault((peer.name, sa.tenant), len(tunnels) + 1)
        if outbound:
            entries += [
                TableEntry(
                    "tunnel",
                    {"tunnel_id": tid},
                    "set_tunnel_v4",
                    {
                        "src_addr": str(me.cpe.black_loopback),
                        "dst_addr": str(outer_address(peer)),
                        "mtu": 1500,
                    },
                ),
                TableEntry("tunnel_sa", {"tunnel_id": tid}, "set_outbound_sa", {"sa_index": index}),
            ]
            entries += _remote_routes(plan, me, peer, sa.tenant, tid)
        else:
            entries.append(
                TableEntry(
                    "inbound_sa_v4",
                    {"sa_index": index, "ipv4_src": str(outer_address(peer))},
                    "inbound_sa_ok",
                    {"tunnel_id": tid},
                )
            )
    return entries, params


def _remote_routes(
    plan: LabPlan, me: CpePlan, peer: CpePlan, tenant: str | None, tid: int
) -> list[TableEntry]:
    """What the VPN routes from ``peer`` would install: its subnets in our VRFs."""
    ours = {r.site.tenant: r.vrf_id for r in me.red}
    out = []
    for r in peer.red:
        t = r.site.tenant
        if t not in ours or (tenant is not None and t != tenant):
            continue
        label = vpn_label(plan.topo, t)
        out.append(
            TableEntry(
                "vrf_fib_v4",
                {"vrf_id": ours[t], "ipv4_dst": str(r.site.subnet)},
                "route_remote",
                {"label": label, "tunnel_id": tid},
            )
        )
        if r.site.subnet6 is not None:
            out.append(
                TableEntry(
                    "vrf_fib_v6",
                    {"vrf_id": ours[t], "ipv6_dst": str(r.site.subnet6)},
                    "route_remote",
                    {"label": label, "tunnel_id": tid},
                )
            )
    return out


def nat_keepalive(
    src_mac: str, dst_mac: str, src: ipaddress.IPv4Address, dst: ipaddress.IPv4Address
) -> bytes:
    """An RFC 3948 section 2.2 NAT-keepalive frame: UDP 4500 -> 4500 carrying one 0xFF.

    A C-PE behind NAT sends these to every peer so that the NAT keeps (and,
    at start, creates) the mapping the peers' UDP-encapsulated ESP comes back
    through; IKE would do the same. UDP checksum zero, as the RFC says.
    """
    udp = struct.pack("!HHHH", 4500, 4500, 9, 0) + b"\xff"
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                       src.packed, dst.packed)  # fmt: skip
    csum = sum(struct.unpack("!10H", head))
    while csum > 0xFFFF:
        csum = (csum & 0xFFFF) + (csum >> 16)
    head = head[:10] + struct.pack("!H", ~csum & 0xFFFF) + head[12:]
    eth = bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", ""))
    return eth + b"\x08\x00" + head + udp


def keepalives(plan: LabPlan, name: str) -> list[bytes]:
    """The NAT-keepalive frames C-PE ``name`` sends (none unless it is behind NAT)."""
    me = plan.cpe(name)
    if me.nat_ns is None:
        return []
    return [
        nat_keepalive(me.black_mac, me.black_gw_mac, me.cpe.black_loopback, outer_address(p))
        for p in plan.cpes
        if p is not me
    ]
