"""`sl3vpn ike-pki`: issue a lab CA and C-PE certificates for IKE certificate auth.

    sl3vpn ike-pki DIR --identity cpe1.example.net --identity 192.0.2.1 [--key rsa]

writes DIR/ca.pem (+ ca.key.pem, kept for issuing more later) and, per identity,
DIR/<identity>.pem and DIR/<identity>.key.pem (private keys mode 0600). An
existing DIR/ca.pem + ca.key.pem is reused, so new C-PEs join the same CA.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ike-pki", help="issue a lab CA and C-PE certificates for IKE (RFC 7427)")
    p.add_argument("dir", help="output directory")
    p.add_argument("--identity", action="append", default=[], help="C-PE identity (repeatable)")
    p.add_argument("--key", default="ecdsa256", choices=["rsa", "ecdsa256", "ecdsa384"])
    p.set_defaults(func=run)


def _write(path: Path, data: bytes, secret: bool = False) -> None:
    path.write_bytes(data)
    if secret:
        os.chmod(path, 0o600)


def run(args: argparse.Namespace) -> int:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from controller.ipsec.ike.pki import Issued, issue, make_ca

    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    ca_pem, ca_key = out / "ca.pem", out / "ca.key.pem"
    if ca_pem.exists() and ca_key.exists():
        try:
            key = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
            cert = x509.load_pem_x509_certificate(ca_pem.read_bytes())
        except ValueError as exc:
            print(f"sl3vpn ike-pki: {ca_pem} / {ca_key}: not a usable CA: {exc}")
            return 1
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            print(f"sl3vpn ike-pki: {ca_key}: only RSA and ECDSA CA keys are supported")
            return 1
        ca = Issued(cert, key)
    else:
        ca = make_ca()
        _write(ca_pem, ca.cert_pem)
        _write(ca_key, ca.key_pem, secret=True)
    for ident in args.identity:
        if "/" in ident or not ident:
            print(f"sl3vpn ike-pki: identity {ident!r} cannot name a file")
            return 1
        cpe = issue(ca, ident, args.key)
        _write(out / f"{ident}.pem", cpe.cert_pem)
        _write(out / f"{ident}.key.pem", cpe.key_pem, secret=True)
        print(f"{ident}: {out / (ident + '.pem')}")
    return 0
