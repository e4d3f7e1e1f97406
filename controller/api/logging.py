"""Structured logs (text or JSON lines, per the config's ``logging``) with key redaction.

JSON lines carry fixed keys ``ts``, ``level``, ``node``, ``logger``, ``msg``
(and ``error`` for an exception), plus any ``extra={...}`` fields the caller
gave, so a collector can index by peer, SPI or VRF.

Keys should never reach a log: the IKE and ESP code does not format them and
``SaKeys``/``Secret`` refuse to print. :class:`RedactFilter` is defense in
depth behind that: it rewrites anything that looks like key material before
any handler formats it:

* long hex strings (32+ digits, 128 bits), bare or colon-separated octets;
* base64 blobs of 20+ characters mixing upper case, lower case and digits;
* Python bytes literals with escapes (``b'\\x9a...'``) of 16+ octets;
* the value after a secret-like name (``psk=``, ``password:``, ``SK_ei=``, ...).

SPIs (8 or 16 hex digits), addresses and names stay readable.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

from controller.config.model import Logging

REDACTED = "<redacted>"

_SECRET_NAMES = (
    r"psk|pre[-_]?shared[-_]?key|secret|password|passphrase|private[-_]?key|privkey|"
    r"skeyseed|sk_(?:d|ai|ar|ei|er|pi|pr)|enc(?:r)?_key|auth_key|integ_key|keymat|salt"
)
_PATTERNS = (
    # name=value / name: value / "name": "value" for secret-like names
    re.compile(
        rf"""(?i)(?P<keep>\b(?:{_SECRET_NAMES})\b["']?\s*[=:]\s*)(?P<secret>"[^"]*"|'[^']*'|[^\s,;)}}\]]+)"""
    ),
    # a bytes literal; _is_key_bytes decides whether it looks random
    re.compile(r"(?P<secret>b(?P<quote>['\"])(?:\\.|(?!(?P=quote)).){16,}?(?P=quote))"),
    re.compile(r"(?i)(?P<secret>\b(?:[0-9a-f]{2}[:\-]){15,}[0-9a-f]{2}\b)"),
    re.compile(r"(?i)(?P<secret>(?<![0-9a-z])(?:0x)?[0-9a-f]{32,}(?![0-9a-z]))"),
    re.compile(r"(?P<secret>(?<![A-Za-z0-9+/])(?=[A-Za-z0-9+/]*\d)(?=[A-Za-z0-9+/]*[A-Z])"
               r"(?=[A-Za-z0-9+/]*[a-z])[A-Za-z0-9+/]{20,}={0,2})"),
)  # fmt: skip


def _is_key_bytes(literal: str) -> bool:
    """A bytes repr of 16+ octets with some escapes: random octets, not b'hello world...'."""
    return literal.count("\\x") >= 4 and len(re.findall(r"\\x..|\\.|.", literal[2:-1])) >= 16


def _replace(m: re.Match[str]) -> str:
    if "quote" in m.re.groupindex and not _is_key_bytes(m.group("secret")):
        return m.group(0)
    return m.group(0)[: m.start("secret") - m.start(0)] + REDACTED


def redact(text: str) -> str:
    """``text`` with everything that looks like key material replaced by <redacted>."""
    for pattern in _PATTERNS:
        text = pattern.sub(_replace, text)
    return text


_SECRET_FIELD = re.compile(rf"(?i)^(?:{_SECRET_NAMES}|key)$")
# Attributes every LogRecord has; anything else came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class RedactFilter(logging.Filter):
    """Rewrites the record's message, extra fields and exception text in place."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} (log arguments did not fit: {record.args!r})"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        for name, value in list(vars(record).items()):
            if name in _STANDARD:
                continue
            if _SECRET_FIELD.match(name):
                setattr(record, name, REDACTED)
            elif isinstance(value, (str, bytes)):
                setattr(record, name, redact(value if isinstance(value, str) else repr(value)))
        return True


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line; keys as in the module docstring."""

    def __init__(self, node: str) -> None:
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "node": self.node,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info or record.exc_text:
            text = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
            doc["error"] = text.splitlines()[-1]
        for name, value in vars(record).items():
            if name not in _STANDARD and name not in doc:
                doc[name] = _jsonable(value)
        return json.dumps(doc)


class TextFormatter(logging.Formatter):
    """``TIME NODE LEVEL LOGGER: message key=value...`` (the ``extra`` fields last)."""

    def __init__(self, node: str) -> None:
        super().__init__(f"%(asctime)s {node} %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        extras = " ".join(
            f"{k}={_jsonable(v)}" for k, v in vars(record).items() if k not in _STANDARD
        )
        line = super().formatMessage(record)
        return f"{line} {extras}" if extras else line


def setup_logging(cfg: Logging, node: str) -> logging.Handler:
    """Send the root logger to stderr or ``cfg.file``, text or JSON, redacted."""
    handler: logging.Handler
    handler = logging.FileHandler(cfg.file) if cfg.file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(node) if cfg.format == "json" else TextFormatter(node))
    handler.addFilter(RedactFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(cfg.level.upper())
    # gRPC and asyncio chatter is not ours to show at info level.
    for noisy in ("grpc", "asyncio", "hpack"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return handler
