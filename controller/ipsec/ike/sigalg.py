"""RFC 7427 signature algorithms: the AlgorithmIdentifier in AUTH, signing and verifying.

AUTH data (method 14) = one octet length | AlgorithmIdentifier (DER) | signature.
Recognised by object identifier, so absent or NULL parameters both read:

  sha{256,384,512}WithRSAEncryption  RSASSA-PKCS1-v1_5 (RFC 8017)
  id-RSASSA-PSS                      RSASSA-PSS with SHA-2, MGF1 of the same hash
  ecdsa-with-SHA{256,384,512}        ECDSA, DER Ecdsa-Sig-Value (RFC 7427 3)
  id-Ed25519                         pure EdDSA over the signed octets (RFC 8420)

We sign with PKCS#1 v1.5 + SHA-256 (RSA), ECDSA with the curve's hash, or
Ed25519: what strongSwan verifies by default. PSS is verified, not produced.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

# DER object identifiers (content octets)
_RSA_PKCS1: dict[bytes, hashes.HashAlgorithm] = {
    bytes.fromhex("2a864886f70d01010b"): hashes.SHA256(),
    bytes.fromhex("2a864886f70d01010c"): hashes.SHA384(),
    bytes.fromhex("2a864886f70d01010d"): hashes.SHA512(),
}
_ECDSA: dict[bytes, hashes.HashAlgorithm] = {
    bytes.fromhex("2a8648ce3d040302"): hashes.SHA256(),
    bytes.fromhex("2a8648ce3d040303"): hashes.SHA384(),
    bytes.fromhex("2a8648ce3d040304"): hashes.SHA512(),
}
_SHA2: dict[bytes, hashes.HashAlgorithm] = {
    bytes.fromhex("608648016503040201"): hashes.SHA256(),
    bytes.fromhex("608648016503040202"): hashes.SHA384(),
    bytes.fromhex("608648016503040203"): hashes.SHA512(),
}
_PSS = bytes.fromhex("2a864886f70d01010a")
_MGF1 = bytes.fromhex("2a864886f70d010108")
_ED25519 = bytes.fromhex("2b6570")


class BadAlgorithm(ValueError):
    """An AlgorithmIdentifier we cannot read or do not accept (the text says which)."""


@dataclass(frozen=True)
class SigAlg:
    kind: str  # rsa, rsa-pss, ecdsa, ed25519
    hash: hashes.HashAlgorithm | None = None
    salt: int = 0  # RSASSA-PSS salt length

    def __str__(self) -> str:
        return self.kind + (f"-{self.hash.name}" if self.hash is not None else "")


def _tlv(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """One DER element at ``pos``: tag, contents, position after it."""
    if pos + 2 > len(data):
        raise BadAlgorithm("truncated DER")
    tag, n, pos = data[pos], data[pos + 1], pos + 2
    if n & 0x80:
        width = n & 0x7F
        if width == 0 or width > 3 or pos + width > len(data):
            raise BadAlgorithm("bad DER length")
        n, pos = int.from_bytes(data[pos : pos + width], "big"), pos + width
    if pos + n > len(data):
        raise BadAlgorithm("truncated DER")
    return tag, data[pos : pos + n], pos + n


def _elements(data: bytes) -> list[tuple[int, bytes]]:
    out, pos = [], 0
    while pos < len(data):
        tag, value, pos = _tlv(data, pos)
        out.append((tag, value))
    return out


def _oid_and_params(der: bytes) -> tuple[bytes, bytes | None]:
    tag, seq, end = _tlv(der, 0)
    if tag != 0x30 or end != len(der):
        raise BadAlgorithm("AlgorithmIdentifier is not one DER SEQUENCE")
    parts = _elements(seq)
    if not parts or parts[0][0] != 0x06:
        raise BadAlgorithm("AlgorithmIdentifier without an object identifier")
    params = None
    if len(parts) > 1 and parts[1][0] != 0x05:  # NULL parameters count as none
        params = _raw(seq, 1)
    return parts[0][1], params


def _raw(seq: bytes, index: int) -> bytes:
    """The ``index``-th element of ``seq`` with its tag and length."""
    pos = 0
    for _ in range(index):
        pos = _tlv(seq, pos)[2]
    return seq[pos : _tlv(seq, pos)[2]]


def _sha2(der: bytes, what: str) -> hashes.HashAlgorithm:
    oid, _params = _oid_and_params(der)
    if oid not in _SHA2:
        raise BadAlgorithm(f"RSASSA-PSS {what} is not SHA-256/384/512")
    return _SHA2[oid]


def _pss(params: bytes | None) -> SigAlg:
    if params is None:
        raise BadAlgorithm("RSASSA-PSS with default (SHA-1) parameters")
    tag, body, _ = _tlv(params, 0)
    if tag != 0x30:
        raise BadAlgorithm("RSASSA-PSS parameters are not a SEQUENCE")
    fields = dict(_elements(body))
    if 0xA0 not in fields:
        raise BadAlgorithm("RSASSA-PSS with the default (SHA-1) hash")
    h = _sha2(fields[0xA0], "hash")
    mgf = fields.get(0xA1)
    if mgf is None or _oid_and_params(mgf)[0] != _MGF1:
        raise BadAlgorithm("RSASSA-PSS mask generation is not MGF1")
    mgf_params = _oid_and_params(mgf)[1]
    if mgf_params is None or _sha2(mgf_params, "MGF1 hash").name != h.name:
        raise BadAlgorithm("RSASSA-PSS MGF1 hash differs from the message hash")
    salt = 20
    if 0xA2 in fields:
        tag, value, _ = _tlv(fields[0xA2], 0)
        salt = int.from_bytes(value, "big")
    return SigAlg("rsa-pss", h, salt)


def parse(der: bytes) -> SigAlg:
    """The signature scheme an RFC 7427 AlgorithmIdentifier names."""
    oid, params = _oid_and_params(der)
    if oid in _RSA_PKCS1:
        return SigAlg("rsa", _RSA_PKCS1[oid])
    if oid in _ECDSA:
        return SigAlg("ecdsa", _ECDSA[oid])
    if oid == _ED25519:
        return SigAlg("ed25519")
    if oid == _PSS:
        return _pss(params)
    raise BadAlgorithm(f"signature algorithm {der.hex()} not supported")


def _der(tag: int, body: bytes) -> bytes:
    assert len(body) < 128
    return bytes([tag, len(body)]) + body


def _alg_id(oid: bytes, null: bool) -> bytes:
    return _der(0x30, _der(0x06, oid) + (b"\x05\x00" if null else b""))


def sign(key: PrivateKey, octets: bytes) -> bytes:
    """RFC 7427 AUTH data over ``octets``."""
    if isinstance(key, rsa.RSAPrivateKey):
        alg = _alg_id(bytes.fromhex("2a864886f70d01010b"), True)
        sig = key.sign(octets, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        big = key.curve.key_size >= 384
        h: hashes.HashAlgorithm = hashes.SHA384() if big else hashes.SHA256()
        alg = _alg_id(bytes.fromhex("2a8648ce3d040303" if big else "2a8648ce3d040302"), False)
        sig = key.sign(octets, ec.ECDSA(h))
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        alg, sig = _alg_id(_ED25519, False), key.sign(octets)
    else:
        raise ValueError("only RSA, ECDSA and Ed25519 keys are supported")
    return bytes([len(alg)]) + alg + sig


def verify(public: object, alg: SigAlg, sig: bytes, octets: bytes) -> bool:
    """True if ``sig`` verifies; raises :class:`BadAlgorithm` for a key of another kind."""
    try:
        if alg.kind == "rsa" and isinstance(public, rsa.RSAPublicKey):
            assert alg.hash is not None
            public.verify(sig, octets, padding.PKCS1v15(), alg.hash)
        elif alg.kind == "rsa-pss" and isinstance(public, rsa.RSAPublicKey):
            assert alg.hash is not None
            pss = padding.PSS(padding.MGF1(alg.hash), alg.salt)
            public.verify(sig, octets, pss, alg.hash)
        elif alg.kind == "ecdsa" and isinstance(public, ec.EllipticCurvePublicKey):
            assert alg.hash is not None
            public.verify(sig, octets, ec.ECDSA(alg.hash))
        elif alg.kind == "ed25519" and isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(sig, octets)
        else:
            raise BadAlgorithm(f"{alg} signature from a {type(public).__name__}")
    except InvalidSignature:
        return False
    return True
