"""Certificates for IKE: RFC 7427 signatures, chain validation against configured CAs.

RFC 7427 section 3: AUTH data = one octet ASN.1 length | AlgorithmIdentifier |
signature. We sign with PKCS#1 v1.5 (RSA) or ECDSA (DER Ecdsa-Sig-Value), SHA-256
for RSA and P-256, SHA-384 for P-384, and verify any of the AlgorithmIdentifiers below.
"""

from __future__ import annotations

import datetime
import hashlib

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from controller.ipsec.ike.wire.consts import IdType, Notify
from controller.ipsec.ike.wire.errors import IkeError
from controller.ipsec.ike.wire.ident import Identity

# RFC 7427 Appendix A: DER AlgorithmIdentifiers
ALG_IDS: dict[bytes, tuple[str, hashes.HashAlgorithm]] = {
    bytes.fromhex("300d06092a864886f70d01010b0500"): ("rsa", hashes.SHA256()),
    bytes.fromhex("300d06092a864886f70d01010c0500"): ("rsa", hashes.SHA384()),
    bytes.fromhex("300d06092a864886f70d01010d0500"): ("rsa", hashes.SHA512()),
    bytes.fromhex("300a06082a8648ce3d040302"): ("ecdsa", hashes.SHA256()),
    bytes.fromhex("300a06082a8648ce3d040303"): ("ecdsa", hashes.SHA384()),
    bytes.fromhex("300a06082a8648ce3d040304"): ("ecdsa", hashes.SHA512()),
}
_BY_NAME = {(kind, h.name): alg for alg, (kind, h) in ALG_IDS.items()}


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


def sign(key_pem: bytes, octets: bytes) -> bytes:
    key = serialization.load_pem_private_key(key_pem, password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        alg = _BY_NAME[("rsa", "sha256")]
        sig = key.sign(octets, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        h: hashes.HashAlgorithm = hashes.SHA384() if key.curve.key_size >= 384 else hashes.SHA256()
        alg = _BY_NAME[("ecdsa", h.name)]
        sig = key.sign(octets, ec.ECDSA(h))
    else:
        raise ValueError("only RSA and ECDSA keys are supported")
    return bytes([len(alg)]) + alg + sig


def _fail(detail: str) -> IkeError:
    return IkeError(Notify.AUTHENTICATION_FAILED, detail)


def _identity_matches(cert: x509.Certificate, ident: Identity) -> bool:
    if ident.id_type == IdType.DER_ASN1_DN:
        return cert.subject.public_bytes() == ident.data
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    text = str(ident)
    if ident.id_type == IdType.FQDN:
        return text in san.get_values_for_type(x509.DNSName)
    if ident.id_type == IdType.RFC822_ADDR:
        return text in san.get_values_for_type(x509.RFC822Name)
    return text in {str(a) for a in san.get_values_for_type(x509.IPAddress)}


def verify_peer(
    end_der: bytes,
    chain_der: list[bytes],
    ca_der: list[bytes],
    ident: Identity,
    octets: bytes,
    auth: bytes,
) -> None:
    """Check the end certificate chains to a trusted CA, names ``ident``, and signed ``octets``."""
    try:
        end = x509.load_der_x509_certificate(end_der)
        intermediates = [x509.load_der_x509_certificate(d) for d in chain_der]
        anchors = [x509.load_der_x509_certificate(d) for d in ca_der]
    except ValueError as exc:
        raise _fail(f"unparsable certificate: {exc}") from None
    current = end
    for _ in range(len(intermediates) + 1):
        issuer = next((c for c in anchors if c.subject == current.issuer), None)
        if issuer is not None:
            try:
                current.verify_directly_issued_by(issuer)
            except (ValueError, TypeError, InvalidSignature) as exc:
                raise _fail(
                    f"certificate {current.subject.rfc4514_string()} not signed by its CA: {exc}"
                ) from None
            break
        nxt = next((c for c in intermediates if c.subject == current.issuer), None)
        if nxt is None:
            break
        try:
            current.verify_directly_issued_by(nxt)
        except (ValueError, TypeError, InvalidSignature):
            raise _fail("broken certificate chain") from None
        current = nxt
    else:
        issuer = None
    if issuer is None:
        raise _fail(f"certificate {end.subject.rfc4514_string()} does not chain to a trusted CA")
    now = datetime.datetime.now(datetime.UTC)
    for cert in (end, current):
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            raise _fail(f"certificate {cert.subject.rfc4514_string()} is not valid now")
    if not _identity_matches(end, ident):
        raise _fail(f"certificate does not name identity {ident}")
    if not auth or len(auth) < auth[0] + 1:
        raise _fail("RFC 7427 AUTH data truncated")
    alg, sig = auth[1 : 1 + auth[0]], auth[1 + auth[0] :]
    if alg not in ALG_IDS:
        raise _fail(f"signature algorithm {alg.hex()} not supported")
    kind, h = ALG_IDS[alg]
    pub = end.public_key()
    try:
        if kind == "rsa" and isinstance(pub, rsa.RSAPublicKey):
            pub.verify(sig, octets, padding.PKCS1v15(), h)
        elif kind == "ecdsa" and isinstance(pub, ec.EllipticCurvePublicKey):
            pub.verify(sig, octets, ec.ECDSA(h))
        else:
            raise _fail(f"{kind} signature from a {type(pub).__name__}")
    except InvalidSignature:
        raise _fail("signature in AUTH does not verify") from None
