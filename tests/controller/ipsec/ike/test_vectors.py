"""Golden vectors from a real peer: strongSwan's messages and the keys charon logged.

The vector file holds what strongSwan sent us on the wire and the secrets its
own key derivation produced (charon's level-4 log). Our codecs must read and
rewrite its messages byte for byte, and our key derivation must reach the same
SKEYSEED, SK_* and CHILD_SA keys from the same inputs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.ipsec.ike.auth import psk_auth, signed_octets
from controller.ipsec.ike.crypto.cipher import SkCipher
from controller.ipsec.ike.crypto.keys import IkeSuite, derive_child_keys, derive_ike_keys, skeyseed
from controller.ipsec.ike.crypto.prf import PRFS
from controller.ipsec.ike.wire import (
    AuthPayload,
    IdiPayload,
    Message,
    NoncePayload,
    NotifyPayload,
    SaPayload,
    decode_message,
    encode_message,
)
from controller.ipsec.ike.wire.consts import DhGroup, Encr, Integ, Notify, Prf

pytestmark = pytest.mark.unit
V = json.loads((Path(__file__).parent / "vectors" / "strongswan_psk_gcm_x25519.json").read_text())
PRF = PRFS[Prf.HMAC_SHA2_256]
SUITE = IkeSuite(Encr.AES_GCM_16, 128, PRF, Integ.NONE, DhGroup.CURVE25519)
SHORT = {
    Notify.INITIAL_CONTACT: "INIT_CONTACT",
    Notify.MOBIKE_SUPPORTED: "MOBIKE_SUP",
    16399: "NO_ADD_ADDR",  # NO_ADDITIONAL_ADDRESSES (RFC 4555)
    16417: "EAP_ONLY",  # EAP_ONLY_AUTHENTICATION (RFC 5998)
    16420: "MSG_ID_SYN_SUP",  # IKEV2_MESSAGE_ID_SYNC_SUPPORTED (RFC 6311)
}


def b(name: str) -> bytes:
    return bytes.fromhex(V[name])


def plain(name: str) -> Message:
    msg = decode_message(b(name))
    assert isinstance(msg, Message)
    return msg


def nonces() -> tuple[bytes, bytes]:
    ni, nr = (
        plain("ike_sa_init_request").get(NoncePayload),
        plain("ike_sa_init_response").get(NoncePayload),
    )
    assert ni is not None and nr is not None
    return ni.nonce, nr.nonce


def test_strongswan_ike_sa_init_request_decodes_and_reencodes_identically() -> None:
    msg = plain("ike_sa_init_request")
    assert [type(p).__name__ for p in msg.payloads] == [
        "SaPayload",
        "KePayload",
        "NoncePayload",
        "NotifyPayload",
        "NotifyPayload",
        "NotifyPayload",
        "NotifyPayload",
        "NotifyPayload",
    ]
    assert msg.initiator and not msg.response and msg.message_id == 0
    notifies = [n.notify_type for n in msg.all(NotifyPayload)]
    assert notifies[:4] == [
        Notify.NAT_DETECTION_SOURCE_IP,
        Notify.NAT_DETECTION_DESTINATION_IP,
        Notify.IKEV2_FRAGMENTATION_SUPPORTED,
        Notify.SIGNATURE_HASH_ALGORITHMS,
    ]
    assert encode_message(msg) == [b("ike_sa_init_request")]
    assert encode_message(plain("ike_sa_init_response")) == [b("ike_sa_init_response")]


def test_key_derivation_matches_strongswan() -> None:
    ni, nr = nonces()
    req = plain("ike_sa_init_request")
    resp = plain("ike_sa_init_response")
    seed = skeyseed(PRF, ni, nr, b("shared_secret"))
    assert seed == b("skeyseed")
    keys = derive_ike_keys(SUITE, seed, ni, nr, req.spi_i, resp.spi_r)
    for name in ("sk_d", "sk_ei", "sk_er", "sk_pi", "sk_pr"):
        assert getattr(keys, name) == b(name), name
    assert keys.sk_ai == keys.sk_ar == b""  # AEAD: no integrity keys
    child = derive_child_keys(PRF, keys.sk_d, ni, nr, Encr.AES_GCM_16, 128, Integ.NONE)
    assert child.encr_i == b("child_encr_i") and child.encr_r == b("child_encr_r")


def test_strongswan_ike_auth_request_opens_and_its_auth_verifies() -> None:
    _ni, nr = nonces()
    cipher = SkCipher(Encr.AES_GCM_16, Integ.NONE, b("sk_ei"), b"")
    msg = decode_message(b("ike_auth_request"), cipher)
    assert isinstance(msg, Message) and msg.encrypted
    names = []
    for p in msg.payloads:
        if isinstance(p, NotifyPayload):
            names.append(f"N({SHORT[p.notify_type]})")
        else:
            names.append(
                {
                    "IdiPayload": "IDi",
                    "IdrPayload": "IDr",
                    "AuthPayload": "AUTH",
                    "SaPayload": "SA",
                    "TsiPayload": "TSi",
                    "TsrPayload": "TSr",
                }[type(p).__name__]
            )
    assert " ".join(names) == V["ike_auth_request_payloads"]
    idi, auth = msg.get(IdiPayload), msg.get(AuthPayload)
    assert idi is not None and auth is not None and str(idi.identity) == "10.66.0.2"
    octets = signed_octets(PRF, b("ike_sa_init_request"), nr, b("sk_pi"), idi.identity)
    assert auth.data == psk_auth(PRF, V["psk"].encode(), octets)
    # and the decrypted payloads re-encode to a message we can open again
    again = encode_message(msg, cipher)[0]
    assert decode_message(again, cipher) == msg


V2 = json.loads(
    (Path(__file__).parent / "vectors" / "strongswan_psk_cbc_modp2048_rekey.json").read_text()
)
SUITE2 = IkeSuite(Encr.AES_CBC, 256, PRF, Integ.HMAC_SHA2_256_128, DhGroup.MODP_2048)


def b2(name: str) -> bytes:
    return bytes.fromhex(V2[name])


def test_cbc_hmac_modp2048_keys_and_ike_rekey_match_strongswan() -> None:
    init_req, init_resp = (
        decode_message(b2("ike_sa_init_request")),
        decode_message(b2("ike_sa_init_response")),
    )
    assert isinstance(init_req, Message) and isinstance(init_resp, Message)
    ni, nr = init_req.get(NoncePayload), init_resp.get(NoncePayload)
    assert ni is not None and nr is not None
    seed = skeyseed(PRF, ni.nonce, nr.nonce, b2("shared_secret"))
    assert seed == b2("skeyseed")
    keys = derive_ike_keys(SUITE2, seed, ni.nonce, nr.nonce, init_req.spi_i, init_resp.spi_r)
    for name in ("sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr"):
        assert getattr(keys, name) == b2(name), name
    # ESP AES-CBC-256 + HMAC-SHA2-256-128: encryption key, then integrity key, per direction
    child = derive_child_keys(
        PRF, keys.sk_d, ni.nonce, nr.nonce, Encr.AES_CBC, 256, Integ.HMAC_SHA2_256_128
    )
    assert (child.encr_i, child.integ_i) == (b2("child_encr_i"), b2("child_integ_i"))
    assert (child.encr_r, child.integ_r) == (b2("child_encr_r"), b2("child_integ_r"))
    # the IKE SA rekey strongSwan initiated: SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
    c_i = SkCipher(Encr.AES_CBC, Integ.HMAC_SHA2_256_128, keys.sk_ei, keys.sk_ai)
    c_r = SkCipher(Encr.AES_CBC, Integ.HMAC_SHA2_256_128, keys.sk_er, keys.sk_ar)
    req, resp = (
        decode_message(b2("ike_rekey_request"), c_i),
        decode_message(b2("ike_rekey_response"), c_r),
    )
    assert isinstance(req, Message) and isinstance(resp, Message)
    rni, rnr = req.get(NoncePayload), resp.get(NoncePayload)
    sa_i, sa_r = req.get(SaPayload), resp.get(SaPayload)
    assert rni is not None and rnr is not None and sa_i is not None and sa_r is not None
    seed2 = skeyseed(PRF, rni.nonce, rnr.nonce, b2("rekey_shared_secret"), old_sk_d=keys.sk_d)
    assert seed2 == b2("rekey_skeyseed")
    new = derive_ike_keys(
        SUITE2, seed2, rni.nonce, rnr.nonce, sa_i.proposals[0].spi, sa_r.proposals[0].spi
    )
    for name in ("sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr"):
        assert getattr(new, name) == b2("rekey_" + name), name
    # and what we sent in that conversation opens with the keys strongSwan derived
    auth_resp = decode_message(b2("ike_auth_response"), c_r)
    assert isinstance(auth_resp, Message) and auth_resp.get(AuthPayload) is not None
