"""RFC 4271 FSM paths, pumped between our own speakers with an explicit clock."""

import ipaddress

import pytest
from bgp_pump import Net, notifications, start_all, states
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.bgp import session as s
from controller.bgp.config import NeighborConfig, SpeakerConfig
from controller.bgp.core import SpeakerCore
from controller.bgp.path import IPV4_UNICAST, IPV6_UNICAST, Color
from controller.bgp.wire.keepalive import Keepalive

pytestmark = pytest.mark.unit
X, Y = "192.0.2.1", "192.0.2.2"


def black_pair(
    x_kw: dict | None = None, y_kw: dict | None = None, x_as: int = 65000, y_as: int = 65000
) -> Net:
    """Two speakers with one black session between them (both sides active by default)."""
    net = Net()
    for me, peer, my_as, peer_as, kw in ((X, Y, x_as, y_as, x_kw), (Y, X, y_as, x_as, y_kw)):
        args = {
            "address": ipaddress.ip_address(peer),
            "remote_as": peer_as,
            "color": Color.BLACK,
            "connect_retry_time": 5,
            "idle_hold_time": 1,
        }
        n = NeighborConfig(**{**args, **(kw or {})})
        net.add(me, SpeakerCore(SpeakerConfig(my_as, ipaddress.ip_address(me), neighbors=(n,))))
    return net


def test_active_both_sides_collision_keeps_one_connection() -> None:
    net = black_pair()
    start_all(net)
    assert states(net.node(X)) == {Y: "Established"} and states(net.node(Y)) == {X: "Established"}
    # Both opened a connection at once: RFC 4271 6.8 closed one with Cease/Collision.
    assert (6, 7) in notifications(net)
    # The survivor is the one opened by the higher BGP Identifier (Y = 192.0.2.2).
    y_sess = net.node(Y).sessions[ipaddress.ip_address(X)]
    assert len(y_sess.fsm.conns) == 1
    assert next(iter(y_sess.fsm.conns.values())).outbound is True
    assert len(net.links) == 2


def test_passive_and_active_establish_without_collision() -> None:
    net = black_pair(x_kw={"passive": True})
    start_all(net)
    assert states(net.node(X)) == {Y: "Established"}
    assert notifications(net) == []


def test_hold_timer_expiry_sends_notification_and_restarts() -> None:
    net = black_pair(x_kw={"hold_time": 9}, y_kw={"hold_time": 9})
    start_all(net)
    net.mute.add(ipaddress.ip_address(Y))  # Y hangs: its keepalives are lost
    net.advance(10)
    assert (4, 0) in notifications(net, X)
    assert net.node(X).sessions[ipaddress.ip_address(Y)].fsm.last_error == "hold timer expired"
    net.mute.clear()
    net.advance(20)  # idle hold, reconnect
    assert states(net.node(X)) == {Y: "Established"}


def test_keepalives_keep_session_up() -> None:
    net = black_pair(x_kw={"hold_time": 9}, y_kw={"hold_time": 9})
    start_all(net)
    net.advance(100)
    assert states(net.node(X)) == {Y: "Established"}
    assert notifications(net, X) == [] or set(notifications(net, X)) == {(6, 7)}


def test_bad_peer_as_is_refused() -> None:
    net = black_pair(x_kw={"remote_as": 65009})  # X expects AS 65009, Y is in 65000
    start_all(net)
    assert (2, 2) in notifications(net)
    assert "Established" not in states(net.node(X)).values()


def test_no_common_family_is_unsupported_capability() -> None:
    net = black_pair(x_kw={"families": (IPV4_UNICAST,)}, y_kw={"families": (IPV6_UNICAST,)})
    start_all(net)
    assert (2, 7) in notifications(net)
    assert "Established" not in states(net.node(Y)).values()


def test_unacceptable_hold_time_from_config_is_refused() -> None:
    with pytest.raises(ValueError, match="hold time 2 invalid"):
        NeighborConfig(ipaddress.ip_address(X), 65000, Color.BLACK, hold_time=2)


def _lone(passive: bool = True) -> tuple[SpeakerCore, ipaddress.IPv4Address]:
    peer = ipaddress.ip_address(Y)
    n = NeighborConfig(peer, 65000, Color.BLACK, passive=passive)
    core = SpeakerCore(SpeakerConfig(65000, ipaddress.ip_address(X), neighbors=(n,)))
    core.start(0)
    core.transport_ops()
    return core, peer


def _sent(core: SpeakerCore) -> list[s.TransportOp]:
    return [op for _, op in core.transport_ops()]


def test_keepalive_in_opensent_is_fsm_error() -> None:
    core, peer = _lone()
    core.connection_made(peer, 7, False, 0)
    assert core.sessions[peer].state.name == "OPEN_SENT"
    _sent(core)
    core.data_received(peer, 7, Keepalive().encode(), 1)
    ops = _sent(core)
    # NOTIFICATION FSM Error / unexpected message in OpenSent (RFC 6608), then close.
    assert isinstance(ops[0], s.Write) and ops[0].data[18:21] == bytes([3, 5, 1])
    assert ops[-1] == s.Close(7)


def test_bad_marker_is_connection_not_synchronized() -> None:
    core, peer = _lone()
    core.connection_made(peer, 7, False, 0)
    _sent(core)
    core.data_received(peer, 7, b"\x00" * 19, 1)
    ops = _sent(core)
    assert isinstance(ops[0], s.Write) and ops[0].data[18:21] == bytes([3, 1, 1])
    assert ops[-1] == s.Close(7)


