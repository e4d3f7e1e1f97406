"""The engine-control protocol: the daemon drives an ESP engine process over a Unix socket.

Every message, request or answer, is one frame (network byte order)::

     0               1               2               3
    +---------------+---------------+-------------------------------+
    |  version = 1  |     type      |         reserved = 0          |
    +---------------+---------------+-------------------------------+
    |                        body length (octets)                   |
    +---------------------------------------------------------------+
    |    body: one JSON object, UTF-8, at most MAX_BODY octets ...  |

Requests carry a :class:`Op` as type; the engine answers each request, in
order, with OK (the result object) or ERROR (``{"error": "one line"}``).
Parsing is strict and every refusal is an :class:`RpcError` naming the field;
a malformed request gets an ERROR answer and the connection stays usable.

SA parameters cross as JSON with the key octets in hex: the socket is local
(mode 0600), so keys stay in the memory of the two processes and are never
written anywhere. ``LIST_SAS`` never returns keys.
"""

from __future__ import annotations

import enum
import ipaddress
import json
import socket
import struct
from typing import Any

from controller.ipsec.installer import (
    CipherSuite,
    Direction,
    ExpiryEvent,
    ExpiryKind,
    ExpiryReason,
    Lifetime,
    Mode,
    SaCounters,
    SaKeys,
    SaParams,
    SaUpdate,
    UdpEncap,
)

VERSION = 1
HEADER = struct.Struct("!BBHI")
MAX_BODY = 1 << 20  # a LIST_SAS answer for 65535 SAs fits well below this


class Op(enum.IntEnum):
    HELLO = 1
    ALLOCATE_SPI = 2
    ADD_SA = 3
    UPDATE_SA = 4
    DELETE_SA = 5
    SWITCH_OUTBOUND = 6
    COUNTERS = 7
    POLL = 8  # run time lifetimes, return queued expiry events
    LIST_SAS = 9


class Answer(enum.IntEnum):
    OK = 0x80
    ERROR = 0x81


class RpcError(ValueError):
    """A frame or body that breaks the protocol (one line, names the field)."""


# -- frames ----------------------------------------------------------------------------------


def encode(kind: int, body: dict[str, Any]) -> bytes:
    data = json.dumps(body, separators=(",", ":")).encode()
    if len(data) > MAX_BODY:
        raise RpcError(f"message body of {len(data)} octets exceeds {MAX_BODY}")
    return HEADER.pack(VERSION, kind, 0, len(data)) + data


def read_header(header: bytes) -> tuple[int, int]:
    """(type, body length) of a frame header; RpcError if it is not ours."""
    if len(header) != HEADER.size:
        raise RpcError(f"frame header of {len(header)} octets, expected {HEADER.size}")
    version, kind, reserved, length = HEADER.unpack(header)
    if version != VERSION:
        raise RpcError(f"protocol version {version}, expected {VERSION}")
    if reserved != 0:
        raise RpcError(f"reserved header field is {reserved}, expected 0")
    if length > MAX_BODY:
        raise RpcError(f"body length {length} exceeds {MAX_BODY}")
    return kind, length


def read_body(data: bytes) -> dict[str, Any]:
    try:
        body = json.loads(data.decode())
    except (UnicodeDecodeError, ValueError) as exc:
        raise RpcError(f"body is not a JSON object: {exc}") from None
    if not isinstance(body, dict):
        raise RpcError(f"body is a JSON {type(body).__name__}, not an object")
    return body


def decode(frame: bytes) -> tuple[int, dict[str, Any]]:
    """One whole frame -> (type, body)."""
    kind, length = read_header(frame[: HEADER.size])
    if len(frame) != HEADER.size + length:
        raise RpcError(f"frame of {len(frame)} octets, header says {HEADER.size + length}")
    return kind, read_body(frame[HEADER.size :])


