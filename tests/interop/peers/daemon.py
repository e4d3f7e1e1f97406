"""What every peer daemon wrapper shares: config model, process lifecycle, bounded waits."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, TypeVar

import pytest

from .netns import Netns

T = TypeVar("T")
FAMILIES = ("ipv4", "ipv6", "vpnv4", "vpnv6", "rtc")  # rtc (RFC 4684): GoBGP only


@dataclass
class Neighbor:
    """A BGP neighbor of the daemon: one of our test-side speakers."""

    address: str
    asn: int
    families: tuple[str, ...] = ("ipv4", "vpnv4")
    rr_client: bool = False
    passive: bool = True  # the daemon waits for us: no connect-retry delays, no collisions

    def __post_init__(self) -> None:
        bad = set(self.families) - set(FAMILIES)
        if bad:
            raise ValueError(f"unknown families {sorted(bad)}; known: {FAMILIES}")


@dataclass
class PeerSpec:
    """The daemon's own settings."""

    asn: int
    router_id: str
    address: str
    neighbors: list[Neighbor] = field(default_factory=list)
    cluster_id: str | None = None
    address6: str | None = None  # for neighbors with IPv6 addresses (IPv6 transport)

    def local_for(self, neighbor: Neighbor) -> str:
        """The daemon's address facing ``neighbor``: same family as the neighbor's."""
        if ":" in neighbor.address:
            if self.address6 is None:
                raise ValueError(f"neighbor {neighbor.address} needs PeerSpec.address6")
            return self.address6
        return self.address

    @property
    def addresses(self) -> list[str]:
        return [self.address] + ([self.address6] if self.address6 else [])


def wait_until(
    what: str, probe: Callable[[], T | None], timeout: float = 20, step: float = 0.2
) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = probe()
            if value:
                return value
        except (RuntimeError, ValueError, KeyError, OSError, subprocess.TimeoutExpired) as exc:
            last_error = exc
        time.sleep(step)
    detail = f" (last error: {last_error})" if last_error else ""
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}{detail}")


def require_binaries(*names: str) -> None:
    """Skip, naming the binary, when a peer is not installed (scripts/setup.sh installs them)."""
    for name in names:
        if shutil.which(name) is None and not os.access(name, os.X_OK):
            pytest.skip(f"{name} is not installed (scripts/setup.sh installs it)")
    if os.geteuid() != 0:
        pytest.skip("BGP interop tests need root for network namespaces")


class Daemon:
    """Base wrapper: subclasses render the config, build the command and answer queries."""

    NAME: ClassVar[str] = "daemon"
    BINARIES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ns: Netns, spec: PeerSpec, workdir: Path) -> None:
        self.ns = ns
        self.spec = spec
        self.workdir = workdir / self.NAME
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.workdir / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None
        # Daemon-specific config lines appended verbatim (static routes, networks...).
        self.extra_config: list[str] = []

    # -- to implement -------------------------------------------------------
    def write_config(self) -> None:
        raise NotImplementedError

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def session_established(self, neighbor: str) -> bool:
        raise NotImplementedError

    # -- lifecycle ------------------------------------------------------------
    def start(self, timeout: float = 20) -> None:
        self.write_config()
        log = open(self.log_path, "wb")  # noqa: SIM115 - owned by the process
        self.proc = self.ns.popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, **self.popen_extra()
        )
        log.close()
        wait_until(f"{self.NAME} to start (log {self.log_path})", self._alive_and_ready, timeout)

    def popen_extra(self) -> dict[str, object]:
        return {}

    def _alive_and_ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"{self.NAME} exited with {self.proc.returncode}: {self.log_tail()}"
            )
        return self.ready()

    def wait_established(self, neighbor: str, timeout: float = 20) -> None:
        wait_until(
            f"{self.NAME} session with {neighbor}",
            lambda: self.session_established(neighbor),
            timeout,
        )

    def log_tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """Die at once by PID (SIGKILL): no NOTIFICATION, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def stop(self) -> None:
        """Stop by PID: SIGTERM, then SIGKILL after a bounded wait."""
        if self.proc is None or self.proc.poll() is not None:
            return
        # The process leads its own session (Netns.popen), so its group id is its pid:
        # signalling the group also reaches helpers it forked (ExaBGP's API processes).
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        except ProcessLookupError:
            pass
