"""ESP cipher transforms: AES-GCM (RFC 4106) and AES-CBC + HMAC-SHA2-256-128 (RFC 3602, 4868).

A transform turns the plaintext (payload + padding + pad length + next
header, RFC 4303 section 2) into what follows the ESP header and back:

    AES-GCM:      | IV (8) | ciphertext | ICV (16) |
                  nonce = salt (4) || IV, AAD = SPI || seq  (SPI || seq_hi || seq_lo with ESN)
    AES-CBC+HMAC: | IV (16) | ciphertext | ICV (16) |
                  ICV = HMAC-SHA-256(SPI || seq || IV || ciphertext [|| seq_hi])[:16]

Cipher objects are built once per SA so the per-packet path only calls them.
The GCM IV is the 64-bit sequence number: unique per key as RFC 4106 section 3.1
requires.  CBC IVs are random (RFC 3602 section 2.3).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from controller.ipsec.installer import CipherSuite, SaKeys

ICV_LEN = 16


class AuthError(Exception):
    """The ICV did not verify."""


class LengthError(Exception):
    """The ESP payload cannot be a valid output of this transform."""


class GcmTransform:
    """AES-GCM with a 16-octet ICV, RFC 4106."""

    block = 4  # RFC 4303 section 2.4: 4-octet alignment only
    iv_len = 8
    overhead = 8 + ICV_LEN

    __slots__ = ("_salt", "aead")

    def __init__(self, keys: SaKeys) -> None:
        self.aead = AESGCM(keys.enc_key)
        self._salt = keys.salt

    def seal(self, esp_header: bytes, seq: int, esn: bool, plaintext: bytes) -> bytes:
        iv = seq.to_bytes(8, "big")
        aad = esp_header[:4] + iv if esn else esp_header
        return iv + self.aead.encrypt(self._salt + iv, plaintext, aad)

    def open(self, esp_header: bytes, seq: int, esn: bool, body: bytes) -> bytes:
        if len(body) < self.overhead + 4:  # at least pad length + next header, aligned
            raise LengthError(f"ESP payload of {len(body)} octets too short for AES-GCM")
        iv = body[:8]
        aad = esp_header[:4] + seq.to_bytes(8, "big") if esn else esp_header
        try:
            return self.aead.decrypt(self._salt + iv, body[8:], aad)
        except InvalidTag:
            raise AuthError from None


class CbcHmacTransform:
    """AES-CBC (RFC 3602) with HMAC-SHA-256-128 (RFC 4868), encrypt-then-MAC."""

    block = 16
    iv_len = 16
    overhead = 16 + ICV_LEN

    __slots__ = ("_aes", "_mac", "_random")

    def __init__(self, keys: SaKeys, random: Callable[[int], bytes] = os.urandom) -> None:
        self._aes = algorithms.AES(keys.enc_key)
        self._mac = hmac.new(keys.auth_key, digestmod=hashlib.sha256)
        self._random = random

    def _icv(self, covered: bytes, seq: int, esn: bool) -> bytes:
        mac = self._mac.copy()
        mac.update(covered)
        if esn:  # RFC 4303 section 2.2.1: seq_hi is authenticated but not sent
            mac.update((seq >> 32).to_bytes(4, "big"))
        return mac.digest()[:ICV_LEN]

    def seal(self, esp_header: bytes, seq: int, esn: bool, plaintext: bytes) -> bytes:
        iv = self._random(16)
        enc = Cipher(self._aes, modes.CBC(iv)).encryptor()
        body = iv + enc.update(plaintext) + enc.finalize()
        return body + self._icv(esp_header + body, seq, esn)

    def open(self, esp_header: bytes, seq: int, esn: bool, body: bytes) -> bytes:
        data_len = len(body) - self.overhead
        if data_len < 16 or data_len % 16:
            raise LengthError(
                f"ESP payload of {len(body)} octets is not IV + whole AES blocks + ICV"
            )
        covered, icv = body[:-ICV_LEN], body[-ICV_LEN:]
        if not hmac.compare_digest(self._icv(esp_header + covered, seq, esn), icv):
            raise AuthError
        dec = Cipher(self._aes, modes.CBC(covered[:16])).decryptor()
        return dec.update(covered[16:]) + dec.finalize()


Transform = GcmTransform | CbcHmacTransform


def make_transform(suite: CipherSuite, keys: SaKeys) -> Transform:
    if suite.is_aead:
        return GcmTransform(keys)
    return CbcHmacTransform(keys)
