"""`sl3vpn ike-pki` on bad output dirs and identities: one stderr line, DIR left as it was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit
Run = Any


@pytest.mark.parametrize(
    ("ident", "needle"),
    [
        ("", "cannot name a file"),
        ("..", "cannot name a file"),
        ("../x", "cannot name a file"),
        ("é.example", "A-label"),
        ("a" * 300, "64"),
        ("cpe3.cpe.example=10.255.0.300", "does not appear to be an IPv4 or IPv6 address"),
    ],
)
def test_bad_identity_writes_nothing(sl3vpn: Run, tmp_path: Path, ident: str, needle: str):
    out = tmp_path / "pki"
    res = sl3vpn("ike-pki", str(out), "--identity", "ok.example", "--identity", ident)
    assert res.rc == 1 and res.out == ""
    res.one_error_line("sl3vpn ike-pki: identity", needle)
    assert not out.exists() or list(out.iterdir()) == []


def test_dir_is_a_file(sl3vpn: Run, tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    res = sl3vpn("ike-pki", str(f), "--identity", "a.example")
    assert res.rc == 1
    res.one_error_line(str(f), "File exists")


def test_dir_cannot_be_created(sl3vpn: Run) -> None:
    res = sl3vpn("ike-pki", "/proc/sl3vpn-no-such-dir", "--identity", "a.example")
    assert res.rc == 1
    res.one_error_line("/proc/sl3vpn-no-such-dir")


def test_ca_key_is_a_directory(sl3vpn: Run, tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("x")
    (tmp_path / "ca.key.pem").mkdir()
    res = sl3vpn("ike-pki", str(tmp_path), "--identity", "a.example")
    assert res.rc == 1
    res.one_error_line(str(tmp_path / "ca.key.pem"), "Is a directory")


def test_garbage_ca_goes_to_stderr(sl3vpn: Run, tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(b"\xff\x00garbage")
    (tmp_path / "ca.key.pem").write_bytes(b"\xff\x00garbage")
    res = sl3vpn("ike-pki", str(tmp_path), "--identity", "a.example")
    assert res.rc == 1 and res.out == ""
    res.one_error_line("not a usable CA")


def test_reissue_keeps_key_private(sl3vpn: Run, tmp_path: Path) -> None:
    key = tmp_path / "a.example.key.pem"
    key.write_text("old")
    key.chmod(0o644)
    assert sl3vpn("ike-pki", str(tmp_path), "--identity", "a.example").rc == 0
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.read_bytes().startswith(b"-----BEGIN")


@pytest.mark.parametrize("keep", ["ca.pem", "ca.key.pem"])
def test_half_a_ca_is_not_overwritten(sl3vpn: Run, tmp_path: Path, keep: str) -> None:
    assert sl3vpn("ike-pki", str(tmp_path)).rc == 0
    other = "ca.key.pem" if keep == "ca.pem" else "ca.pem"
    (tmp_path / other).unlink()
    before = (tmp_path / keep).read_bytes()
    res = sl3vpn("ike-pki", str(tmp_path), "--identity", "a.example")
    assert res.rc == 1
    res.one_error_line(str(tmp_path / keep), str(tmp_path / other))
    assert (tmp_path / keep).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [keep]


def test_ca_key_of_another_ca(sl3vpn: Run, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    assert sl3vpn("ike-pki", str(one)).rc == 0 and sl3vpn("ike-pki", str(two)).rc == 0
    (one / "ca.key.pem").write_bytes((two / "ca.key.pem").read_bytes())
    res = sl3vpn("ike-pki", str(one), "--identity", "a.example")
    assert res.rc == 1
    res.one_error_line("is not the key of")
    assert not (one / "a.example.pem").exists()


def test_encrypted_ca_key(sl3vpn: Run, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    assert sl3vpn("ike-pki", str(tmp_path)).rc == 0
    key = serialization.load_pem_private_key((tmp_path / "ca.key.pem").read_bytes(), None)
    (tmp_path / "ca.key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    res = sl3vpn("ike-pki", str(tmp_path), "--identity", "a.example")
    assert res.rc == 1
    res.one_error_line("not a usable CA")


def test_identity_binds_red_loopbacks(sl3vpn: Run, tmp_path: Path) -> None:
    from cryptography import x509

    from controller.ipsec.ike.peerid import red_loopbacks

    out = tmp_path / "pki"
    res = sl3vpn("ike-pki", str(out), "--identity", "cpe3.cpe.example=10.255.0.13,10.255.1.13",
                 "--key", "ed25519")  # fmt: skip
    assert res.rc == 0, res.out
    cert = x509.load_pem_x509_certificate((out / "cpe3.cpe.example.pem").read_bytes())
    assert [str(a) for a in red_loopbacks(cert)] == ["10.255.0.13", "10.255.1.13"]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["cpe3.cpe.example"]
