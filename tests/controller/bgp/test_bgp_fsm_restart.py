"""A new connection's OPEN while a session is Established: the peer's restart
(RFC 4724 4.2) or the second half of a simultaneous connect (RFC 4271 6.8)?"""

import ipaddress

import pytest

from controller.bgp.fsm import (
    COLLISION_WINDOW,
    Close,
    Down,
    Fsm,
    FsmConfig,
    PeerOpen,
    SendNotification,
)
from controller.bgp.wire.constants import CeaseSubcode, ErrorCode

pytestmark = pytest.mark.unit

US, PEER = ipaddress.IPv4Address("192.0.2.1"), ipaddress.IPv4Address("192.0.2.2")
FIRST, SECOND = 1, 2


def established(t: float, graceful: bool = True) -> Fsm:
    """Our connection FIRST Established at ``t``; the peer's connection SECOND up,
    our OPEN sent on it."""
    fsm = Fsm(FsmConfig(65000, 65000, US))
    fsm.start(0.0)
    fsm.connection_made(FIRST, True, 0.0)
    fsm.connection_made(SECOND, False, 0.0)
    fsm.open_received(FIRST, PeerOpen(65000, 90, PEER), t)
    fsm.keepalive_received(FIRST, t)
    fsm.peer_restarts_gracefully = graceful  # the session layer sets it on Established
    fsm.take_actions()
    return fsm


def second_open(fsm: Fsm, at: float, restarting: bool = False) -> list[object]:
    fsm.open_received(SECOND, PeerOpen(65000, 90, PEER, restarting), at)
    return list(fsm.take_actions())


def collision_cease(actions: list[object]) -> bool:
    return (
        SendNotification(SECOND, ErrorCode.CEASE, CeaseSubcode.CONNECTION_COLLISION_RESOLUTION)
        in actions
        and Close(SECOND) in actions
    )


def test_open_just_after_established_is_a_collision_and_the_session_stands() -> None:
    # Both ends connected at once; each sees the other's OPEN moments after Established.
    fsm = established(100.0)
    actions = second_open(fsm, 100.05)
    assert collision_cease(actions)
    assert not any(isinstance(a, Down) for a in actions)
    assert fsm.established_conn == FIRST and list(fsm.conns) == [FIRST]


def test_open_with_restart_bit_replaces_the_session_at_once() -> None:
    fsm = established(100.0)
    actions = second_open(fsm, 100.05, restarting=True)
    assert Close(FIRST) in actions
    assert Down("peer restarted (new connection)", True) in actions
    assert list(fsm.conns) == [SECOND]


def test_open_well_after_established_is_a_restart() -> None:
    # e.g. the peer's host rebooted: its old connection never closed, its OPEN has no R bit
    fsm = established(100.0)
    actions = second_open(fsm, 100.0 + COLLISION_WINDOW)
    assert Down("peer restarted (new connection)", True) in actions
    assert list(fsm.conns) == [SECOND]


def test_without_graceful_restart_the_established_session_always_stands() -> None:
    fsm = established(100.0, graceful=False)
    actions = second_open(fsm, 100.0 + 10 * COLLISION_WINDOW, restarting=True)
    assert collision_cease(actions)
    assert fsm.established_conn == FIRST
