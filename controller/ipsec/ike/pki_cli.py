"""`sl3vpn ike-pki`: issue a lab CA and C-PE certificates for IKE certificate auth.

    sl3vpn ike-pki DIR --identity cpe1.example.net --identity 192.0.2.1 [--key rsa]
    sl3vpn ike-pki DIR --identity cpe3.cpe.example=10.255.0.13   # binds a red loopback

writes DIR/ca.pem (+ ca.key.pem, kept for issuing more later) and, per identity,
DIR/<identity>.pem and DIR/<identity>.key.pem (private keys mode 0600). An
existing DIR/ca.pem + ca.key.pem is reused, so new C-PEs join the same CA.
``IDENTITY=ADDR[,ADDR...]`` also binds those red loopbacks to the identity (URI
subjectAltNames, controller/ipsec/ike/peerid.py): a route reflector that
discovers the C-PE by its certificate accepts red loopback routes for them only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ike-pki", help="issue a lab CA and C-PE certificates for IKE (RFC 7427)")
    p.add_argument("dir", help="output directory")
    p.add_argument(
        "--identity",
        action="append",
        default=[],
        help="C-PE identity, optionally =RED_LOOPBACK[,...] to bind (repeatable)",
    )
    p.add_argument("--key", default="ecdsa256", choices=["rsa", "ecdsa256", "ecdsa384", "ed25519"])
    p.set_defaults(func=run)


def _write(path: Path, data: bytes, secret: bool = False) -> None:
    # A private key is created 0600 rather than chmod-ed after the fact, so it is
    # never readable by others, not even for a moment.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as f:
        if secret:
            os.fchmod(f.fileno(), 0o600)  # an existing file keeps its old mode otherwise
        f.write(data)


def _fail(message: str) -> int:
    print(f"sl3vpn ike-pki: {message}", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    # Identities are checked before anything is written, so a typo leaves DIR as it was.
    for item in args.identity:
        ident = item.partition("=")[0]
        if "/" in ident or "\0" in ident or ident in ("", ".", ".."):
            return _fail(f"identity {ident!r} cannot name a file")
    try:
        return _issue_all(args)
    except OSError as exc:
        where = exc.filename if exc.filename is not None else args.dir
        return _fail(f"{where}: {exc.strerror or exc}")


def _issue_all(args: argparse.Namespace) -> int:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    from controller.ipsec.ike.pki import Issued, issue, make_ca

    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    ca_pem, ca_key = out / "ca.pem", out / "ca.key.pem"
    if ca_pem.exists() != ca_key.exists():
        # Half a CA: making a new one would overwrite a ca.pem peers may already trust.
        have, missing = (ca_pem, ca_key) if ca_pem.exists() else (ca_key, ca_pem)
        return _fail(f"{have} exists but {missing} does not: restore it or remove both")
    if ca_pem.exists():
        try:
            key = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
            cert = x509.load_pem_x509_certificate(ca_pem.read_bytes())
        except (ValueError, TypeError) as exc:  # TypeError: the key is encrypted
            return _fail(f"{ca_pem} / {ca_key}: not a usable CA: {exc}")
        if not isinstance(
            key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
        ):
            return _fail(f"{ca_key}: only RSA, ECDSA and Ed25519 CA keys are supported")
        if key.public_key() != cert.public_key():
            # Certificates signed with it would never verify against ca.pem.
            return _fail(f"{ca_key} is not the key of {ca_pem}")
        ca, new_ca = Issued(cert, key), False
    else:
        ca, new_ca = make_ca(), True
    # Issue everything in memory first: an identity the certificate cannot carry
    # (e.g. a non-ASCII DNS name, a CN over 64 characters) then writes nothing.
    issued: list[tuple[str, Issued]] = []
    for item in args.identity:
        ident, _, reds = item.partition("=")
        try:
            bound = tuple(r.strip() for r in reds.split(",")) if reds else ()
            issued.append((ident, issue(ca, ident, args.key, red_loopbacks=bound)))
        except ValueError as exc:
            return _fail(f"identity {item!r}: {exc}")
    if new_ca:
        _write(ca_pem, ca.cert_pem)
        _write(ca_key, ca.key_pem, secret=True)
    for ident, cpe in issued:
        _write(out / f"{ident}.pem", cpe.cert_pem)
        _write(out / f"{ident}.key.pem", cpe.key_pem, secret=True)
        print(f"{ident}: {out / (ident + '.pem')}")
    return 0
