"""Certificates for IKE: RFC 7427 signatures, peer certificates checked against our CAs.

The checks themselves are in ``certcheck`` (chain, validity, key usage,
identity) and ``peerid`` (identity patterns, red loopback binding); the
signature algorithms in ``sigalg``. Every refusal is AUTHENTICATION_FAILED
with a one-line reason.
"""

from __future__ import annotations

import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from controller.ipsec.ike import certcheck, peerid, sigalg
from controller.ipsec.ike.certcheck import fail
from controller.ipsec.ike.wire.ident import Identity


def ca_hashes(ca_der: list[bytes]) -> bytes:
    """CERTREQ data: SHA-1 of each CA's SubjectPublicKeyInfo (RFC 7296 3.7)."""
    out = b""
    for der in ca_der:
        spki = (
            x509.load_der_x509_certificate(der)
            .public_key()
            .public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        )
        out += hashlib.sha1(spki).digest()
    return out


def load_key(key_pem: bytes) -> sigalg.PrivateKey:
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, sigalg.PrivateKey):
        raise ValueError("only RSA, ECDSA and Ed25519 private keys are supported")
    return key


def sign(key: bytes | sigalg.PrivateKey, octets: bytes) -> bytes:
    """RFC 7427 AUTH data; ``key`` loaded already, or PEM (unencrypted)."""
    return sigalg.sign(load_key(key) if isinstance(key, bytes) else key, octets)


def verify_peer(
    end_der: bytes,
    chain_der: list[bytes],
    ca_der: list[bytes],
    ident: Identity,
    octets: bytes,
    auth: bytes,
    patterns: tuple[str, ...] = (),
) -> x509.Certificate:
    """Check the end certificate chains to a trusted CA, is valid and usable for IKE,
    names ``ident`` (which matches one of ``patterns``, if any), and signed ``octets``.
    Returns the end certificate."""
    try:
        end = x509.load_der_x509_certificate(end_der)
        intermediates = [x509.load_der_x509_certificate(d) for d in chain_der]
        anchors = [x509.load_der_x509_certificate(d) for d in ca_der]
    except ValueError as exc:
        raise fail(f"unparsable certificate: {exc}") from None
    path = certcheck.chain(end, intermediates, anchors)
    certcheck.valid_now(path)
    certcheck.usage(end)
    certcheck.identity(end, ident)
    if not peerid.allowed(patterns, ident, end.subject):
        raise fail(f"identity {ident} matches none of the allowed {', '.join(patterns)}")
    if not auth or len(auth) < auth[0] + 1:
        raise fail("RFC 7427 AUTH data truncated")
    try:
        alg = sigalg.parse(auth[1 : 1 + auth[0]])
        good = sigalg.verify(end.public_key(), alg, auth[1 + auth[0] :], octets)
    except sigalg.BadAlgorithm as exc:
        raise fail(str(exc)) from None
    if not good:
        raise fail(f"{alg} signature in AUTH does not verify with {certcheck.name(end)}")
    return end
