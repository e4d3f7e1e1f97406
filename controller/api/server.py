"""The control API server: a Unix socket the daemon serves and `sl3vpn show` asks.

Usage from the daemon::

    server = ControlServer(source, cfg.control_socket_path)
    await server.start()
    ...
    await server.close()

The socket is created with mode 0660 (operators in the daemon's group may
query it). A stale socket left by a crashed daemon is replaced; a socket a
live daemon still answers on is not. A bad request gets an ``error`` reply and
the connection stays usable; a failure inside the status source is logged and
answered as an error too, so one bad ``show`` never takes the server down.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import socket
import stat
from typing import Any

from controller.api import metrics
from controller.api.protocol import (
    MAX_LINE,
    Request,
    RequestError,
    encode_error,
    encode_result,
    parse_request,
)
from controller.api.source import StatusSource

log = logging.getLogger(__name__)

SOCKET_MODE = 0o660
# A show that waits on the switch (counters over P4Runtime) gives up after this long.
REQUEST_TIMEOUT = 30.0


class ControlSocketError(OSError):
    """The control socket cannot be created (one-line reason)."""


class ControlServer:
    def __init__(
        self, source: StatusSource, path: str, request_timeout: float = REQUEST_TIMEOUT
    ) -> None:
        self.source = source
        self.path = path
        self.request_timeout = request_timeout
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        _clear_stale(self.path)
        parent = os.path.dirname(self.path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        try:
            self._server = await asyncio.start_unix_server(self._serve, self.path, limit=MAX_LINE)
            os.chmod(self.path, SOCKET_MODE)
        except OSError as exc:
            raise ControlSocketError(f"control socket {self.path}: {exc.strerror or exc}") from None
        log.info("control API listening on %s", self.path)

    async def close(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    async def __aenter__(self) -> ControlServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._conns.add(task)
        try:
            while True:
                try:
                    line = await reader.readuntil(b"\n")
                except asyncio.IncompleteReadError as exc:
                    if exc.partial.strip():  # a last request without its newline
                        writer.write(await self.answer(exc.partial))
                    break
                except asyncio.LimitOverrunError:
                    # The rest of the oversized line cannot be re-synchronised: say so, hang up.
                    writer.write(encode_error(f"request longer than {MAX_LINE} octets"))
                    break
                if line.strip():
                    writer.write(await self.answer(line))
                    await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._conns.discard(task)
            with contextlib.suppress(ConnectionError, RuntimeError):
                writer.close()

    async def answer(self, line: bytes) -> bytes:
        """One reply line for one request line (also what the fuzz tests call)."""
        try:
            request = parse_request(line)
        except RequestError as exc:
            return encode_error(str(exc))
        try:
            result = await asyncio.wait_for(self.dispatch(request), self.request_timeout)
            return encode_result(result)
        except RequestError as exc:
            return encode_error(str(exc))
        except TimeoutError:
            what = request.method + (f" {request.what}" if request.what else "")
            log.warning("control API: %s took longer than %g s", what, self.request_timeout)
            return encode_error(f"{what}: no answer within {self.request_timeout:g} s")
        except Exception as exc:  # the daemon's bug must not end the API
            what = request.method + (f" {request.what}" if request.what else "")
            log.exception("control API: %s failed", what)
            return encode_error(f"{what}: internal error: {type(exc).__name__}: {exc}")

    async def dispatch(self, request: Request) -> Any:
        if request.method == "ping":
            return "pong"
        if request.method == "metrics":
            return await metrics.collect(self.source)
        assert request.what is not None  # parse_request guarantees it for show
        return await call_source(self.source, request.what, request.args)


_SOURCE_METHODS = {
    "vrf": "vrfs",
    "routes": "routes",
    "bgp": "bgp",
    "sa": "sas",
    "tunnels": "tunnels",
    "tables": "tables",
    "counters": "counters",
    "drops": "drops",
}


async def call_source(source: StatusSource, what: str, args: dict[str, str | None]) -> Any:
    """Call the source method for a show kind, awaiting it when it is a coroutine."""
    result = getattr(source, _SOURCE_METHODS[what])(**args)
    if inspect.isawaitable(result):
        result = await result
    return result


def _clear_stale(path: str) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ControlSocketError(f"control socket {path}: exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(1.0)
        probe.connect(path)
    except OSError:
        os.unlink(path)  # nobody answers: left over from a daemon that died
        return
    finally:
        probe.close()
    raise ControlSocketError(f"control socket {path}: another daemon is serving it")
