"""The target processes: one listener each, reporting its state to a JSON file.

Run as ``python -m tests.fuzz.run target bgp|ike --status FILE [--port P]``. Every
half second the status file gets the sessions, the counts of internal errors
(``internal error`` log lines, ERROR records, exceptions that reached the event
loop) and the process's resident memory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any

from tests.fuzz import bgp_target, ike_target

ERRORS: Counter[str] = Counter()


class _Count(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if record.levelno >= logging.ERROR or "internal error" in msg:
            ERRORS[msg[:120]] += 1


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def _watch_errors() -> None:
    logging.getLogger().addHandler(_Count())
    logging.getLogger().setLevel(logging.INFO)

    def on_exception(loop: asyncio.AbstractEventLoop, ctx: dict[str, Any]) -> None:
        ERRORS[f"loop: {ctx.get('message')} {ctx.get('exception')!r}"[:120]] += 1

    asyncio.get_running_loop().set_exception_handler(on_exception)


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({**data, "errors": dict(ERRORS), "rss_kb": rss_kb()}))
    os.replace(tmp, path)


async def bgp(port: int, status: Path) -> None:
    _watch_errors()
    sp = bgp_target.make_target(port)
    await sp.start()
    bgp_target.protect(sp)
    print("READY", flush=True)
    core = sp.core
    while True:
        sessions = {str(a): str(s.state) for a, s in core.sessions.items()}
        _write(
            status,
            {
                "good": sessions.get(bgp_target.GOOD),
                "established": sum(1 for s in core.sessions.values() if s.established),
                "received_paths": len(core.red) + len(core.black),
                "rejected": sum(core.rejects.values()),
                "refused_now": len(core.refusals.current()),
                "refused_unknown": core.counters["refused-unknown-peer"],
            },
        )
        await asyncio.sleep(0.5)


async def ike(status: Path) -> None:
    _watch_errors()
    log: list[str] = []
    svc = ike_target.service(ike_target.TARGET, ike_target.GOOD, 1.0, log)
    await svc.start(ike_target.sockets(ike_target.TARGET))
    print("READY", flush=True)
    d = svc.daemon
    said: Counter[str] = Counter()  # what the daemon logged, by its first words
    while True:
        for line in log:
            if "internal error" in line:
                ERRORS[line[:120]] += 1
            said[" ".join(line.split(": ", 1)[-1].split()[:3])] += 1
        log.clear()
        _write(
            status,
            {
                "sas": len(d.sas),
                "half_open": len(d._half_open),
                "good": [sa.state.name for sa in d.established() if sa.remote[0] == "127.0.0.2"],
                "said": dict(said.most_common(12)),
            },
        )
        await asyncio.sleep(0.5)
