"""Peer certificate checks (certcheck), identity patterns and red loopback binding (peerid),
RFC 7427 signature algorithms (sigalg), CERT/CERTREQ codecs."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from controller.ipsec.ike import peerid, sigalg
from controller.ipsec.ike.pki import Issued, issue, make_ca, new_key
from controller.ipsec.ike.wire.auth import CertPayload, CertReqPayload
from controller.ipsec.ike.wire.consts import Notify
from controller.ipsec.ike.wire.errors import IkeError
from controller.ipsec.ike.wire.ident import Identity
from controller.ipsec.ike.x509 import ca_hashes, sign, verify_peer

pytestmark = pytest.mark.unit
ID = "cpe1.cpe.example"
OCTETS = b"what IKE_AUTH signs"


@pytest.fixture(scope="module")
def ca() -> Issued:
    return make_ca()


def refusal(
    end: Issued,
    ca: Issued,
    ident: str = ID,
    chain: tuple[bytes, ...] = (),
    patterns: tuple[str, ...] = (),
) -> str:
    """Run the full check; return the AUTHENTICATION_FAILED reason."""
    with pytest.raises(IkeError) as err:
        verify_peer(
            end.cert_der,
            list(chain),
            [ca.cert_der],
            Identity.from_str(ident),
            OCTETS,
            sign(end.key, OCTETS),
            patterns,
        )
    assert err.value.notify == Notify.AUTHENTICATION_FAILED
    return err.value.detail


def custom(
    ca: Issued, *, days: tuple[int, int] = (-1, 30), extra: tuple[x509.ExtensionType, ...] = ()
) -> Issued:
    key = new_key("ecdsa256")
    now = datetime.datetime.now(datetime.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ID)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + datetime.timedelta(days=days[0]))
        .not_valid_after(now + datetime.timedelta(days=days[1]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(ID)]), critical=False)
    )
    for ext in extra:
        b = b.add_extension(ext, critical=False)
    return Issued(b.sign(ca.key, hashes.SHA256()), key)


@pytest.mark.parametrize("kind", ["rsa", "ecdsa256", "ecdsa384", "ed25519"])
def test_good_certificate_of_each_key_kind(ca: Issued, kind: str) -> None:
    end = issue(ca, ID, kind, red_loopbacks=("10.255.0.11",))
    cert = verify_peer(
        end.cert_der, [], [ca.cert_der], Identity.from_str(ID), OCTETS, sign(end.key, OCTETS)
    )
    assert peerid.red_loopbacks(cert) == [ipaddress.ip_address("10.255.0.11")]


def test_expired_and_not_yet_valid(ca: Issued) -> None:
    assert "expired" in refusal(custom(ca, days=(-30, -1)), ca)
    assert "not valid before" in refusal(custom(ca, days=(1, 30)), ca)


def test_certificate_from_another_ca(ca: Issued) -> None:
    why = refusal(issue(make_ca("rogue CA"), ID), ca)
    assert "does not chain to a trusted CA" in why and "rogue CA" in why


def test_identity_not_in_subject_alt_name(ca: Issued) -> None:
    why = refusal(issue(ca, "cpe2.cpe.example"), ca)
    assert f"does not name the IKE identity {ID}" in why


def test_identity_pattern_mismatch(ca: Issued) -> None:
    end = issue(ca, "cpe1.other.example")
    why = refusal(end, ca, "cpe1.other.example", patterns=("*.cpe.example",))
    assert "matches none of the allowed *.cpe.example" in why


def test_key_usage_and_extended_key_usage(ca: Issued) -> None:
    no_sign = x509.KeyUsage(False, False, True, False, False, False, False, False, False)
    assert "keyUsage lacks digitalSignature" in refusal(custom(ca, extra=(no_sign,)), ca)
    code = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING])
    assert "extendedKeyUsage allows no IKE use" in refusal(custom(ca, extra=(code,)), ca)
    ike = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.IPSEC_IKE])
    end = custom(ca, extra=(ike,))
    verify_peer(
        end.cert_der, [], [ca.cert_der], Identity.from_str(ID), OCTETS, sign(end.key, OCTETS)
    )


def test_intermediate_chain(ca: Issued) -> None:
    sub = make_ca("sub CA", parent=ca)
    end = issue(sub, ID)
    verify_peer(
        end.cert_der, [sub.cert_der], [ca.cert_der], Identity.from_str(ID), OCTETS,
        sign(end.key, OCTETS),
    )  # fmt: skip
    assert "does not chain" in refusal(end, ca)  # the peer left out the intermediate
    # an end certificate posing as an intermediate may not sign others
    fake_sub = issue(ca, "sub CA")
    forged = issue(Issued(fake_sub.cert, fake_sub.key), ID)
    assert "is not a CA" in refusal(forged, ca, chain=(fake_sub.cert_der,))


def test_signature_that_does_not_verify(ca: Issued) -> None:
    end, other = issue(ca, ID), issue(ca, ID)
    with pytest.raises(IkeError, match="signature in AUTH does not verify"):
        verify_peer(
            end.cert_der, [], [ca.cert_der], Identity.from_str(ID), OCTETS, sign(other.key, OCTETS)
        )


@pytest.mark.parametrize(
    ("pattern", "ident", "ok"),
    [
        ("*.cpe.example", "cpe1.cpe.example", True),
        ("*.cpe.example", "a.b.CPE.example", True),
        ("*.cpe.example", "cpe.example", False),
        ("*.cpe.example", "evilcpe.example", False),
        ("*.cpe.example", "10.0.0.1", False),
        ("cpe1.cpe.example", "CPE1.cpe.example", True),
        ("*@cpe.example", "rr@cpe.example", True),
        ("*@cpe.example", "rr@xcpe.example", False),
        ("198.51.100.0/24", "198.51.100.13", True),
        ("198.51.100.0/24", "198.51.101.13", False),
        ("2001:db8::/32", "198.51.100.13", False),
    ],
)
def test_identity_patterns(pattern: str, ident: str, ok: bool) -> None:
    peerid.check_pattern(pattern)
    assert peerid.matches(pattern, Identity.from_str(ident)) is ok


def test_dn_pattern_uses_the_certificate_subject() -> None:
    subject = x509.Name.from_rfc4514_string("CN=cpe9,O=Example")
    ident = Identity.from_str("CN=cpe9,O=Example")
    assert peerid.matches("CN=*,O=Example", ident, subject)
    assert not peerid.matches("CN=*,O=Other", ident, subject)


@pytest.mark.parametrize("bad", ["", " x", "cpe*.example", "*.a.*", "10.0.0.0/33", "CN"])
def test_bad_patterns_are_named(bad: str) -> None:
    if bad == "CN":  # a plain name is a valid exact pattern
        peerid.check_pattern(bad)
        return
    with pytest.raises(peerid.BadPattern, match="identity pattern"):
        peerid.check_pattern(bad)


def test_red_loopback_binding_reads_only_our_uris(ca: Issued) -> None:
    key = new_key("ecdsa256")
    names: list[x509.GeneralName] = [
        x509.DNSName(ID),
        x509.IPAddress(ipaddress.ip_address("10.255.0.99")),  # an IP SAN binds nothing
        x509.UniformResourceIdentifier("sl3vpn:red-loopback:10.255.0.11"),
        x509.UniformResourceIdentifier("sl3vpn:red-loopback:2001:db8::11"),
        x509.UniformResourceIdentifier("sl3vpn:red-loopback:not-an-address"),
        x509.UniformResourceIdentifier("https://example.com/10.255.0.12"),
    ]
    now = datetime.datetime.now(datetime.UTC)
    built = (
        x509.CertificateBuilder()
        .subject_name(ca.cert.subject)
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    assert [str(a) for a in peerid.red_loopbacks(built)] == ["10.255.0.11", "2001:db8::11"]


# -- RFC 7427 AlgorithmIdentifiers (Appendix A) -------------------------------------------

_SHA256 = "300d0609608648016503040201" + "0500"


@pytest.mark.parametrize(
    ("der", "name"),
    [
        ("300d06092a864886f70d01010b0500", "rsa-sha256"),  # A.1.2 sha256WithRSAEncryption
        ("300b06092a864886f70d01010c", "rsa-sha384"),  # parameters left out
        ("300a06082a8648ce3d040302", "ecdsa-sha256"),  # A.3.1
        ("300a06082a8648ce3d040304", "ecdsa-sha512"),
        ("300506032b6570", "ed25519"),  # RFC 8420
        (  # RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32
            "3041"
            "06092a864886f70d01010a"
            "3034"
            "a00f" + _SHA256 + "a11c301a06092a864886f70d010108" + _SHA256 + "a203020120",
            "rsa-pss-sha256",
        ),
    ],
)
def test_algorithm_identifiers(der: str, name: str) -> None:
    assert str(sigalg.parse(bytes.fromhex(der))) == name


@pytest.mark.parametrize(
    "der",
    [
        "300d06092a864886f70d0101050500",  # sha1WithRSAEncryption
        "300b06092a864886f70d01010a3000",  # PSS with default (SHA-1) parameters
        "300a06082a8648ce3d0403",  # truncated
        "3100",  # not a SEQUENCE
    ],
)
def test_algorithm_identifiers_refused(der: str) -> None:
    with pytest.raises(sigalg.BadAlgorithm):
        sigalg.parse(bytes.fromhex(der))


def test_rsa_pss_signature_verifies(ca: Issued) -> None:
    end = issue(ca, ID, "rsa")
    der = bytes.fromhex(
        "3041" "06092a864886f70d01010a" "3034"
        "a00f" + _SHA256 + "a11c301a06092a864886f70d010108" + _SHA256 + "a203020120"
    )  # fmt: skip
    assert isinstance(end.key, rsa.RSAPrivateKey)
    sig = end.key.sign(OCTETS, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    auth = bytes([len(der)]) + der + sig
    verify_peer(end.cert_der, [], [ca.cert_der], Identity.from_str(ID), OCTETS, auth)


def test_cert_and_certreq_payloads(ca: Issued) -> None:
    """CERT (3.6) and CERTREQ (3.7) bodies: encoding octet, then the data as is."""
    end = issue(ca, ID)
    cert = CertPayload(4, end.cert_der)
    assert cert.encode_body() == b"\x04" + end.cert_der
    assert CertPayload.decode_body(cert.encode_body()) == cert
    other = make_ca("second CA")
    hashes_ = ca_hashes([ca.cert_der, other.cert_der])
    spki = ca.cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert hashes_[:20] == hashlib.sha1(spki).digest() and len(hashes_) == 40
    req = CertReqPayload(4, hashes_)
    assert CertReqPayload.decode_body(req.encode_body()) == req
