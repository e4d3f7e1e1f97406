"""IKE SA and CHILD_SA key derivation, RFC 7296 sections 2.14, 2.17 and 2.18.

SKEYSEED = prf(Ni | Nr, g^ir)                        (new IKE SA)
SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)     (rekeyed IKE SA)
{SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
         = prf+ (SKEYSEED, Ni | Nr | SPIi | SPIr)
KEYMAT   = prf+ (SK_d, [g^ir (new) |] Ni | Nr)       (CHILD_SA)
"""

from __future__ import annotations

from dataclasses import dataclass

from controller.ipsec.ike.crypto.cipher import SkCipher, encr_keymat_len, integ_key_len
from controller.ipsec.ike.crypto.prf import PrfAlg


@dataclass(frozen=True)
class IkeSuite:
    """The negotiated IKE SA transforms."""

    encr: int
    key_bits: int
    prf: PrfAlg
    integ: int
    dh_group: int


@dataclass
class IkeKeys:
    """SK_* of one IKE SA. The repr hides them; they live only in memory."""

    sk_d: bytes
    sk_ai: bytes
    sk_ar: bytes
    sk_ei: bytes
    sk_er: bytes
    sk_pi: bytes
    sk_pr: bytes

    def __repr__(self) -> str:
        return "IkeKeys(<hidden>)"

    def ciphers(self, suite: IkeSuite, initiator: bool) -> tuple[SkCipher, SkCipher]:
        """(outbound, inbound) SK ciphers for the original initiator or responder."""
        i = SkCipher(suite.encr, suite.integ, self.sk_ei, self.sk_ai)
        r = SkCipher(suite.encr, suite.integ, self.sk_er, self.sk_ar)
        return (i, r) if initiator else (r, i)


def skeyseed(
    prf: PrfAlg, ni: bytes, nr: bytes, shared: bytes, old_sk_d: bytes | None = None
) -> bytes:
    if old_sk_d is None:
        return prf(ni + nr, shared)
    return prf(old_sk_d, shared + ni + nr)


def derive_ike_keys(
    suite: IkeSuite, seed: bytes, ni: bytes, nr: bytes, spi_i: bytes, spi_r: bytes
) -> IkeKeys:
    p = suite.prf.size  # SK_d, SK_pi, SK_pr take the PRF's preferred key size
    a = integ_key_len(suite.integ)
    e = encr_keymat_len(suite.encr, suite.key_bits)
    stream = suite.prf.plus(seed, ni + nr + spi_i + spi_r, 3 * p + 2 * a + 2 * e)
    cuts, parts, pos = [p, a, a, e, e, p, p], [], 0
    for n in cuts:
        parts.append(stream[pos : pos + n])
        pos += n
    return IkeKeys(*parts)


@dataclass
class ChildKeys:
    """ESP keys of one CHILD_SA; *_i are for initiator-to-responder traffic."""

    encr_i: bytes
    integ_i: bytes
    encr_r: bytes
    integ_r: bytes

    def __repr__(self) -> str:
        return "ChildKeys(<hidden>)"


def derive_child_keys(
    prf: PrfAlg,
    sk_d: bytes,
    ni: bytes,
    nr: bytes,
    encr: int,
    key_bits: int,
    integ: int,
    shared: bytes | None = None,
) -> ChildKeys:
    """RFC 7296 2.17: encryption key then integrity key, initiator-to-responder first."""
    e = encr_keymat_len(encr, key_bits)
    a = integ_key_len(integ)
    km = prf.plus(sk_d, (shared or b"") + ni + nr, 2 * (e + a))
    return ChildKeys(km[:e], km[e : e + a], km[e + a : 2 * e + a], km[2 * e + a :])
