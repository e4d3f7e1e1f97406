"""A tiny HTTP/1.1 responder for Prometheus scrapes: ``GET /metrics`` and nothing else.

Prometheus sends a plain GET with a few headers and reads one response, so a
full HTTP server is not needed: we read the request head (bounded in size and
time), answer, and close the connection. Other paths get 404, other methods
405, anything unreadable 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from controller.api.metrics import CONTENT_TYPE, collect
from controller.api.source import StatusSource

log = logging.getLogger(__name__)

MAX_HEAD = 8 * 1024
READ_TIMEOUT = 5.0


def split_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:9100"`` / ``"[::1]:9100"`` -> (host, port), as config.Metrics.listen has it."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def response(status: str, body: bytes, content_type: str = "text/plain; charset=utf-8") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


def parse_request_line(head: bytes) -> tuple[str, str]:
    """(method, path) from an HTTP request head; ValueError when it is not one."""
    line = head.split(b"\r\n", 1)[0].decode("ascii")
    method, target, version = line.split(" ")
    if not version.startswith("HTTP/1.") or not target.startswith("/"):
        raise ValueError(line)
    return method, target.split("?", 1)[0]


class MetricsHttpServer:
    def __init__(
        self,
        source: StatusSource,
        listen: str,
        render: Callable[[StatusSource], Awaitable[str]] = collect,
    ) -> None:
        self.source = source
        self.host, self.port = split_listen(listen)
        self._render = render
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(
                self._serve, self.host, self.port, limit=MAX_HEAD
            )
        except OSError as exc:
            raise OSError(
                f"metrics listener {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        self.port = self._server.sockets[0].getsockname()[1]  # the real one when port 0 was asked
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> MetricsHttpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                writer.write(response("400 Bad Request", b"incomplete or oversized request\n"))
                return
            writer.write(await self.answer(head))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            with contextlib.suppress(ConnectionError, RuntimeError):
                writer.close()

    async def answer(self, head: bytes) -> bytes:
        try:
            method, path = parse_request_line(head)
        except (ValueError, UnicodeDecodeError):
            return response("400 Bad Request", b"not an HTTP/1.x request line\n")
        if path != "/metrics":
            return response("404 Not Found", b"only /metrics is served here\n")
        if method not in ("GET", "HEAD"):
            return response("405 Method Not Allowed", b"use GET\n")
        body = (await self._render(self.source)).encode()
        full = response("200 OK", body, CONTENT_TYPE)
        return full[: len(full) - len(body)] if method == "HEAD" else full
