"""A small lab PKI: a CA and C-PE certificates for RFC 7427 authentication.

Deployments bring their own CA; this exists so that labs, demos and tests can
admit C-PEs by certificate without outside tooling. Keys are RSA-2048 or
ECDSA P-256/P-384; C-PE certificates carry the identity as a subjectAltName
(DNS name or IP address), which is what IKE matches the ID payload against.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


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
    """``rsa`` (2048 bits), ``ecdsa`` / ``ecdsa256`` (P-256) or ``ecdsa384`` (P-384)."""
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind in ("ecdsa", "ecdsa256"):
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ecdsa384":
        return ec.generate_private_key(ec.SECP384R1())
    raise ValueError(f"key type {kind!r}: use rsa, ecdsa256 or ecdsa384")


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


def make_ca(cn: str = "sl3vpn lab CA", kind: str = "ecdsa256", days: int = 3650) -> Issued:
    key = new_key(kind)
    name = _name(cn)
    cert = (
        _builder(name, name, key, days)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def issue(ca: Issued, identity: str, kind: str = "ecdsa256", days: int = 365) -> Issued:
    """A C-PE certificate whose subjectAltName is ``identity`` (IP address or DNS name)."""
    key = new_key(kind)
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(identity))
    except ValueError:
        san = x509.DNSName(identity)
    cert = (
        _builder(_name(identity), ca.cert.subject, key, days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()), critical=False
        )
        .sign(ca.key, hashes.SHA256())
    )
    return Issued(cert, key)
