from pathlib import Path

import pytest

from controller.cli import main
from controller.ipsec.ike.config import Credentials
from controller.ipsec.ike.wire.ident import Identity
from controller.ipsec.ike.x509 import sign, verify_peer

pytestmark = pytest.mark.unit


def _der(pem: bytes) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)


def test_ike_pki_issues_certificates_that_authenticate(tmp_path: Path) -> None:
    assert main(["ike-pki", str(tmp_path), "--identity", "cpe1.example.net", "--key", "rsa"]) == 0
    assert main(["ike-pki", str(tmp_path), "--identity", "192.0.2.7"]) == 0  # same CA reused
    ca = _der((tmp_path / "ca.pem").read_bytes())
    for ident in ("cpe1.example.net", "192.0.2.7"):
        creds = Credentials(
            _der((tmp_path / f"{ident}.pem").read_bytes()),
            (tmp_path / f"{ident}.key.pem").read_bytes(),
            [ca],
        )
        assert (tmp_path / f"{ident}.key.pem").stat().st_mode & 0o077 == 0
        auth = sign(creds.key_pem, b"signed octets")
        verify_peer(creds.cert_der, [], [ca], Identity.from_str(ident), b"signed octets", auth)


def test_ike_pki_refuses_a_bad_identity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ike-pki", str(tmp_path), "--identity", "../evil"]) == 1
    assert "cannot name a file" in capsys.readouterr().err
