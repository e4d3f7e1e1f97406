"""Process helpers shared by the daemon and the lab."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path

log = logging.getLogger("sl3vpn.daemon")


def alive(pid: int) -> bool:
    """True while ``pid`` runs; an exited process not yet reaped by its parent counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def recorded_pid(pid_file: Path, *words: bytes) -> int | None:
    """The PID ``pid_file`` names, if that process runs and its command line has ``words``."""
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if all(w in cmdline for w in words) else None


async def stop_pid(pid: int, what: str, grace: float = 5.0) -> None:
    """Stop a process that is not our child (an adopted one): TERM, then KILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while loop.time() < deadline:
            await asyncio.sleep(0.1)
            if not alive(pid):
                return
        log.warning("adopted %s (pid %d) ignored SIGTERM: killing it", what, pid)
        os.kill(pid, signal.SIGKILL)
