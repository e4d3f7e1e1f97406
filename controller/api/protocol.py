"""The control API's wire format: newline-delimited JSON, one request and one reply per line.

Request::

    {"method": "show", "what": "bgp", "args": {}}
    {"method": "show", "what": "routes", "args": {"vrf": "blue", "family": "ipv6"}}
    {"method": "metrics"}
    {"method": "ping"}

Reply: ``{"result": ...}`` or ``{"error": "one-line reason"}``. A line is at
most :data:`MAX_LINE` octets of UTF-8. This module is sans-I/O so that the
parser can be fuzzed without sockets.
"""

from __future__ import annotations

import enum
import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from controller.api.source import SHOW_KINDS

MAX_LINE = 64 * 1024
METHODS = ("show", "metrics", "ping")
FAMILIES = ("ipv4", "ipv6")
# Arguments each show kind takes; all are optional strings.
SHOW_ARGS: dict[str, tuple[str, ...]] = {kind: () for kind in SHOW_KINDS} | {
    "routes": ("vrf", "family")
}


class RequestError(ValueError):
    """A request the server refuses; the message is the reply's ``error``."""


class ReplyError(RuntimeError):
    """The daemon answered with an error, or with something that is not a reply."""


@dataclass(frozen=True)
class Request:
    method: str
    what: str | None = None
    args: dict[str, str | None] = field(default_factory=dict)

    def encode(self) -> bytes:
        doc: dict[str, Any] = {"method": self.method}
        if self.what is not None:
            doc["what"] = self.what
            doc["args"] = self.args
        return json.dumps(doc).encode() + b"\n"


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_request(line: bytes) -> Request:
    """Decode and validate one request line; RequestError names what is wrong."""
    if len(line) > MAX_LINE:
        raise RequestError(f"request longer than {MAX_LINE} octets")
    try:
        doc = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RequestError(f"request is not UTF-8 (octet {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise RequestError(f"request is not JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise RequestError("request is not JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise RequestError(f"request must be a JSON object, got {type(doc).__name__}")
    method = doc.get("method")
    if not isinstance(method, str):
        raise RequestError('request has no "method" string')
    if method not in METHODS:
        raise RequestError(f"unknown method {_short(method)}; expected one of {', '.join(METHODS)}")
    extra = sorted(set(doc) - {"method", "what", "args"})
    if extra:
        raise RequestError(f"unknown request field {_short(extra[0])}")
    if method != "show":
        if "what" in doc or "args" in doc:
            raise RequestError(f'method {method} takes no "what" or "args"')
        return Request(method)
    what = doc.get("what")
    if not isinstance(what, str) or what not in SHOW_KINDS:
        raise RequestError(
            f"show: unknown kind {_short(what)}; expected one of {', '.join(SHOW_KINDS)}"
        )
    args = doc.get("args", {})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise RequestError(f'show {what}: "args" must be an object')
    return Request(method, what, _check_args(what, args))


def _check_args(what: str, args: dict[str, Any]) -> dict[str, str | None]:
    allowed = SHOW_ARGS[what]
    out: dict[str, str | None] = {}
    for name, value in args.items():
        if name not in allowed:
            takes = f"takes {', '.join(allowed)}" if allowed else "takes no arguments"
            raise RequestError(f"show {what}: unknown argument {_short(name)} ({takes})")
        if value is not None and not isinstance(value, str):
            raise RequestError(f"show {what}: argument {name} must be a string")
        out[name] = value
    family = out.get("family")
    if family is not None and family not in FAMILIES:
        raise RequestError(f"show {what}: family must be ipv4 or ipv6, got {_short(family)}")
    return out


_IP_TYPES = (
    ipaddress.IPv4Address,
    ipaddress.IPv6Address,
    ipaddress.IPv4Network,
    ipaddress.IPv6Network,
)


def _plain(value: object) -> object:
    """JSON for the values a daemon naturally holds: addresses, networks, enums.

    Bytes are refused, not stringified: the only bytes a daemon holds that an
    operator must not see are keys, and a reply never carries raw octets.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError("reply contains raw bytes (refused: it could be key material)")
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value.value, (str, int)) else value.name
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, _IP_TYPES):
        return str(value)
    raise TypeError(f"reply contains a {type(value).__name__}, which has no JSON form")


def encode_result(data: object) -> bytes:
    return json.dumps({"result": data}, separators=(",", ":"), default=_plain).encode() + b"\n"


def encode_error(message: str) -> bytes:
    # One line, always: a newline inside the message would split the reply.
    return json.dumps({"error": " ".join(message.split())}).encode() + b"\n"


def decode_reply(line: bytes) -> Any:
    """The ``result`` of a reply line; ReplyError for an error reply or garbage."""
    try:
        doc = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ReplyError("daemon sent a reply that is not JSON") from None
    if isinstance(doc, dict) and isinstance(doc.get("error"), str):
        raise ReplyError(doc["error"])
    if not isinstance(doc, dict) or "result" not in doc:
        raise ReplyError("daemon sent a reply with neither result nor error")
    return doc["result"]
