"""Structured logs: JSON lines and text, and redaction of anything that looks like a key."""

from __future__ import annotations

import base64
import json
import logging
import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.api.logging import REDACTED, RedactFilter, redact, setup_logging
from controller.config.model import Logging

pytestmark = pytest.mark.unit


@pytest.fixture
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for h in root.handlers:
        h.close()
    root.handlers[:], root.level = handlers, level


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def test_json_lines(tmp_path: Path, restore_root: None) -> None:
    out = tmp_path / "d.log"
    setup_logging(Logging(level="info", format="json", file=str(out)), "cpe1")
    log = logging.getLogger("controller.ipsec")
    log.info(
        "CHILD_SA %s up with %s", "blue", "198.51.100.12", extra={"spi": 0xC1000001, "vrf": "blue"}
    )
    log.debug("not shown at info")
    try:
        raise ValueError("bad proposal")
    except ValueError:
        log.exception("IKE_AUTH failed")
    first, second = (json.loads(ln) for ln in _lines(out))
    assert set(first) == {"ts", "level", "node", "logger", "msg", "spi", "vrf"}
    assert first["ts"].endswith("Z") and first["ts"][10] == "T"
    assert (first["level"], first["node"], first["logger"]) == ("info", "cpe1", "controller.ipsec")
    assert first["msg"] == "CHILD_SA blue up with 198.51.100.12"
    assert (first["spi"], first["vrf"]) == (0xC1000001, "blue")
    assert second["level"] == "error" and second["error"] == "ValueError: bad proposal"


def test_text_lines(tmp_path: Path, restore_root: None) -> None:
    out = tmp_path / "d.log"
    setup_logging(Logging(level="debug", format="text", file=str(out)), "rr1")
    logging.getLogger("controller.bgp").debug("session %s Established", "10.255.0.1")
    (line,) = _lines(out)
    assert line.endswith(" rr1 DEBUG controller.bgp: session 10.255.0.1 Established")


KEY = bytes(range(0x80, 0xA0))  # 32 octets


@pytest.mark.parametrize(
    "leak",
    [
        KEY.hex(),
        KEY.hex().upper(),
        "0x" + KEY.hex(),
        ":".join(f"{b:02x}" for b in KEY),
        repr(KEY),
        base64.b64encode(KEY).decode(),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "text"])
def test_key_material_never_reaches_the_log(
    leak: str, fmt: str, tmp_path: Path, restore_root: None
) -> None:
    out = tmp_path / "d.log"
    setup_logging(Logging(format=fmt, file=str(out)), "cpe1")
    log = logging.getLogger("controller.ipsec.esp")
    log.warning("installing SA 3 key %s for 198.51.100.12", leak)
    log.info("extra field", extra={"blob": leak, "psk": "hunter2"})
    try:
        raise RuntimeError(f"engine refused key {leak}")
    except RuntimeError:
        log.exception("failed")
    text = out.read_text()
    assert leak not in text and KEY.hex() not in text.lower() and "hunter2" not in text
    assert text.count(REDACTED) >= 4 and "198.51.100.12" in text


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("psk=hunter2 peer=1.2.3.4", f"psk={REDACTED} peer=1.2.3.4"),
        ('{"password": "s3cret", "user": "x"}', f'{{"password": {REDACTED}, "user": "x"}}'),
        ("SK_ei: 00112233 rest", f"SK_ei: {REDACTED} rest"),
        ("private_key='abc def'", f"private_key={REDACTED}"),
    ],
)
def test_secret_names(line: str, expected: str) -> None:
    assert redact(line) == expected


@pytest.mark.parametrize(
    "line",
    [
        "CHILD_SA blue in=0xc1000001 out=0xc2000001 transport",
        "IKE SA 1122334455667788_i 99aabbccddeeff00_r established",
        "route 2001:db8:1:2::/64 via fe80::1ff:fe23:4567:890a dev blue0",
        "config /work/main/examples/three-sites/cpe1.yml loaded, socket /run/sl3vpn/cpe1.sock",
        "vrf_fib_v4 vrf_id=1 ipv4_dst=10.1.2.0/24 -> route_remote(label=100, tunnel_id=1)",
        "RD 65000:1 RT 65000:99 suite aes-gcm-16-256 AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256",
        "peer 198.51.100.12:4500 NAT-T, 2026-11-26T20:50:59.123Z, SaInstallError: bad index",
    ],
)
def test_ordinary_lines_are_left_alone(line: str) -> None:
    assert redact(line) == line


def test_random_keys_in_every_encoding() -> None:
    rng = random.Random(7303)
    for _ in range(50):
        key = rng.randbytes(rng.choice([16, 20, 32, 36, 64]))
        for enc in (key.hex(), base64.b64encode(key).decode(), repr(key)):
            got = redact(f"key material {enc} end")
            assert got == f"key material {REDACTED} end", (enc, got)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=16, max_size=64), st.text(max_size=20))
def test_hex_of_any_key_is_redacted(key: bytes, around: str) -> None:
    out = redact(f"{around} {key.hex()} {around}")
    assert key.hex() not in out


def test_bad_log_arguments_keep_the_record() -> None:
    record = logging.LogRecord("x", logging.INFO, "f", 1, "two %s %s", ("one",), None)
    assert RedactFilter().filter(record)
    assert "two %s %s" in record.getMessage() and "did not fit" in record.getMessage()