def test_connection_from_unknown_address_is_refused() -> None:
    core, _ = _lone()
    stranger = ipaddress.ip_address("203.0.113.9")
    core.connection_made(stranger, 9, False, 0)
    assert core.transport_ops() == [(stranger, s.Close(9))]
    assert core.counters["refused-unknown-peer"] == 1


def test_connect_retry_when_peer_unreachable() -> None:
    net = black_pair(x_kw={"connect_retry_time": 5})
    net.down.add(ipaddress.ip_address(Y))
    net.node(X).start(0)
    net.settle()
    assert states(net.node(X)) == {Y: "Active"}
    attempts = []
    orig = net.node(X).connection_failed
    net.node(X).connection_failed = lambda p, now: (attempts.append(now), orig(p, now))
    net.advance(16)
    assert attempts == [5.0, 10.0, 15.0]
    net.down.clear()
    net.node(Y).start(net.now)
    net.advance(6)
    assert states(net.node(X)) == {Y: "Established"}


def test_framing_survives_one_octet_at_a_time() -> None:
    net = black_pair()
    net.chunk = 1
    start_all(net)
    assert states(net.node(X)) == {Y: "Established"}


def test_operator_stop_sends_cease_admin_shutdown() -> None:
    net = black_pair()
    start_all(net)
    net.node(X).stop(net.now)
    net.settle()
    assert (6, 2) in notifications(net, X)
    assert states(net.node(X)) == {Y: "Idle"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(junk=st.binary(min_size=1, max_size=200), cut=st.integers(0, 40))
def test_garbage_from_an_established_peer_never_raises(junk: bytes, cut: int) -> None:
    net = black_pair()
    start_all(net)
    x = net.node(X)
    conn = next(c for (n, c) in net.links if n == ipaddress.ip_address(X))
    # Sometimes keep a valid marker so the header/body decoders see the junk too.
    data = (b"\xff" * 16 + junk)[: 16 + len(junk)] if cut % 2 else junk
    x.data_received(ipaddress.ip_address(Y), conn, data, net.now)
    net.settle()
    sess = x.sessions[ipaddress.ip_address(Y)]
    assert sess.state.name in ("ESTABLISHED", "IDLE", "ACTIVE", "CONNECT")


def _open_from_peer(core: SpeakerCore, peer, open_msg) -> list[s.TransportOp]:
    core.connection_made(peer, 7, False, 0)
    _sent(core)
    core.data_received(peer, 7, open_msg.encode(), 1)
    return _sent(core)


def test_unknown_capability_is_ignored() -> None:
    from controller.bgp.wire.capabilities import MultiProtocol, UnknownCapability
    from controller.bgp.wire.open import Open

    core, peer = _lone()
    caps = [MultiProtocol(1, 1), UnknownCapability(unknown_code=200, value=b"\x01\x02")]
    ops = _open_from_peer(core, peer, Open.create(65000, 90, str(peer), caps))
    assert core.sessions[peer].state.name == "OPEN_CONFIRM"
    assert isinstance(ops[0], s.Write) and ops[0].data[18] == 4  # our KEEPALIVE


def test_peer_hold_time_of_two_seconds_is_unacceptable() -> None:
    from controller.bgp.wire.capabilities import MultiProtocol
    from controller.bgp.wire.open import Open

    core, peer = _lone()
    ops = _open_from_peer(core, peer, Open.create(65000, 2, str(peer), [MultiProtocol(1, 1)]))
    assert isinstance(ops[0], s.Write) and ops[0].data[18:21] == bytes([3, 2, 6])
    assert ops[-1] == s.Close(7)


def test_zero_hold_time_means_no_keepalives_and_no_expiry() -> None:
    net = black_pair(x_kw={"hold_time": 0})
    start_all(net)
    sent_before = len(net.captured)
    net.advance(1000)
    assert states(net.node(X)) == {Y: "Established"}
    assert len(net.captured) == sent_before  # nothing exchanged at all


def _first_open_sender(net: Net) -> str:
    for src, _dst, data in net.captured:
        if len(data) > 18 and data[18] == 1:
            return str(src)
    raise AssertionError("no OPEN sent")


def test_delay_open_waits_for_the_peers_open() -> None:
    # X connects with DelayOpen 5 s; passive Y sends its OPEN at once, and X answers it.
    net = black_pair(x_kw={"delay_open_time": 5.0}, y_kw={"passive": True})
    for n in net.nodes.values():
        n.start(net.now)
    net.settle()
    assert _first_open_sender(net) == Y
    assert states(net.node(X)) == {Y: "Established"}
    assert net.now == 0.0  # no timer was needed


def test_delay_open_timer_expiry_sends_open() -> None:
    # Both sides delay: nothing happens until X's DelayOpenTimer (2 s) expires.
    net = black_pair(x_kw={"delay_open_time": 2.0}, y_kw={"passive": True, "delay_open_time": 10.0})
    for n in net.nodes.values():
        n.start(net.now)
    net.settle()
    assert net.captured == [] and states(net.node(X)) == {Y: "Connect"}
    net.advance(2.5)
    assert _first_open_sender(net) == X
    assert states(net.node(X)) == {Y: "Established"}
