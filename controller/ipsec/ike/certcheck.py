"""Is this peer certificate acceptable? Chain, validity, key usage, identity (RFC 4945 5).

Every refusal is an ``IkeError(AUTHENTICATION_FAILED)`` whose text says why in
one line (it is logged and is what the operator reads), naming the certificate.

- Chain: from the end certificate through the intermediates the peer sent to
  one of the configured CAs, each signature checked; every issuer on the way
  must be a CA (basicConstraints cA) allowed to sign certificates (keyUsage
  keyCertSign, when the extension is there).
- Validity: every certificate of the chain, CA included, is valid now.
- Key usage (RFC 4945 5.1.3.2): when the end certificate has a keyUsage, it
  allows digitalSignature or nonRepudiation; when it has an extendedKeyUsage,
  that names ipsecIKE, serverAuth, clientAuth or anyExtendedKeyUsage (what
  common CAs issue to IKE peers; anything else, e.g. codeSigning only, is refused).
- Identity (RFC 4945 3.1): the IKE ID the peer claimed is a subjectAltName of
  the end certificate of the same kind (DNS, IP, email), or its subject DN.
"""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

from controller.ipsec.ike.wire.consts import IdType, Notify
from controller.ipsec.ike.wire.errors import IkeError
from controller.ipsec.ike.wire.ident import Identity

_IKE_EKUS = {
    ExtendedKeyUsageOID.IPSEC_IKE,
    ExtendedKeyUsageOID.SERVER_AUTH,
    ExtendedKeyUsageOID.CLIENT_AUTH,
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
}
MAX_CHAIN = 8  # intermediates we follow at most


def fail(detail: str) -> IkeError:
    return IkeError(Notify.AUTHENTICATION_FAILED, detail)


def name(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or f"serial {cert.serial_number:x}"


def _ext(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
    except ValueError as exc:  # a malformed extension
        raise fail(f"certificate {name(cert)}: bad extension: {exc}") from None


def _may_issue(cert: x509.Certificate) -> None:
    bc = _ext(cert, x509.BasicConstraints)
    if not isinstance(bc, x509.BasicConstraints) or not bc.ca:
        raise fail(f"certificate {name(cert)} signs others but is not a CA (basicConstraints)")
    ku = _ext(cert, x509.KeyUsage)
    if isinstance(ku, x509.KeyUsage) and not ku.key_cert_sign:
        raise fail(f"CA {name(cert)} may not sign certificates (keyUsage lacks keyCertSign)")


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> None:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise fail(f"certificate {name(cert)} not signed by {name(issuer)}: {exc}") from None


def chain(
    end: x509.Certificate, intermediates: list[x509.Certificate], anchors: list[x509.Certificate]
) -> list[x509.Certificate]:
    """The path end → ... → trusted CA, every link checked; refused if there is none."""
    path, current = [end], end
    for _ in range(min(len(intermediates), MAX_CHAIN) + 1):
        anchor = next((c for c in anchors if c.subject == current.issuer), None)
        if anchor is not None:
            _may_issue(anchor)
            _signed_by(current, anchor)
            return [*path, anchor]
        nxt = next((c for c in intermediates if c.subject == current.issuer), None)
        if nxt is None or nxt in path:
            break
        _may_issue(nxt)
        _signed_by(current, nxt)
        path.append(nxt)
        current = nxt
    issuer = end.issuer.rfc4514_string()
    raise fail(f"certificate {name(end)} does not chain to a trusted CA (issuer {issuer})")


def valid_now(path: list[x509.Certificate], now: datetime.datetime | None = None) -> None:
    now = now or datetime.datetime.now(datetime.UTC)
    for cert in path:
        if now < cert.not_valid_before_utc:
            raise fail(f"certificate {name(cert)} is not valid before {cert.not_valid_before_utc}")
        if now > cert.not_valid_after_utc:
            raise fail(f"certificate {name(cert)} expired {cert.not_valid_after_utc}")


def usage(end: x509.Certificate) -> None:
    ku = _ext(end, x509.KeyUsage)
    if isinstance(ku, x509.KeyUsage) and not (ku.digital_signature or ku.content_commitment):
        raise fail(f"certificate {name(end)} may not sign (keyUsage lacks digitalSignature)")
    eku = _ext(end, x509.ExtendedKeyUsage)
    if isinstance(eku, x509.ExtendedKeyUsage) and not _IKE_EKUS & set(eku):
        raise fail(f"certificate {name(end)}: extendedKeyUsage allows no IKE use")


def names(end: x509.Certificate) -> x509.SubjectAlternativeName | None:
    san = _ext(end, x509.SubjectAlternativeName)
    return san if isinstance(san, x509.SubjectAlternativeName) else None


def identity(end: x509.Certificate, ident: Identity) -> None:
    """The claimed IKE ID must be named by the certificate (RFC 4945 3.1)."""
    if ident.id_type == IdType.DER_ASN1_DN:
        if end.subject.public_bytes() == ident.data:
            return
    else:
        san = names(end)
        text = str(ident)
        found: list[str] = []
        if san is not None and ident.id_type == IdType.FQDN:
            found = [n.lower() for n in san.get_values_for_type(x509.DNSName)]
            text = text.lower()
        elif san is not None and ident.id_type == IdType.RFC822_ADDR:
            found = san.get_values_for_type(x509.RFC822Name)
        elif san is not None and ident.id_type in (IdType.IPV4_ADDR, IdType.IPV6_ADDR):
            found = [str(a) for a in san.get_values_for_type(x509.IPAddress)]
        if text in found:
            return
    raise fail(f"certificate {name(end)} does not name the IKE identity {ident} (subjectAltName)")
