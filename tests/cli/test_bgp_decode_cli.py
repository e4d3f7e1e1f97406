"""`sl3vpn bgp-decode` on input that is not BGP hex: one stderr line, exit 1 or 2."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.unit
Run = Any
MARKER = "ff" * 16
KEEPALIVE = MARKER + "0013" + "04"


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    # A strict UTF-8 text stream over bytes, as with PYTHONIOENCODING=utf-8.
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


@pytest.mark.parametrize("data", [b"ff\xff", b"\x80\x81", bytes(range(256))])
def test_non_utf8_stdin(sl3vpn: Run, monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    _stdin(monkeypatch, data)
    res = sl3vpn("bgp-decode")
    assert res.rc == 2
    res.one_error_line("bgp-decode: input is not hex octets")


def test_many_messages_on_stdin(sl3vpn: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    _stdin(monkeypatch, (KEEPALIVE + "\n").encode() * 500)
    res = sl3vpn("bgp-decode")
    assert res.rc == 0 and res.err == ""
    assert res.out.count("KEEPALIVE") == 500


@pytest.mark.parametrize(
    ("text", "rc", "needle"),
    [
        ("", 0, None),
        ("f", 2, "not hex"),
        (MARKER, 1, "truncated"),
        (KEEPALIVE + MARKER + "0013", 1, "message 2: truncated"),
        (MARKER + "0012" + "04", 1, "message 1"),
        (MARKER + "ffff" + "02" + "00" * 10, 1, "message 1"),
    ],
)
def test_odd_input(sl3vpn: Run, text: str, rc: int, needle: str | None) -> None:
    res = sl3vpn("bgp-decode", text)
    assert res.rc == rc
    if needle:
        res.one_error_line(needle)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=80), length=st.integers(0, 0xFFFF), kind=st.integers(0, 255))
def test_fuzzed_message_never_tracebacks(sl3vpn: Run, body: bytes, length: int, kind: int) -> None:
    frame = MARKER + f"{length:04x}{kind:02x}" + body.hex()
    res = sl3vpn("bgp-decode", "--extended-message", frame)
    assert res.rc in (0, 1)
    if res.rc:
        res.one_error_line("bgp-decode: message 1")