def recv_exact(conn: socket.socket, size: int) -> bytes | None:
    """``size`` octets, or None if the peer closed the connection first."""
    chunks: list[bytes] = []
    while size:
        chunk = conn.recv(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def request_op(kind: int) -> Op:
    try:
        return Op(kind)
    except ValueError:
        raise RpcError(f"unknown request type {kind}") from None


# -- fields ----------------------------------------------------------------------------------


def field(body: dict[str, Any], name: str, kind: type, where: str) -> Any:
    """body[name], which must be of ``kind`` (bool is not an int here)."""
    if name not in body:
        raise RpcError(f"{where}: missing field {name!r}")
    value = body[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise RpcError(f"{where}: field {name!r} is a {type(value).__name__}, not {kind.__name__}")
    return value


def optional(body: dict[str, Any], name: str, kind: type, where: str) -> Any:
    return None if body.get(name) is None else field(body, name, kind, where)


def _enum(cls: type[enum.Enum], value: str, where: str) -> Any:
    try:
        return cls(value)
    except ValueError:
        raise RpcError(f"{where}: {value!r} is not a {cls.__name__}") from None


def _addr(value: str, where: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise RpcError(f"{where}: {value!r} is not an IP address") from None


def _hex(value: str, where: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise RpcError(f"{where}: key material is not hex") from None


def _lifetime_out(life: Lifetime) -> dict[str, Any]:
    return {"packets": life.packets, "bytes": life.bytes, "seconds": life.seconds}


def _lifetime_in(body: dict[str, Any], where: str) -> Lifetime:
    seconds = body.get("seconds")
    if seconds is not None and (not isinstance(seconds, int | float) or isinstance(seconds, bool)):
        raise RpcError(f"{where}: field 'seconds' is not a number")
    return Lifetime(
        optional(body, "packets", int, where), optional(body, "bytes", int, where), seconds
    )


def _encap_out(encap: UdpEncap | None) -> list[int] | None:
    return None if encap is None else [encap.local_port, encap.remote_port]


def _encap_in(value: Any, where: str) -> UdpEncap | None:
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(p, int) and not isinstance(p, bool) for p in value)
    ):
        raise RpcError(f"{where}: udp_encap must be [local port, remote port]")
    return UdpEncap(value[0], value[1])


# -- SA parameters ---------------------------------------------------------------------------


def sa_summary(params: SaParams) -> dict[str, Any]:
    """Everything about an SA but its keys (LIST_SAS, and the keyless part of ADD_SA)."""
    return {
        "direction": params.direction.value,
        "spi": params.spi,
        "sa_index": params.sa_index,
        "local": str(params.local),
        "remote": str(params.remote),
        "suite": params.suite.value,
        "mode": params.mode.value,
        "udp_encap": _encap_out(params.udp_encap),
        "esn": params.esn,
        "replay_window": params.replay_window,
        "soft": _lifetime_out(params.soft),
        "hard": _lifetime_out(params.hard),
    }


def sa_to_wire(params: SaParams) -> dict[str, Any]:
    keys = params.keys
    return {
        **sa_summary(params),
        "keys": [keys.enc_key.hex(), keys.salt.hex(), keys.auth_key.hex()],
    }


def sa_from_wire(body: dict[str, Any], where: str = "sa") -> SaParams:
    """SaParams from a request; RpcError or SaInstallError (via check()) name the field."""
    keys = field(body, "keys", list, where)
    if len(keys) != 3 or not all(isinstance(k, str) for k in keys):
        raise RpcError(f"{where}: keys must be [enc_key, salt, auth_key] in hex")
    params = SaParams(
        direction=_enum(Direction, field(body, "direction", str, where), f"{where}.direction"),
        spi=field(body, "spi", int, where),
        sa_index=field(body, "sa_index", int, where),
        local=_addr(field(body, "local", str, where), f"{where}.local"),
        remote=_addr(field(body, "remote", str, where), f"{where}.remote"),
        suite=_enum(CipherSuite, field(body, "suite", str, where), f"{where}.suite"),
        keys=SaKeys(*(_hex(k, f"{where}.keys") for k in keys)),
        mode=_enum(Mode, field(body, "mode", str, where), f"{where}.mode"),
        udp_encap=_encap_in(body.get("udp_encap"), where),
        esn=field(body, "esn", bool, where),
        replay_window=field(body, "replay_window", int, where),
        soft=_lifetime_in(field(body, "soft", dict, where), f"{where}.soft"),
        hard=_lifetime_in(field(body, "hard", dict, where), f"{where}.hard"),
    )
    params.check()
    return params


def update_to_wire(update: SaUpdate) -> dict[str, Any]:
    return {
        "local": None if update.local is None else str(update.local),
        "remote": None if update.remote is None else str(update.remote),
        "udp_encap": _encap_out(update.udp_encap),
        "remove_udp_encap": update.remove_udp_encap,
        "soft": None if update.soft is None else _lifetime_out(update.soft),
        "hard": None if update.hard is None else _lifetime_out(update.hard),
    }


def update_from_wire(body: dict[str, Any], where: str = "update") -> SaUpdate:
    local, remote = optional(body, "local", str, where), optional(body, "remote", str, where)
    soft, hard = optional(body, "soft", dict, where), optional(body, "hard", dict, where)
    return SaUpdate(
        local=None if local is None else _addr(local, f"{where}.local"),
        remote=None if remote is None else _addr(remote, f"{where}.remote"),
        udp_encap=_encap_in(body.get("udp_encap"), where),
        remove_udp_encap=bool(optional(body, "remove_udp_encap", bool, where)),
        soft=None if soft is None else _lifetime_in(soft, f"{where}.soft"),
        hard=None if hard is None else _lifetime_in(hard, f"{where}.hard"),
    )


def counters_to_wire(c: SaCounters) -> dict[str, Any]:
    return {"packets": c.packets, "bytes": c.bytes, "errors": dict(c.errors)}


def counters_from_wire(body: dict[str, Any]) -> SaCounters:
    errors = field(body, "errors", dict, "counters")
    return SaCounters(
        field(body, "packets", int, "counters"),
        field(body, "bytes", int, "counters"),
        {str(k): int(v) for k, v in errors.items()},
    )


def event_to_wire(ev: ExpiryEvent) -> dict[str, Any]:
    return {
        "sa_index": ev.sa_index,
        "spi": ev.spi,
        "direction": ev.direction.value,
        "kind": ev.kind.value,
        "reason": ev.reason.value,
    }


def event_from_wire(body: dict[str, Any]) -> ExpiryEvent:
    where = "event"
    return ExpiryEvent(
        field(body, "sa_index", int, where),
        field(body, "spi", int, where),
        _enum(Direction, field(body, "direction", str, where), f"{where}.direction"),
        _enum(ExpiryKind, field(body, "kind", str, where), f"{where}.kind"),
        _enum(ExpiryReason, field(body, "reason", str, where), f"{where}.reason"),
    )
