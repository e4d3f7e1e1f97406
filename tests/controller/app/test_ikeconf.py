"""IKE settings from the daemon config: PSK and certificates, checked by negotiating.

Two C-PEs' real IKE daemons, SA databases and ESP engines are pumped against
each other in process, with configurations built by ``make_ike_config``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from controller.app.ikeconf import credentials, make_ike_config
from controller.config import Config, parse
from controller.ipsec.esp import EspEngine
from controller.ipsec.ike.config import Credentials
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.ike.pki import issue, make_ca
from controller.ipsec.sad import SaDatabase, TunnelChange
from controller.ipsec.tunnels import TunnelManager

from .ikepump import pump

pytestmark = pytest.mark.unit
A, B = "198.51.100.11", "198.51.100.12"


def config(black: str, auth: str, base: Path, local_id: str | None = None) -> Config:
    ident = f", local_id: {local_id}" if local_id else ""
    text = f"""
node: {{name: n{black[-2:]}, role: cpe, as: 65000, router_id: 192.0.2.1}}
loopbacks: {{black: {black}, red: 10.255.0.{black[-2:]}}}
switch:
  ports:
    - {{port: 3, name: wan0, role: black}}
    - {{port: 255, role: cpu}}
    - {{port: 254, role: crypto}}
ike: {{auth: {auth}{ident}}}
"""
    return parse(text, "cpe.yml", base)


class Node:
    def __init__(self, cfg: Config, me: str, creds: Credentials | None) -> None:
        self.changes: list[TunnelChange] = []
        engine = EspEngine()
        self.daemon = IkeDaemon([], spi_alloc=engine.allocate_spi)
        sad = SaDatabase(engine, ipaddress.ip_address(me), 0.5, self.changes.append)
        self.tunnels = TunnelManager(
            self.daemon, sad, me, lambda peer: make_ike_config(cfg, peer, {}, creds)
        )


def negotiate(a: Node, b: Node) -> None:
    b.tunnels.accept(A)
    a.tunnels.ensure_tunnel(B, now=0.0)
    pump({A: a, B: b})


def test_psk(tmp_path: Path) -> None:
    ca, cb = (config(x, '{psk: "k1"}', tmp_path) for x in (A, B))
    a, b = Node(ca, A, None), Node(cb, B, None)
    negotiate(a, b)
    assert [c.key[2] for c in a.changes] == ["mpls"] and [c.key[2] for c in b.changes] == ["mpls"]


def test_psk_mismatch_gives_no_sa(tmp_path: Path) -> None:
    a = Node(config(A, '{psk: "k1"}', tmp_path), A, None)
    b = Node(config(B, '{psk: "other"}', tmp_path), B, None)
    negotiate(a, b)
    assert a.changes == [] and b.changes == []


def write_pki(base: Path, identities: dict[str, str]) -> None:
    ca = make_ca()
    (base / "ca.pem").write_bytes(ca.cert_pem)
    for name, ident in identities.items():
        cert = issue(ca, ident)
        (base / f"{name}.pem").write_bytes(cert.cert_pem)
        (base / f"{name}.key").write_bytes(cert.key_pem)
        (base / f"{name}.key").chmod(0o600)


def cert_auth(name: str, peers: str = "") -> str:
    extra = f", peer_identities: [{peers!r}]" if peers else ""
    return f"{{certificates: {{ca: [ca.pem], cert: {name}.pem, key: {{file: {name}.key}}{extra}}}}}"


def test_certificates(tmp_path: Path) -> None:
    write_pki(tmp_path, {"a": A, "b": B})
    ca, cb = config(A, cert_auth("a"), tmp_path), config(B, cert_auth("b"), tmp_path)
    a = Node(ca, A, credentials(ca, tmp_path))
    b = Node(cb, B, credentials(cb, tmp_path))
    negotiate(a, b)
    assert [c.key[2] for c in a.changes] == ["mpls"] and [c.key[2] for c in b.changes] == ["mpls"]


def test_certificate_for_another_identity_is_refused(tmp_path: Path) -> None:
    write_pki(tmp_path, {"a": A, "b": "198.51.100.99"})  # B's certificate names someone else
    ca, cb = config(A, cert_auth("a"), tmp_path), config(B, cert_auth("b"), tmp_path)
    a = Node(ca, A, credentials(ca, tmp_path))
    b = Node(cb, B, credentials(cb, tmp_path))
    negotiate(a, b)
    assert a.changes == []


@pytest.mark.parametrize(("pattern", "up"), [("*.cpe.example", True), ("*.other.example", False)])
def test_cpes_named_by_fqdn_match_peer_identities(tmp_path: Path, pattern: str, up: bool) -> None:
    """C-PEs learnt from BGP are not configured: with peer_identities, any identity our CA
    vouches for that matches (here their FQDNs, not their black addresses)."""
    write_pki(tmp_path, {"a": "a.cpe.example", "b": "b.cpe.example"})
    ca = config(A, cert_auth("a", pattern), tmp_path, "a.cpe.example")
    cb = config(B, cert_auth("b", "*.cpe.example"), tmp_path, "b.cpe.example")
    a = Node(ca, A, credentials(ca, tmp_path))
    b = Node(cb, B, credentials(cb, tmp_path))
    assert make_ike_config(ca, B, {}, credentials(ca, tmp_path)).remote_id is None
    negotiate(a, b)
    assert [c.key[2] for c in a.changes] == (["mpls"] if up else [])
