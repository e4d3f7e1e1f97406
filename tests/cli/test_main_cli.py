"""The `sl3vpn` entry point's safety net: Ctrl-C, a closed stdout, and OS/decode errors a
subcommand did not catch become one stderr line (or silence for `| head`), never a traceback.

Most cases run in-process with a subcommand replaced by one that raises; three run the real
console script, because a closed pipe, /dev/full and SIGINT only exist for a real process.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.signals import sigint_default

pytestmark = pytest.mark.unit
Run = Any
SL3VPN = str(Path(sys.executable).with_name("sl3vpn"))
KEEPALIVE = "ff" * 16 + "0013" + "04"


def _raising(exc: BaseException) -> Any:
    def run(args: object) -> int:
        raise exc

    return run


@pytest.mark.parametrize(
    ("exc", "rc", "line"),
    [
        (
            OSError(errno.EACCES, "Permission denied", "/x/y"),
            1,
            "sl3vpn bgp-decode: /x/y: Permission denied",
        ),
        (
            OSError(errno.ENOSPC, "No space left on device"),
            1,
            "sl3vpn bgp-decode: No space left on device",
        ),
        (
            UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
            1,
            "sl3vpn bgp-decode: input is not UTF-8 text (invalid start byte)",
        ),
        (KeyboardInterrupt(), 130, "sl3vpn: interrupted"),
    ],
)
def test_uncaught_error_is_one_line(sl3vpn: Run, monkeypatch: pytest.MonkeyPatch, exc, rc, line):
    monkeypatch.setattr("controller.bgp.wire.cli.run", _raising(exc))
    res = sl3vpn("bgp-decode", KEEPALIVE)
    assert res.rc == rc
    assert res.one_error_line() == line


def test_broken_pipe_is_quiet(sl3vpn: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("controller.bgp.wire.cli.run", _raising(BrokenPipeError(errno.EPIPE, "x")))
    res = sl3vpn("bgp-decode", KEEPALIVE)
    assert res.rc == 141 and res.err == ""


def test_stdout_closed_by_reader() -> None:
    """`sl3vpn bgp-decode < many | head -c1`: no traceback, no 'Exception ignored'."""
    reader = subprocess.Popen(["head", "-c1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        res = subprocess.run(
            [SL3VPN, "bgp-decode"],
            input=(KEEPALIVE + "\n").encode() * 20000,
            stdout=reader.stdin,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    finally:
        assert reader.stdin is not None
        reader.stdin.close()
        reader.wait(timeout=10)
    assert res.stderr == b""
    assert res.returncode == 141


def test_stdout_full() -> None:
    with open("/dev/full", "wb") as full:
        res = subprocess.run(
            [SL3VPN, "bgp-decode", KEEPALIVE], stdout=full, stderr=subprocess.PIPE, timeout=60
        )
    assert res.returncode == 1
    assert res.stderr.decode().splitlines() == ["sl3vpn bgp-decode: No space left on device"]


def test_sigint_while_reading_stdin() -> None:
    proc = subprocess.Popen(
        [SL3VPN, "bgp-decode"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=sigint_default,  # even when this runner was started with SIGINT ignored
    )
    try:
        # Wait until it is blocked reading stdin: past imports, inside the subcommand.
        wchan = Path(f"/proc/{proc.pid}/wchan")
        # Generous: under CPU load the imports alone can take many seconds, and a
        # SIGINT that arrives before the read is not what this test is about.
        deadline = time.monotonic() + 120
        while "pipe" not in wchan.read_text():
            assert time.monotonic() < deadline, "bgp-decode never blocked reading stdin"
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert err.decode().splitlines() == ["sl3vpn: interrupted"]
