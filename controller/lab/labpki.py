"""Certificates for a lab with ``ike_auth: certificates`` (made at ``lab up``, never committed).

One lab CA signs a certificate per node: an RR is named by its black loopback
(what the C-PEs configure as its identity); a C-PE by ``<name>.cpe.example``,
with its red loopbacks bound as URI subjectAltNames (controller/ipsec/ike/peerid.py),
so an RR that discovers it knows what it may originate without being told.
Private keys go to 0600 files beside the daemon configurations; the CA's key
is not written at all: every certificate the lab needs is issued here at once.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from controller.ipsec.ike.pki import Issued, issue, make_ca
from controller.lab.plan import LabPlan
from controller.lab.state import write_private

CPE_DOMAIN = "cpe.example"
DIR = "pki"


def cpe_identity(name: str) -> str:
    return f"{name}.{CPE_DOMAIN}"


def write_pki(plan: LabPlan, directory: Path, reds: dict[str, list[str]]) -> None:
    """``reds``: each C-PE's red loopbacks (the shared one first, then per tenant)."""
    out = directory / DIR
    out.mkdir(mode=0o700, exist_ok=True)
    ca = make_ca(f"{plan.topo.name} lab CA")
    (out / "ca.pem").write_bytes(ca.cert_pem)
    for rr in plan.topo.rrs:
        _write(out, rr.name, issue(ca, str(rr.black_loopback)))
    for cpe in plan.topo.cpes:
        bound = tuple(str(ipaddress.ip_address(a)) for a in reds[cpe.name])
        _write(out, cpe.name, issue(ca, cpe_identity(cpe.name), red_loopbacks=bound))


def _write(out: Path, name: str, issued: Issued) -> None:
    (out / f"{name}.pem").write_bytes(issued.cert_pem)
    write_private(out / f"{name}.key.pem", issued.key_pem.decode())


def auth(name: str, cpe_peers: bool) -> dict[str, object]:
    """The ``ike.auth`` section of node ``name``'s configuration."""
    certs: dict[str, object] = {
        "ca": [f"{DIR}/ca.pem"],
        "cert": f"{DIR}/{name}.pem",
        "key": {"file": f"{DIR}/{name}.key.pem"},
    }
    if cpe_peers:  # C-PEs meet each other by name, learnt from BGP
        certs["peer_identities"] = [f"*.{CPE_DOMAIN}"]
    return {"certificates": certs}
