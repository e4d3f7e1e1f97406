"""Structured logs: one line per event, text or JSON (``logging.format`` in the config).

Every record carries the node name. JSON lines have fixed keys (``ts``,
``level``, ``node``, ``logger``, ``msg``) so a collector can parse them. Keys
never reach a log: the IKE and ESP code never formats key bytes, and
``SaKeys``/``Secret`` refuse to print them.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from controller.config.model import Logging


class JsonFormatter(logging.Formatter):
    def __init__(self, node: str) -> None:
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "node": self.node,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(doc, sort_keys=False)


def setup_logging(cfg: Logging, node: str) -> None:
    handler: logging.Handler = (
        logging.FileHandler(cfg.file) if cfg.file else logging.StreamHandler(sys.stderr)
    )
    if cfg.format == "json":
        handler.setFormatter(JsonFormatter(node))
    else:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s {node} %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(cfg.level.upper())
    # gRPC and asyncio chatter is not ours to show at info level.
    for noisy in ("grpc", "asyncio", "hpack"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
