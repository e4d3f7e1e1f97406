"""Protection of the SK/SKF payload contents (RFC 7296 3.14, RFC 5282 for AEAD).

Encrypt-then-MAC (AES-CBC + HMAC-SHA2, RFC 7296 3.14 and RFC 4868):

    | IV (16) | E(payloads | padding | pad length) | ICV = HMAC(SK_a, hdr..ct)[:n] |

AES-GCM-16 (RFC 5282 5.1): IV 8 octets, nonce = salt(4, from keymat) | IV, AAD is the
message from the IKE header through the SK/SKF generic header (and, for SKF, its
fragment number and total fields), ICV 16 octets appended by GCM.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from controller.ipsec.ike.wire.consts import Encr, Integ, Notify
from controller.ipsec.ike.wire.errors import IkeError

# integrity transform -> (hash, key length, truncated ICV length), RFC 4868 2.1
INTEGS: dict[int, tuple[str, int, int]] = {
    Integ.HMAC_SHA2_256_128: ("sha256", 32, 16),
    Integ.HMAC_SHA2_384_192: ("sha384", 48, 24),
    Integ.HMAC_SHA2_512_256: ("sha512", 64, 32),
}
AEAD_ENCRS = {Encr.AES_GCM_16}
SALT_LEN = 4


def encr_keymat_len(encr: int, key_bits: int) -> int:
    """Octets of key material an ENCR transform takes from prf+ (GCM adds the salt)."""
    return key_bits // 8 + (SALT_LEN if encr in AEAD_ENCRS else 0)


def integ_key_len(integ: int) -> int:
    return 0 if integ == Integ.NONE else INTEGS[integ][1]


@dataclass
class SkCipher:
    """One direction of SK protection. ``repr`` never shows key material."""

    encr: int
    integ: int
    encr_key: bytes
    integ_key: bytes
    _gcm: AESGCM | None = field(default=None, init=False, compare=False)

    def __post_init__(self) -> None:
        self._salt = b""
        if self.encr in AEAD_ENCRS:  # built once: key set-up is not per message
            self._gcm = AESGCM(self.encr_key[:-SALT_LEN])
            self._salt = self.encr_key[-SALT_LEN:]
        # per message these are read several times: plain attributes, not properties
        self._iv_len, self._icv_len = self.iv_len, self.icv_len

    def __repr__(self) -> str:
        return f"SkCipher(encr={self.encr}, integ={self.integ}, keys=<hidden>)"

    @property
    def aead(self) -> bool:
        return self.encr in AEAD_ENCRS

    @property
    def iv_len(self) -> int:
        return 8 if self.aead else 16

    @property
    def icv_len(self) -> int:
        return 16 if self.aead else INTEGS[self.integ][2]

    def sealed_len(self, plain_len: int) -> int:
        """Length of IV + ciphertext (with padding and pad length) + ICV."""
        if self._gcm is not None:
            return self._iv_len + plain_len + 1 + self._icv_len
        padded = (plain_len + 1 + 15) // 16 * 16
        return self._iv_len + padded + self._icv_len

    def seal(self, aad: bytes, plain: bytes) -> bytes:
        """``aad``: every octet of the message before the IV, lengths already final."""
        if self._gcm is not None:
            iv = os.urandom(8)
            return iv + self._gcm.encrypt(self._salt + iv, plain + b"\0", aad)
        pad = (-(len(plain) + 1)) % 16
        iv = os.urandom(16)
        enc = Cipher(algorithms.AES(self.encr_key), modes.CBC(iv)).encryptor()
        ct = enc.update(plain + bytes(pad) + bytes([pad])) + enc.finalize()
        return iv + ct + self._icv(aad + iv + ct)

    def open(self, aad: bytes, sealed: bytes) -> bytes:
        """Verify and decrypt; an integrity failure is dropped silently (RFC 7296 2.21.2)."""
        if len(sealed) < self._iv_len + self._icv_len + 1:
            raise IkeError(None, f"encrypted payload of {len(sealed)} octets is too short")
        iv = sealed[: self._iv_len]
        if self._gcm is not None:
            try:
                plain = self._gcm.decrypt(self._salt + iv, sealed[8:], aad)
            except InvalidTag:
                raise IkeError(None, "encrypted payload failed its integrity check") from None
        else:
            ct, icv = sealed[self.iv_len : -self.icv_len], sealed[-self.icv_len :]
            if not hmac.compare_digest(icv, self._icv(aad + iv + ct)):
                raise IkeError(None, "encrypted payload failed its integrity check")
            if len(ct) % 16:
                raise IkeError(Notify.INVALID_SYNTAX, "CBC ciphertext is not a multiple of 16")
            dec = Cipher(algorithms.AES(self.encr_key), modes.CBC(iv)).decryptor()
            plain = dec.update(ct) + dec.finalize()
        pad = plain[-1]
        if pad + 1 > len(plain):
            raise IkeError(Notify.INVALID_SYNTAX, f"pad length {pad} exceeds the plaintext")
        return plain[: -(pad + 1)]

    def _icv(self, data: bytes) -> bytes:
        name, _, n = INTEGS[self.integ]
        return hmac.new(self.integ_key, data, name).digest()[:n]
