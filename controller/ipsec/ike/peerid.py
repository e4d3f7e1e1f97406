"""Who an unlisted peer may be, and what its certificate binds it to (draft 3.2).

A responder that admits peers it was never told about (a route reflector
auto-discovering C-PEs) checks their authenticated IKE identity against
patterns, in the spirit of an X.509 name constraint:

  ``*.cpe.example``      any FQDN identity below cpe.example (any depth)
  ``cpe1.cpe.example``   exactly this FQDN (case-insensitive)
  ``*@cpe.example``      any email-style identity at cpe.example
  ``198.51.100.0/24``    any IP-address identity in this prefix
  ``CN=*,O=Example``     a DN identity: RFC 4514 text, ``*`` matches one whole value

Red loopback binding: the certificate lists the red loopbacks its holder may
originate as URI subjectAltNames ``sl3vpn:red-loopback:<address>``. Why a URI
and not an IP subjectAltName: IKE matches ID_IPV4_ADDR/ID_IPV6_ADDR identities
against IP subjectAltNames (RFC 4945 3.1.1), so a red loopback there would let
the holder authenticate *as* its red loopback, and could not be told apart
from an IP address that is its identity (our C-PEs' default identity is their
black loopback). A URI of our own scheme says only "may originate"; tools that
know nothing of it ignore it (the extension is not critical).
"""

from __future__ import annotations

import ipaddress

from cryptography import x509

from controller.ipsec.ike.wire.consts import IdType
from controller.ipsec.ike.wire.ident import Identity

RED_LOOPBACK_URI = "sl3vpn:red-loopback:"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BadPattern(ValueError):
    """An identity pattern that cannot match anything (the text says why)."""


def check_pattern(pattern: str) -> None:
    """Raise :class:`BadPattern` unless ``pattern`` is one of the forms above."""
    if not pattern or pattern.strip() != pattern:
        raise BadPattern(f"identity pattern {pattern!r} is empty or has spaces around it")
    if "/" in pattern:
        try:
            ipaddress.ip_network(pattern)
        except ValueError as exc:
            raise BadPattern(f"identity pattern {pattern!r}: {exc}") from None
    elif "=" in pattern:
        try:
            x509.Name.from_rfc4514_string(pattern)
        except ValueError as exc:
            raise BadPattern(f"identity pattern {pattern!r}: not an RFC 4514 DN: {exc}") from None
    elif "*" in pattern and not (pattern.startswith(("*.", "*@")) and "*" not in pattern[1:]):
        raise BadPattern(f"identity pattern {pattern!r}: '*' only as *.domain or *@domain")


def matches(pattern: str, ident: Identity, subject: x509.Name | None = None) -> bool:
    """Does the authenticated ``ident`` fall within ``pattern``? ``subject``: the DN of
    the certificate that proved a DN identity (it equals the identity)."""
    text = str(ident)
    if "/" in pattern:
        if ident.id_type not in (IdType.IPV4_ADDR, IdType.IPV6_ADDR):
            return False
        net = ipaddress.ip_network(pattern)
        addr = ipaddress.ip_address(ident.data)
        return addr.version == net.version and addr in net
    if "=" in pattern:
        if ident.id_type != IdType.DER_ASN1_DN or subject is None:
            return False
        return subject.public_bytes() == ident.data and _dn_match(pattern, subject)
    if "@" in pattern:
        if ident.id_type != IdType.RFC822_ADDR:
            return False
        if pattern.startswith("*@"):
            return text.lower().endswith(pattern[1:].lower()) and len(text) > len(pattern) - 1
        return text.lower() == pattern.lower()
    if ident.id_type != IdType.FQDN:
        return False
    name, pat = text.lower().rstrip("."), pattern.lower().rstrip(".")
    if pat.startswith("*."):
        return name.endswith(pat[1:]) and len(name) > len(pat) - 1
    return name == pat


def _dn_match(pattern: str, subject: x509.Name) -> bool:
    """RDN by RDN in order; a ``*`` value in the pattern matches any value of its attribute."""
    want, have = x509.Name.from_rfc4514_string(pattern).rdns, subject.rdns
    if len(want) != len(have):
        return False
    for w, h in zip(want, have, strict=True):
        wa, ha = sorted(w, key=_oid), sorted(h, key=_oid)
        if len(wa) != len(ha):
            return False
        for a, b in zip(wa, ha, strict=True):
            if a.oid != b.oid or (a.value != "*" and a.value != b.value):
                return False
    return True


def _oid(attr: x509.NameAttribute) -> str:
    return attr.oid.dotted_string


def allowed(patterns: tuple[str, ...], ident: Identity, subject: x509.Name | None = None) -> bool:
    """No patterns: any identity the CA vouches for; else it must match one."""
    return not patterns or any(matches(p, ident, subject) for p in patterns)


def red_loopbacks(cert: x509.Certificate) -> list[IPAddress]:
    """The red loopbacks ``cert`` binds its holder to (URI subjectAltNames, see above)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    out: list[IPAddress] = []
    for uri in san.get_values_for_type(x509.UniformResourceIdentifier):
        if uri.lower().startswith(RED_LOOPBACK_URI):
            try:
                addr = ipaddress.ip_address(uri[len(RED_LOOPBACK_URI) :])
            except ValueError:
                continue  # a malformed entry binds nothing
            if addr not in out:
                out.append(addr)
    return out


def red_loopback_name(addr: IPAddress | str) -> x509.UniformResourceIdentifier:
    """The subjectAltName that binds ``addr`` (for issuing such certificates)."""
    return x509.UniformResourceIdentifier(f"{RED_LOOPBACK_URI}{ipaddress.ip_address(addr)}")
