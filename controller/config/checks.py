"""Checks that span sections, run after each section parsed on its own.

Each check yields ``(path, problem)``; the loader adds file and line. They
encode the deployment rules of the draft and of a sane switch:

- the role decides what exists: an RR has no red ports and no VRFs;
  a C-PE has a black loopback, a CPU port, a crypto port and a black port;
- a red port's VRF exists; (port, VLAN) and port numbers/names are unique;
- red BGP neighbours only where IKE can protect them (draft sections 2, 3.4):
  IKE configured and a red loopback to run the session from; a red
  neighbour's black_address (its IKE peer) is not ours and not shared;
- per-tenant red loopbacks name existing VRFs, are distinct from each other
  and from the black loopback (draft 3.1, 4); per-tenant SAs need one per VRF;
- RDs, static labels and P4 VRF ids are unique; local routes use red ports.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from controller.config.discovery import check_discovery, check_discovery_files
from controller.config.extranet import check_extranet
from controller.config.identity import check_identity
from controller.config.model import Config

Found = Iterator[tuple[str, str]]


def _dupes(items: list[tuple[str, object]], what: str) -> Found:
    seen: dict[object, str] = {}
    for path, value in items:
        if value in seen:
            yield path, f"{what} {value} is already used at {seen[value]}"
        else:
            seen[value] = path


def check_ports(cfg: Config) -> Found:
    ports = cfg.switch.ports
    yield from _dupes(
        [(f"switch.ports[{i}].port", p.port) for i, p in enumerate(ports) if p.vlan is None],
        "port number",
    )
    yield from _dupes(
        [(f"switch.ports[{i}].name", p.name) for i, p in enumerate(ports) if p.name], "port name"
    )
    yield from _dupes(
        [
            (f"switch.ports[{i}].vlan", (p.port, p.vlan))
            for i, p in enumerate(ports)
            if p.vlan is not None
        ],
        "port/VLAN",
    )
    first_role: dict[int, tuple[str, int]] = {}
    for i, port in enumerate(ports):
        role, at = first_role.setdefault(port.port, (port.role, i))
        if role != port.role:
            yield (
                f"switch.ports[{i}].role",
                (f"port {port.port} is already {role} at switch.ports[{at}] (one role per port)"),
            )
    vrfs = {v.name for v in cfg.vrfs}
    for i, port in enumerate(ports):
        if port.role == "red" and port.vrf not in vrfs:
            yield f"switch.ports[{i}].vrf", f"VRF {port.vrf!r} is not defined under vrfs"
    for role in ("cpu", "crypto"):
        found = [i for i, p in enumerate(ports) if p.role == role]
        for i in found[1:]:
            yield f"switch.ports[{i}].role", f"only one {role} port is allowed"


def check_role(cfg: Config) -> Found:
    roles = {p.role for p in cfg.switch.ports}
    if cfg.node.role == "rr":
        for i, port in enumerate(cfg.switch.ports):
            if port.role == "red":
                yield f"switch.ports[{i}].role", "a route reflector has no red ports"
        if cfg.vrfs:
            yield "vrfs", "a route reflector has no VRFs"
        return
    if cfg.loopbacks.black is None:
        yield "loopbacks.black", "a C-PE needs a black loopback (the tunnel endpoint)"
    for role in ("cpu", "crypto", "black"):
        if role not in roles:
            yield "switch.ports", f"a C-PE needs a {role} port"


def check_loopbacks(cfg: Config) -> Found:
    lb = cfg.loopbacks
    if lb.red is not None and lb.red == lb.black:
        yield "loopbacks.red", "must differ from the black loopback (draft 3.1)"
    vrfs = {v.name for v in cfg.vrfs}
    seen = {a: "loopbacks.red" for a in (lb.red,) if a is not None}
    for tenant, addr in lb.tenants.items():
        path = f"loopbacks.tenants.{tenant}"
        if tenant not in vrfs:
            yield path, f"VRF {tenant!r} is not defined under vrfs"
        if addr == lb.black:
            yield path, "must differ from the black loopback (draft 3.1)"
        if addr in seen:
            yield path, f"address {addr} is already used at {seen[addr]}"
        seen[addr] = path
    handles: dict[bytes, str] = {}
    for key in lb.security_handles:
        path = f"loopbacks.security_handles.{key}"
        if key == "red" and lb.red is None:
            yield path, "there is no loopbacks.red"
        elif key != "red" and key not in lb.tenants:
            yield path, f"there is no loopbacks.tenants.{key}"
        data = lb.security_handle(key)
        if data is not None and data in handles:
            yield path, f"equals the handle of {handles[data]} (draft section 4: MUST be distinct)"
        elif data is not None:
            handles[data] = key
    if cfg.ike is not None and cfg.ike.per_tenant_sas:
        for i, vrf in enumerate(cfg.vrfs):
            if vrf.name not in lb.tenants:
                yield (
                    f"vrfs[{i}]",
                    (f"ike.per_tenant_sas needs loopbacks.tenants.{vrf.name} (draft section 4)"),
                )


def check_vrfs(cfg: Config) -> Found:
    yield from _dupes([(f"vrfs[{i}].name", v.name) for i, v in enumerate(cfg.vrfs)], "VRF name")
    yield from _dupes([(f"vrfs[{i}].rd", v.rd) for i, v in enumerate(cfg.vrfs)], "RD")
    yield from _dupes(
        [(f"vrfs[{i}].label", v.label) for i, v in enumerate(cfg.vrfs) if v.label is not None],
        "label",
    )
    yield from _dupes(
        [
            (f"vrfs[{i}].table_id", v.table_id)
            for i, v in enumerate(cfg.vrfs)
            if v.table_id is not None
        ],
        "VRF table id",
    )
    first, last = cfg.bgp.label_range
    red_ports = {p.name: p for p in cfg.switch.ports if p.role == "red" and p.name}
    for i, vrf in enumerate(cfg.vrfs):
        if vrf.label is not None and first <= vrf.label <= last:
            yield (
                f"vrfs[{i}].label",
                (f"static label {vrf.label} lies in the dynamic range {first}-{last}"),
            )
        for j, name in enumerate(vrf.interfaces):
            port = red_ports.get(name)
            if port is None:
                yield f"vrfs[{i}].interfaces[{j}]", f"no red port named {name!r}"
            elif port.vrf != vrf.name:
                yield f"vrfs[{i}].interfaces[{j}]", f"red port {name!r} belongs to VRF {port.vrf}"
        for j, route in enumerate(vrf.routes):
            if route.interface is not None:
                port = red_ports.get(route.interface)
                if port is None or port.vrf != vrf.name:
                    yield (
                        f"vrfs[{i}].routes[{j}].interface",
                        (f"no red port {route.interface!r} in VRF {vrf.name}"),
                    )
            if route.next_hop is not None and route.next_hop.version != route.prefix.version:
                yield f"vrfs[{i}].routes[{j}].next_hop", "address family differs from the prefix"


def check_bgp(cfg: Config) -> Found:
    neighbors = cfg.bgp.neighbors
    yield from _dupes(
        [(f"bgp.neighbors[{i}].address", n.address) for i, n in enumerate(neighbors)], "neighbour"
    )
    # One IKE peer per red neighbour: the daemon keys its control SAs by black address.
    yield from _dupes(
        [
            (f"bgp.neighbors[{i}].black_address", n.black_address)
            for i, n in enumerate(neighbors)
            if n.black_address is not None
        ],
        "black address",
    )
    red_sources = [a for a in (cfg.loopbacks.red, *cfg.loopbacks.tenants.values()) if a]
    for i, nbr in enumerate(neighbors):
        path = f"bgp.neighbors[{i}]"
        if nbr.black_address is not None:
            if nbr.type != "red":
                yield (
                    f"{path}.black_address",
                    "only a red neighbour has one (its IKE peer); a black session "
                    "goes to its own address",
                )
            elif nbr.black_address in red_sources or nbr.black_address == cfg.loopbacks.black:
                yield f"{path}.black_address", "is one of our own loopbacks"
            elif nbr.black_address == nbr.address:
                yield (
                    f"{path}.black_address",
                    "equals the red address: the red and black networks are separate "
                    "(draft section 2)",
                )
        if nbr.type == "red":
            if cfg.ike is None:
                yield path, "a red neighbour needs the ike section: red sessions run over IPsec"
            if not red_sources:
                yield path, "a red neighbour needs loopbacks.red to run the session from"
            if nbr.address in red_sources or nbr.address == cfg.loopbacks.black:
                yield f"{path}.address", "is one of our own loopbacks"
        if nbr.route_reflector_client and cfg.node.role != "rr":
            yield f"{path}.route_reflector_client", "only a route reflector has clients"


def read_secrets(cfg: Config, base_dir: Path) -> Found:
    if cfg.ike is None:
        return
    auth = cfg.ike.auth
    keys = [("ike.auth.psk", auth.psk)] + [
        (f"ike.auth.peer_psks.{ident}", secret) for ident, secret in auth.peer_psks.items()
    ]
    for where, secret in keys:
        problem = secret.resolve(base_dir) if secret is not None else None
        if problem:
            yield where, problem
    if auth.certificates is not None:
        certs = auth.certificates
        problem = certs.key.resolve(base_dir)
        if problem:
            yield "ike.auth.certificates.key", problem
        for path, name in [("ike.auth.certificates.cert", certs.cert)] + [
            (f"ike.auth.certificates.ca[{i}]", ca) for i, ca in enumerate(certs.ca)
        ]:
            file = Path(name) if Path(name).is_absolute() else base_dir / name
            if not file.is_file():
                yield path, f"file {file} does not exist"


CHECKS = (
    check_role,
    check_ports,
    check_loopbacks,
    check_vrfs,
    check_bgp,
    check_identity,
    check_discovery,
    check_extranet,
)


def run_checks(
    cfg: Config, base_dir: Path, *, resolve_secrets: bool = True
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for check in CHECKS:
        found.extend(check(cfg))
    if resolve_secrets:
        found.extend(read_secrets(cfg, base_dir))
        found.extend(check_discovery_files(cfg, base_dir))
    return found
