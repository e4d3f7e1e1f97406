"""A small lab PKI: a CA and C-PE certificates for RFC 7427 authentication.

Deployments bring their own CA; this exists so that labs, demos and tests can
admit C-PEs by certificate without outside tooling. Keys are RSA-2048, ECDSA
P-256/P-384 or Ed25519; C-PE certificates carry the identity as a
subjectAltName (DNS name or IP address), which is what IKE matches the ID
payload against, and may bind red loopbacks (``peerid.red_loopback_name``).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from controller.ipsec.ike.peerid import red_loopback_name
from controller.ipsec.ike.sigalg import PrivateKey

KINDS = ("rsa", "ecdsa256", "ecdsa384", "ed25519")


@dataclass
class Issued:
    cert: x509.Certificate
    key: PrivateKey

    def __repr__(self) -> str:
        return f"Issued({self.cert.subject.rfc4514_string()}, key=<hidden>)"

    @property
    def cert_der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def new_key(kind: str) -> PrivateKey:
    """``rsa`` (2048 bits), ``ecdsa`` / ``ecdsa256`` (P-256), ``ecdsa384`` (P-384), ``ed25519``."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind in ("ecdsa", "ecdsa256"):
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ecdsa384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"key type {kind!r}: use {', '.join(KINDS)}")


def _hash(key: PrivateKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sl3vpn lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, key: PrivateKey, days: int
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
    )


def make_ca(
    cn: str = "sl3vpn lab CA",
    kind: str = "ecdsa256",
    days: int = 3650,
    parent: Issued | None = None,
) -> Issued:
    """A self-signed CA, or with ``parent`` an intermediate CA it signs."""
    key = new_key(kind)
    name = _name(cn)
    signer = parent.key if parent is not None else key
    issuer = parent.cert.subject if parent is not None else name
    cert = (
        _builder(name, issuer, key, days)
        .add_extension(
            x509.BasicConstraints(ca=True, path_length=None if parent is None else 0),
            critical=True,
        )
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(signer, _hash(signer))
    )
    return Issued(cert, key)


def issue(
    ca: Issued,
    identity: str,
    kind: str = "ecdsa256",
    days: int = 365,
    red_loopbacks: tuple[str, ...] = (),
) -> Issued:
    """A C-PE certificate whose subjectAltName is ``identity`` (IP address or DNS name),
    binding ``red_loopbacks`` (the red loopbacks its holder may originate)."""
    key = new_key(kind)
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(identity))
    except ValueError:
        san = x509.DNSName(identity)
    names = [san, *(red_loopback_name(a) for a in red_loopbacks)]
    usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    cert = (
        _builder(_name(identity), ca.cert.subject, key, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, _hash(ca.key))
    )
    return Issued(cert, key)
