"""Test helpers: a throw-away network namespace with veth pairs, cleaned up by the caller."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
CLONE_NEWNET = 0x40000000


def can_use_netns() -> str | None:
    """None when namespaces can be used here, else the reason to skip."""
    if os.geteuid() != 0:
        return "needs root for network namespaces"
    if shutil.which("ip") is None:
        return "needs iproute2 (ip)"
    return None


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def in_netns(name: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` in a thread that entered namespace ``name`` (sockets made there stay there)."""
    libc = ctypes.CDLL(None, use_errno=True)
    box: dict[str, object] = {}

    def body() -> None:
        fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                box["err"] = OSError(ctypes.get_errno(), "setns failed")
                return
            box["val"] = fn()
        except BaseException as exc:
            box["err"] = exc
        finally:
            os.close(fd)

    t = threading.Thread(target=body)
    t.start()
    t.join()
    if "err" in box:
        raise box["err"]  # type: ignore[misc]
    return box["val"]  # type: ignore[return-value]
