"""AUTH payload computation: PSK (RFC 7296 2.15) and digital signatures (RFC 7427).

InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, RestOfInitIDPayload)
ResponderSignedOctets = RealMessage2 | NonceIData | prf(SK_pr, RestOfRespIDPayload)
PSK AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), <SignedOctets>)
RFC 7427 AUTH data = len(AlgorithmIdentifier) | AlgorithmIdentifier | signature
"""

from __future__ import annotations

import functools
import hmac

from controller.ipsec.ike.crypto.prf import PrfAlg
from controller.ipsec.ike.wire.consts import AuthMethod, Notify
from controller.ipsec.ike.wire.errors import IkeError
from controller.ipsec.ike.wire.ident import Identity

KEY_PAD = b"Key Pad for IKEv2"


def signed_octets(
    prf: PrfAlg, real_msg: bytes, nonce: bytes, sk_p: bytes, ident: Identity
) -> bytes:
    return real_msg + nonce + prf(sk_p, ident.body())


def psk_auth(prf: PrfAlg, psk: bytes, octets: bytes) -> bytes:
    return prf(_padded_key(prf, bytes(psk)), octets)  # bytes: the memo needs a hashable key


@functools.lru_cache(maxsize=64)
def _padded_key(prf: PrfAlg, psk: bytes) -> bytes:
    """prf(Shared Secret, "Key Pad for IKEv2"): the same for every SA with this key, so
    computed once (in memory only, like the key it comes from)."""
    return prf(psk, KEY_PAD)


def verify_psk(prf: PrfAlg, psk: bytes, octets: bytes, method: int, data: bytes) -> None:
    if method != AuthMethod.PSK:
        raise IkeError(
            Notify.AUTHENTICATION_FAILED, f"peer used auth method {method}, we expect PSK"
        )
    if not hmac.compare_digest(psk_auth(prf, psk, octets), data):
        raise IkeError(Notify.AUTHENTICATION_FAILED, "pre-shared key AUTH does not verify")
