"""``/metrics`` over HTTP for Prometheus: prometheus-client's own server, our collector.

prometheus-client serves the scrape from a thread of its own (content negotiation
between the text format and OpenMetrics, gzip when asked). At each scrape its
thread asks the daemon's event loop to read the state (:func:`metrics.read`), so
the daemon's tables are only ever touched on the loop, and waits for the answer
at most ``SCRAPE_TIMEOUT`` seconds: a daemon too busy to answer shows as
``sl3vpn_scrape_error{part="all"} 1`` rather than as a scrape that hangs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from controller.api import metrics
from controller.api.source import StatusSource

log = logging.getLogger(__name__)

SCRAPE_TIMEOUT = 10.0  # seconds a scrape waits for the daemon's loop


def split_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:9100"`` / ``"[::1]:9100"`` -> (host, port), as config.Metrics.listen has it."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class LoopCollector(Collector):
    """Reads the daemon's state on its event loop at each scrape (called from the HTTP
    server's thread, never from the loop itself)."""

    def __init__(self, source: StatusSource, loop: asyncio.AbstractEventLoop) -> None:
        self.source, self.loop = source, loop
        self.timeout = SCRAPE_TIMEOUT

    def collect(self) -> Iterator[Metric]:
        future = asyncio.run_coroutine_threadsafe(metrics.read(self.source), self.loop)
        try:
            families = future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            log.warning("metrics: the daemon did not answer within %g s", self.timeout)
            families = [metrics.scrape_error("all")]
        yield from metrics.FamiliesCollector(families).collect()


class MetricsHttpServer:
    def __init__(self, source: StatusSource, listen: str) -> None:
        self.source = source
        self.host, self.port = split_listen(listen)
        self.collector: LoopCollector | None = None
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        self.collector = LoopCollector(self.source, asyncio.get_running_loop())
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self.collector)
        try:
            self._server, self._thread = start_http_server(self.port, self.host, registry)
        except OSError as exc:
            raise OSError(
                f"metrics listener {self.host}:{self.port}: {exc.strerror or exc}"
            ) from None
        self.port = self._server.server_port  # the real one when port 0 was asked
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)

    async def close(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            # shutdown() waits for the serving loop to notice: not on the event loop,
            # which a scrape in flight may be waiting for
            await asyncio.to_thread(server.shutdown)
            server.server_close()
        if thread is not None:
            await asyncio.to_thread(thread.join, 5.0)

    async def __aenter__(self) -> MetricsHttpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
