"""Each lab node's daemon configuration, generated from the topology.

The files follow the daemon's own model (controller/config, see
examples/cpe1.yml and rr1.yml) and are checked with its loader as they are
written, so a topology that would give a daemon a bad configuration fails at
`lab up`, naming the node. The IKE PSK is random per lab, written once to a
0600 file beside the configurations and referenced as ``psk: {file: psk}``;
it is never printed. With ``ike_auth: certificates`` the nodes use certificates
of a lab CA instead (controller/lab/labpki.py), and with ``discovery`` the RRs
are told about no C-PE (``bgp.auto_discovery``).
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Any

import yaml

from controller.config import ConfigError, parse
from controller.lab import labpki
from controller.lab.plan import BLACK_PORT, CPU_PORT, CRYPTO_PORT, CpePlan, LabPlan
from controller.lab.state import write_private
from controller.lab.topology import BlackNode

_P4SRC = Path(__file__).resolve().parents[2] / "p4src"
# --program: the C-PE for v1model (p4sim or BMv2) or for TNA (p4sim only); the
# same table, action and packet-metadata names, so the daemon does not care.
PROGRAMS = {"v1model": str(_P4SRC / "cpe.p4"), "tna": str(_P4SRC / "cpe_tna.p4")}
PROGRAM = PROGRAMS["v1model"]


class LabConfigError(ValueError):
    """A generated daemon configuration did not validate (names node and problem)."""


def _switch(
    black_if: str, red: list[dict[str, Any]], target: str, program: str = PROGRAM
) -> dict[str, Any]:
    # `interface` binds the switch port to the namespace's veth; the daemon names the
    # kernel's TAP for a black port after `name` (wan0-h when both are equal).
    black = {"port": BLACK_PORT, "name": "wan0", "interface": "wan0", "role": "black",
             "address": black_if}  # fmt: skip
    ports = [black, *red]
    ports += [{"port": CPU_PORT, "role": "cpu"}, {"port": CRYPTO_PORT, "role": "crypto"}]
    # p4sim or bmv2 (simple_switch_grpc): the same program, address and ports.
    return {
        target: {"program": program, "grpc_address": "127.0.0.1:9559", "device_id": 1},
        "ports": ports,
    }


def _red(plan: LabPlan, node: BlackNode, **extra: object) -> dict[str, Any]:
    """A red BGP neighbour (between red loopbacks, inside IPsec; draft 3.1); its black
    loopback is the IKE peer that protects the session."""
    return {
        "address": str(node.red_loopback),
        "black_address": str(node.black_loopback),
        "as": plan.topo.asn,
        "type": "red",
        "hold_time": plan.topo.bgp_hold_time,
        "families": ["vpnv4", "vpnv6", "ipv4-unicast"],
        **extra,
    }


def _ike(plan: LabPlan, node: str, behind_nat: bool = False, cpe: bool = False) -> dict[str, Any]:
    sa = plan.topo.sa
    life: dict[str, int] = {}
    if sa.rekey_packets is not None:
        life["child_rekey_packets"] = sa.rekey_packets
    if sa.rekey_seconds is not None:
        life.update(child_rekey=sa.rekey_seconds, child_life=sa.rekey_seconds + 10)
    extra: dict[str, Any] = {"lifetimes": life} if life else {}
    if plan.topo.ike_auth == "certificates":
        extra["auth"] = labpki.auth(node, cpe_peers=cpe)
        if cpe:
            extra["local_id"] = labpki.cpe_identity(node)
    return {
        "auth": {"psk": {"file": "psk"}},
        **extra,
        "sa_mode": "eager",
        "per_tenant_sas": plan.topo.sa.per_tenant,
        "control_sa": {"mode": sa.control},
        # behind NAT: it initiates IKE to everyone, and its Security Handles say so
        "nat_traversal": {"enabled": True, "behind_nat": behind_nat},
    }


def tenant_loopback(c: CpePlan, vrf_id: int) -> ipaddress.IPv4Address:
    """Per-tenant red loopback (draft section 4): the red loopback + 256 x tenant id."""
    return c.cpe.red_loopback + 256 * vrf_id


def cpe_config(
    plan: LabPlan, c: CpePlan, run_dir: Path, target: str = "p4sim", program: str = PROGRAM
) -> dict[str, Any]:
    topo = plan.topo
    red_ports, vrfs = [], []
    for r in c.red:
        s = r.site
        addrs = [f"{s.gateway}/{s.subnet.prefixlen}"]
        routes = [{"prefix": str(s.subnet), "interface": r.ifname}]
        if s.subnet6 is not None:
            addrs.append(f"{s.gateway6}/{s.subnet6.prefixlen}")
            routes.append({"prefix": str(s.subnet6), "interface": r.ifname})
        red_ports.append(
            {
                "port": r.port,
                "name": r.ifname,
                "interface": r.ifname,
                "role": "red",
                "vrf": s.tenant,
                "address": addrs,
            }
        )
        rt = f"{topo.asn}:{r.vrf_id}"
        vrfs.append(
            {
                "name": s.tenant,
                "rd": f"{c.cpe.red_loopback}:{r.vrf_id}",  # type 1: unique per C-PE
                "import": [rt],
                "export": [rt],
                "label_mode": "per-vrf",
                "table_id": r.vrf_id,
                "interfaces": [r.ifname],
                "routes": routes,
            }
        )
    loopbacks: dict[str, Any] = {
        "black": str(c.cpe.black_loopback),
        "red": str(c.cpe.red_loopback),
    }
    if topo.sa.per_tenant:
        loopbacks["tenants"] = {r.site.tenant: str(tenant_loopback(c, r.vrf_id)) for r in c.red}
    neighbors = [_red(plan, rr) for rr in topo.rrs]
    if c.cpe.black_bgp:
        neighbors.append(
            {"address": str(c.black_gw), "as": topo.underlay.asn, "type": "black",
             "families": ["ipv4-unicast"], "hold_time": topo.bgp_hold_time}
        )  # fmt: skip  # fmt: skip
    return {
        "node": {
            "name": c.name,
            "role": "cpe",
            "as": topo.asn,
            "router_id": str(c.cpe.red_loopback),
        },
        "loopbacks": loopbacks,
        "switch": _switch(str(c.black_if_addr), red_ports, target, program),
        "vrfs": vrfs,
        "bgp": {"neighbors": neighbors},
        "ike": _ike(plan, c.name, c.nat_ns is not None, cpe=True),
        "control_socket": str(run_dir / f"{c.name}.sock"),
    }


def rr_configs(
    plan: LabPlan, run_dir: Path, target: str = "p4sim", program: str = PROGRAM
) -> dict[str, dict[str, Any]]:
    topo = plan.topo
    out = {}
    for rr in topo.rrs:
        # with discovery the RR is told about no C-PE (draft 3.2)
        clients = [] if topo.discovery else topo.cpes
        neighbors = [_red(plan, c, route_reflector_client=True) for c in clients]
        neighbors += [_red(plan, o) for o in topo.rrs if o is not rr]
        bgp: dict[str, Any] = {"cluster_id": str(rr.red_loopback), "neighbors": neighbors}
        if topo.discovery:
            bgp["auto_discovery"] = {
                "identities": [f"*.{labpki.CPE_DOMAIN}"],
                "hold_time": topo.bgp_hold_time,
            }
        out[rr.name] = {
            "node": {"name": rr.name, "role": "rr", "as": topo.asn,
                     "router_id": str(rr.red_loopback)},
            "loopbacks": {"black": str(rr.black_loopback), "red": str(rr.red_loopback)},
            "switch": _switch(str(rr.link_address), [], target, program),
            "bgp": bgp,
            "ike": _ike(plan, rr.name),
            "control_socket": str(run_dir / f"{rr.name}.sock"),
        }  # fmt: skip
    return out


def _red_loopbacks(cfg: dict[str, Any]) -> list[str]:
    lo = cfg["loopbacks"]
    return [lo["red"], *lo.get("tenants", {}).values()]


def write_configs(
    plan: LabPlan, directory: Path, target: str = "p4sim", program: str = PROGRAM
) -> dict[str, Path]:
    """Write and validate every node's configuration (switch ``target``: p4sim or bmv2);
    return node -> file."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(directory / "psk", secrets.token_urlsafe(32))
    run_dir = directory.parent
    configs = {c.name: cpe_config(plan, c, run_dir, target, program) for c in plan.cpes}
    configs.update(rr_configs(plan, run_dir, target, program))
    if plan.topo.ike_auth == "certificates":
        reds = {c.name: _red_loopbacks(configs[c.name]) for c in plan.cpes}
        labpki.write_pki(plan, directory, reds)
    files = {}
    for node, cfg in configs.items():
        path = directory / f"{node}.yml"
        text = yaml.safe_dump(cfg, sort_keys=False)
        try:
            parse(text, str(path), directory)
        except ConfigError as exc:
            raise LabConfigError(f"generated configuration for {node} is invalid: {exc}") from None
        path.write_text(text)
        files[node] = path
    return files
