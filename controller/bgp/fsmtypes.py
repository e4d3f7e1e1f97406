"""What the BGP FSM (``fsm.py``) is given and gives back, sans I/O.

Its states (RFC 4271 8.2.2), its per-peer configuration, the parts of a
received OPEN it checks (RFC 4271 6.2) and the check itself, the actions it
asks of the transport layer and the events it reports to the speaker.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass

from controller.bgp.wire.constants import ErrorCode, OpenSubcode
from controller.bgp.wire.errors import BgpError


class State(enum.IntEnum):
    IDLE = 0
    CONNECT = 1
    ACTIVE = 2
    OPEN_SENT = 3
    OPEN_CONFIRM = 4
    ESTABLISHED = 5

    def __str__(self) -> str:
        # The RFC's spelling: Idle, Connect, Active, OpenSent, OpenConfirm, Established.
        return self.name.title().replace("_", "")


@dataclass(frozen=True)
class FsmConfig:
    local_as: int
    peer_as: int
    router_id: ipaddress.IPv4Address
    hold_time: int = 90
    connect_retry_time: float = 30.0
    idle_hold_time: float = 5.0  # delay before an automatic restart after an error
    passive: bool = False
    # RFC 4271 8.1.1 DelayOpen: wait this long for the peer's OPEN before sending ours.
    delay_open_time: float = 0.0
    # Red sessions wait for the IPsec layer (draft 3.2).
    needs_protection: bool = False


@dataclass(frozen=True)
class PeerOpen:
    """The parts of a received OPEN the FSM checks (RFC 4271 6.2)."""

    asn: int  # from the 4-octet AS capability when present (RFC 6793)
    hold_time: int
    router_id: ipaddress.IPv4Address
    # RFC 4724 3: the Restart State (R) bit of its Graceful Restart capability
    restarting: bool = False


@dataclass
class Conn:
    """One TCP connection of a peer's FSM (there may briefly be two, RFC 4271 6.8)."""

    outbound: bool
    state: State = State.OPEN_SENT
    peer_open: PeerOpen | None = None
    hold_time: int = 0
    hold_deadline: float | None = None
    keepalive_deadline: float | None = None
    delay_open_deadline: float | None = None
    established_at: float | None = None


def check_open(cfg: FsmConfig, peer: PeerOpen) -> None:
    """RFC 4271 6.2: the OPEN checks that depend on our configuration."""
    if peer.asn != cfg.peer_as:
        raise BgpError(
            ErrorCode.OPEN_MESSAGE,
            OpenSubcode.BAD_PEER_AS,
            f"peer AS {peer.asn}, configured {cfg.peer_as}",
            where="OPEN My Autonomous System",
        )
    if peer.hold_time in (1, 2):
        raise BgpError(
            ErrorCode.OPEN_MESSAGE,
            OpenSubcode.UNACCEPTABLE_HOLD_TIME,
            f"hold time {peer.hold_time} is below 3 seconds",
            where="OPEN Hold Time",
        )
    rid = peer.router_id
    if int(rid) == 0 or (cfg.peer_as == cfg.local_as and rid == cfg.router_id):
        raise BgpError(
            ErrorCode.OPEN_MESSAGE,
            OpenSubcode.BAD_BGP_IDENTIFIER,
            f"BGP Identifier {rid} is zero or ours",
            where="OPEN BGP Identifier",
        )


# ---- actions for the transport layer -------------------------------------------------


@dataclass(frozen=True)
class Connect:
    """Open a TCP connection to the peer."""


@dataclass(frozen=True)
class SendOpen:
    conn: int


@dataclass(frozen=True)
class SendKeepalive:
    conn: int


@dataclass(frozen=True)
class SendNotification:
    conn: int
    code: int
    subcode: int
    data: bytes = b""


@dataclass(frozen=True)
class Close:
    conn: int


# ---- events for the speaker ----------------------------------------------------------


@dataclass(frozen=True)
class Established:
    conn: int
    peer_open: PeerOpen
    hold_time: int


@dataclass(frozen=True)
class Down:
    reason: str
    # True when the session ended without a NOTIFICATION from either side deciding it
    # (TCP loss, hold timer expiry, IPsec protection lost, the peer reconnecting):
    # a graceful restart peer's routes are then kept stale (RFC 4724 4.2).
    graceful: bool = False


Action = Connect | SendOpen | SendKeepalive | SendNotification | Close | Established | Down
