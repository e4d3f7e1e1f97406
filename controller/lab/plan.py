"""From a topology to concrete names: namespaces, veth ends, MACs, switch ports.

Pure (no I/O), so the naming rules are unit-tested without root. Namespace
names start with the lab's prefix, so several labs (and test runs, whose
prefix carries the pid) coexist on one host. Interface names are local to a
namespace, so they can be short and fixed: ``wan0`` is every black port,
``<tenant>0`` a C-PE's red port for that tenant, ``eth0`` a tenant host's NIC;
the underlay router names its end of each black link after the node.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from controller.lab.topology import Cpe, Site, Topology

BLACK_PORT = 1  # every C-PE switch: port 1 is black, red ports follow from 2
CPU_PORT = 255  # p4src/include/defines.p4
CRYPTO_PORT = 254
TENANT_MTU = 1400  # leaves room for MPLS + IP + ESP(-in-UDP) on 1500-octet black links


@dataclass(frozen=True)
class End:
    """One end of a veth pair."""

    ns: str
    ifname: str
    mac: str


@dataclass(frozen=True)
class Link:
    a: End
    b: End
    mtu: int = 1500


@dataclass(frozen=True)
class RedPort:
    port: int
    ifname: str
    mac: str  # the C-PE's MAC on this port (the tenant host's gateway MAC)
    site: Site
    host_ns: str
    host_mac: str
    vrf_id: int


@dataclass(frozen=True)
class CpePlan:
    name: str
    ns: str
    index: int  # 1-based position in the topology
    cpe: Cpe
    black_mac: str
    black_gw_mac: str  # the next hop on the black link (underlay router or NAT)
    black_if_addr: ipaddress.IPv4Interface  # the C-PE's own black link address
    black_gw: ipaddress.IPv4Address
    red: list[RedPort]
    nat_ns: str | None = None


@dataclass(frozen=True)
class LabPlan:
    topo: Topology
    prefix: str
    underlay_ns: str
    cpes: list[CpePlan]
    rr_ns: dict[str, str]
    links: list[Link] = field(default_factory=list)

    @property
    def namespaces(self) -> list[str]:
        out = [self.underlay_ns, *self.rr_ns.values()]
        for c in self.cpes:
            out += [c.ns, *([c.nat_ns] if c.nat_ns else []), *(r.host_ns for r in c.red)]
        return out

    def cpe(self, name: str) -> CpePlan:
        return next(c for c in self.cpes if c.name == name)

    def hosts(self) -> list[tuple[CpePlan, RedPort]]:
        return [(c, r) for c in self.cpes for r in c.red]


def mac(node: int, port: int, side: int) -> str:
    """Locally administered unicast MACs, unique per lab: 02:5e:node:port:side:01."""
    return f"02:5e:{node:02x}:{port:02x}:{side:02x}:01"


def nat_inside(index: int) -> tuple[ipaddress.IPv4Interface, ipaddress.IPv4Interface]:
    """The private /30 between a C-PE and its NAT box: (NAT end, C-PE end)."""
    net = ipaddress.ip_network(f"10.254.{index}.0/30")
    return ipaddress.IPv4Interface(f"{net[1]}/30"), ipaddress.IPv4Interface(f"{net[2]}/30")


def vrf_id(topo: Topology, tenant: str) -> int:
    return topo.tenant(tenant).id


def vpn_label(topo: Topology, tenant: str) -> int:
    """Per-VRF label (RFC 4364 4.3.2); each C-PE interprets only its own labels."""
    return 1000 + vrf_id(topo, tenant)


def make_plan(topo: Topology, prefix: str) -> LabPlan:
    if not prefix or len(prefix) > 20 or not prefix.replace("-", "").isalnum():
        raise ValueError(f"lab prefix {prefix!r}: 1-20 letters, digits or '-'")
    under = f"{prefix}-{topo.underlay.name}"
    links: list[Link] = []
    rr_ns: dict[str, str] = {}
    for i, rr in enumerate(topo.rrs, start=100):
        rr_ns[rr.name] = f"{prefix}-{rr.name}"
        links.append(
            Link(End(under, rr.name, mac(i, 1, 2)), End(rr_ns[rr.name], "wan0", mac(i, 1, 1)))
        )
    cpes: list[CpePlan] = []
    for index, cpe in enumerate(topo.cpes, start=1):
        ns = f"{prefix}-{cpe.name}"
        black_mac, gw_mac = mac(index, BLACK_PORT, 1), mac(index, BLACK_PORT, 2)
        nat_ns = f"{prefix}-{cpe.name}nat" if cpe.behind_nat else None
        if nat_ns:
            # C-PE wan0 <-> NAT in0 (private /30), NAT out0 <-> underlay (the black link).
            links.append(Link(End(nat_ns, "in0", gw_mac), End(ns, "wan0", black_mac)))
            links.append(
                Link(End(under, cpe.name, mac(index, 9, 2)), End(nat_ns, "out0", mac(index, 9, 1)))
            )
            gw, own = nat_inside(index)
            black_if, black_gw = own, gw.ip
        else:
            links.append(Link(End(under, cpe.name, gw_mac), End(ns, "wan0", black_mac)))
            black_if, black_gw = cpe.link_address, cpe.underlay_address.ip
        red: list[RedPort] = []
        for port, site in enumerate(cpe.sites, start=BLACK_PORT + 1):
            host_ns = f"{prefix}-{cpe.name}-{site.tenant}"
            rp = RedPort(
                port=port,
                ifname=f"{site.tenant}0",
                mac=mac(index, port, 1),
                site=site,
                host_ns=host_ns,
                host_mac=mac(index, port, 2),
                vrf_id=vrf_id(topo, site.tenant),
            )
            red.append(rp)
            links.append(
                Link(End(ns, rp.ifname, rp.mac), End(host_ns, "eth0", rp.host_mac), TENANT_MTU)
            )
        cpes.append(
            CpePlan(cpe.name, ns, index, cpe, black_mac, gw_mac, black_if, black_gw, red, nat_ns)
        )
    return LabPlan(topo, prefix, under, cpes, rr_ns, links)
