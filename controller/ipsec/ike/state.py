"""Small shared types of the IKE core: addresses, datagrams, IKE SA states."""

from __future__ import annotations

import enum
from dataclasses import dataclass

Addr = tuple[str, int]
HALF_OPEN_TIMEOUT = 30.0  # seconds a responder keeps an SA that never authenticates
NAT_KEEPALIVE = 20.0  # RFC 3948 2.3 suggests 20 s: keeps our NAT mapping open when idle
# what a task's process() returns: the exchange is over, or (initiator) send it again
DONE = "done"
RETRY = "retry"


@dataclass
class Datagram:
    data: bytes
    src: Addr
    dst: Addr
    keepalive: bool = False  # a NAT keepalive (RFC 3948 2.3): sent as is, no non-ESP marker


class IkeState(enum.Enum):
    CONNECTING = "connecting"
    ESTABLISHED = "established"
    DELETING = "deleting"
    DELETED = "deleted"
