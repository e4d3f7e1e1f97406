"""Diffie-Hellman groups 14 (RFC 3526), 19/20 (RFC 5903) and 31 (RFC 8031).

Public values on the wire: MODP big-endian padded to the prime's length; ECP
the x and y coordinates concatenated (no point-format octet, RFC 5903 7); and
X25519 the 32-octet u-coordinate. Shared secrets: g^ir padded, the ECP x
coordinate, the X25519 output (all-zero is rejected, RFC 8031 2.3).
"""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from controller.ipsec.ike.wire.consts import DhGroup, Notify
from controller.ipsec.ike.wire.errors import IkeError

MODP_2048_P = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
    "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
    "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA4836"
    "1C55D39A69163FA8FD24CF5F83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804"
    "F1746C08CA18217C32905E462E36CE3BE39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6"
    "955817183995497CEA956AE515D2261898FA051015728E5A8AACAA68FFFFFFFFFFFFFFFF",
    16,
)
# RFC 3526 section 8: a 2048-bit group is worth ~110 bits; a 512-bit exponent is ample.
# The library's finite-field DH is deprecated, and modular exponentiation is all it takes.
_MODP_EXP_BITS = 512
_CURVES: dict[int, tuple[ec.EllipticCurve, int]] = {
    DhGroup.ECP_256: (ec.SECP256R1(), 32),
    DhGroup.ECP_384: (ec.SECP384R1(), 48),
}
PUBLIC_LEN: dict[int, int] = {
    DhGroup.MODP_2048: 256,
    DhGroup.ECP_256: 64,
    DhGroup.ECP_384: 96,
    DhGroup.CURVE25519: 32,
}


class DhExchange:
    """Our half of one exchange; the private key never leaves this object."""

    def __init__(self, group: int) -> None:
        if group not in PUBLIC_LEN:
            raise ValueError(f"DH group {group} not supported")
        self.group = group
        self._key: int | ec.EllipticCurvePrivateKey | x25519.X25519PrivateKey
        if group == DhGroup.MODP_2048:
            self._key = secrets.randbits(_MODP_EXP_BITS) | (1 << (_MODP_EXP_BITS - 1))
            self.public = pow(2, self._key, MODP_2048_P).to_bytes(256, "big")
        elif group in _CURVES:
            curve, _ = _CURVES[group]
            self._key = ec.generate_private_key(curve)
            pt = self._key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
            self.public = pt[1:]
        else:
            self._key = x25519.X25519PrivateKey.generate()
            self.public = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    def __repr__(self) -> str:
        return f"DhExchange(group={self.group})"

    def shared_secret(self, peer: bytes) -> bytes:
        """g^ir from the peer's public value; a bad value is INVALID_SYNTAX (RFC 7296 2.21)."""
        if len(peer) != PUBLIC_LEN[self.group]:
            raise IkeError(
                Notify.INVALID_SYNTAX, f"KE of {len(peer)} octets for group {self.group}"
            )
        try:
            if isinstance(self._key, int):
                y = int.from_bytes(peer, "big")
                if not 1 < y < MODP_2048_P - 1:
                    raise ValueError("public value out of range")
                return pow(y, self._key, MODP_2048_P).to_bytes(256, "big")
            if isinstance(self._key, ec.EllipticCurvePrivateKey):
                curve, _ = _CURVES[self.group]
                ecpub = ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + peer)
                return self._key.exchange(ec.ECDH(), ecpub)
            xpub = x25519.X25519PublicKey.from_public_bytes(peer)
            return self._key.exchange(xpub)
        except ValueError as exc:
            raise IkeError(
                Notify.INVALID_SYNTAX, f"DH group {self.group} public value: {exc}"
            ) from None
