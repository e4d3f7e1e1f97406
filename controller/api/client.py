"""Control API clients: blocking (for `sl3vpn show`) and asyncio (for the lab and tests).

Both raise :class:`DaemonNotRunning` when nothing listens on the socket and
:class:`~controller.api.protocol.ReplyError` when the daemon answers with an
error.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from controller.api.protocol import ReplyError, Request, decode_reply

DEFAULT_TIMEOUT = 10.0


class DaemonNotRunning(ConnectionError):
    """No daemon answers on the control socket (one-line reason)."""


def _not_running(path: str, exc: OSError) -> DaemonNotRunning:
    if isinstance(exc, FileNotFoundError):
        why = "no such socket"
    elif isinstance(exc, ConnectionRefusedError):
        why = "connection refused"
    elif isinstance(exc, PermissionError):
        return DaemonNotRunning(
            f"control socket {path}: permission denied (are you in the daemon's group?)"
        )
    else:
        why = exc.strerror or str(exc)
    return DaemonNotRunning(f"daemon not running: control socket {path}: {why}")


def request(path: str, req: Request, timeout: float = DEFAULT_TIMEOUT) -> Any:
    """Send one request, return the reply's result."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        try:
            sock.connect(path)
        except OSError as exc:
            raise _not_running(path, exc) from None
        try:
            sock.sendall(req.encode())
            buf = bytearray()
            while not buf.endswith(b"\n"):
                chunk = sock.recv(1 << 16)
                if not chunk:
                    raise ReplyError(f"control socket {path}: daemon closed the connection")
                buf += chunk
        except TimeoutError:
            raise ReplyError(f"control socket {path}: no reply within {timeout:g} s") from None
        except ConnectionError as exc:
            raise ReplyError(f"control socket {path}: {exc.strerror or exc}") from None
    finally:
        sock.close()
    return decode_reply(bytes(buf))


def show(path: str, what: str, timeout: float = DEFAULT_TIMEOUT, **args: str | None) -> Any:
    return request(path, Request("show", what, dict(args)), timeout)


def metrics(path: str, timeout: float = DEFAULT_TIMEOUT) -> str:
    return str(request(path, Request("metrics"), timeout))


class AsyncClient:
    """One connection, many requests in turn."""

    def __init__(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        try:
            # Replies (a big `show tables`) may be far longer than any request.
            self._reader, self._writer = await asyncio.open_unix_connection(
                self.path, limit=1 << 26
            )
        except OSError as exc:
            raise _not_running(self.path, exc) from None

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
            self._reader = self._writer = None

    async def __aenter__(self) -> AsyncClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(self, req: Request) -> Any:
        if self._reader is None or self._writer is None:
            await self.connect()
        assert self._reader is not None and self._writer is not None
        async with self._lock:
            self._writer.write(req.encode())
            await self._writer.drain()
            try:
                line = await asyncio.wait_for(self._reader.readline(), self.timeout)
            except TimeoutError:
                raise ReplyError(
                    f"control socket {self.path}: no reply within {self.timeout:g} s"
                ) from None
        if not line:
            raise ReplyError(f"control socket {self.path}: daemon closed the connection")
        return decode_reply(line)

    async def show(self, what: str, **args: str | None) -> Any:
        return await self.request(Request("show", what, dict(args)))

    async def metrics(self) -> str:
        return str(await self.request(Request("metrics")))


__all__ = ["AsyncClient", "DaemonNotRunning", "ReplyError", "metrics", "request", "show"]
