"""MOBIKE (RFC 4555) between our initiator and our responder, on an explicit clock."""

from __future__ import annotations

import pytest

from controller.ipsec.ike.events import PeerMoved
from controller.ipsec.ike.sa import Datagram, IkeSa, IkeState
from controller.ipsec.ike.wire.consts import ExchangeType, Notify
from controller.ipsec.ike.wire.message import Message, decode_message
from controller.ipsec.ike.wire.notify import NotifyPayload

from .harness import A_ADDR, B_ADDR, Net, connect, pair

pytestmark = pytest.mark.unit
A_NEW, B_NEW = "192.0.2.99", "198.51.100.99"


def moved(net: Net, name: str) -> list[PeerMoved]:
    return [e for _, e in net.events.get(name, []) if isinstance(e, PeerMoved)]


def up() -> tuple[Net, IkeSa, IkeSa]:
    net, a, b = pair()
    sa_a = connect(net, a)
    (sa_b,) = b.established()
    assert sa_a.state == IkeState.ESTABLISHED and sa_a.peer_mobike and sa_b.peer_mobike
    net.nodes[A_NEW], net.nodes[B_NEW] = a, b  # the new addresses reach the same daemons
    return net, sa_a, sa_b


def is_update_from(dg: Datagram, addr: str) -> bool:
    return dg.src[0] == addr and dg.data[18] == ExchangeType.INFORMATIONAL


def test_initiator_moves_and_the_responder_follows() -> None:
    net, sa_a, sa_b = up()
    assert net.nodes[A_ADDR].move(sa_a, net.now, local_ip=A_NEW)
    net.pump()
    assert sa_b.remote == (A_NEW, 500) and sa_b.local == (B_ADDR, 500)
    assert moved(net, B_ADDR) == [
        PeerMoved(sa_b.cfg.name, (A_ADDR, 500), (A_NEW, 500), mobike=True)
    ]
    assert sa_a.active is None and sa_a.state == IkeState.ESTABLISHED
    # the IKE SA works at the new address: a liveness check each way gets its answer
    net.sent.clear()
    net.advance(31)
    assert {d.dst[0] for d in net.sent} == {A_NEW, B_ADDR}
    assert sa_a.state == sa_b.state == IkeState.ESTABLISHED


def test_the_initiator_repoints_to_a_responder_that_moved() -> None:
    net, sa_a, sa_b = up()
    net.nodes[B_ADDR].move(sa_b, net.now, local_ip=B_NEW)  # the responder may not say so itself
    assert sa_b.active is None and not sa_b.pending
    assert net.nodes[A_ADDR].move(
        sa_a, net.now, remote_ip=B_NEW
    )  # e.g. BGP re-advertised its endpoint
    net.pump()
    assert sa_b.local == (B_NEW, 500) and sa_b.remote == (A_ADDR, 500)
    assert sa_a.active is None and moved(net, B_ADDR) == []


def test_a_lost_update_is_retransmitted_from_the_new_address() -> None:
    net, sa_a, sa_b = up()
    lost: list[Datagram] = []

    def drop_first(dg: Datagram) -> bool:
        if not lost and is_update_from(dg, A_NEW):
            lost.append(dg)
            return True
        return False

    net.drop = drop_first
    net.nodes[A_ADDR].move(sa_a, net.now, local_ip=A_NEW)
    net.pump()
    assert lost and sa_b.remote == (A_ADDR, 500) and sa_a.active is not None
    net.advance(3)  # the first retransmission (RFC 7296 2.1)
    assert sa_b.remote == (A_NEW, 500) and sa_a.active is None
    assert len(moved(net, B_ADDR)) == 1


def test_a_garbled_update_changes_nothing() -> None:
    net, sa_a, sa_b = up()
    garbled: list[Datagram] = []

    def garble(dg: Datagram) -> Datagram:
        if not garbled and is_update_from(dg, A_NEW):
            data = bytearray(dg.data)
            data[-5] ^= 0x40  # inside the integrity-protected SK payload
            garbled.append(dg)
            return Datagram(bytes(data), dg.src, dg.dst)
        return dg

    net.nat = garble
    net.nodes[A_ADDR].move(sa_a, net.now, local_ip=A_NEW)
    net.pump()
    assert garbled
    assert sa_b.remote == (A_ADDR, 500) and moved(net, B_ADDR) == []
    assert sa_b.state == IkeState.ESTABLISHED  # dropped, not a reason to give up the SA
    net.advance(3)  # the genuine retransmission still moves it
    assert sa_b.remote == (A_NEW, 500)


def test_a_replayed_update_from_elsewhere_does_not_move_the_sa() -> None:
    net, sa_a, sa_b = up()
    net.nodes[A_ADDR].move(sa_a, net.now, local_ip=A_NEW)
    net.pump()
    update = next(d for d in net.sent if is_update_from(d, A_NEW))
    # an attacker on the path replays the authenticated request from its own address:
    # its message ID is already answered, so only the cached response goes out
    attacker = ("203.0.113.66", 500)
    net.nodes[B_ADDR].receive(update.data, attacker, update.dst, net.now)
    assert sa_b.remote == (A_NEW, 500)
    out, _ = net.nodes[B_ADDR].drain()
    assert all(d.dst == (A_NEW, 500) for d in out)


def test_an_update_without_mobike_negotiated_is_not_sent_nor_honoured() -> None:
    net, a, b = pair(b_kw={"mobike": False})
    sa_a = connect(net, a)
    (sa_b,) = b.established()
    assert not sa_a.peer_mobike and not sa_b.peer_mobike
    net.nodes[A_NEW] = a
    assert not net.nodes[A_ADDR].move(sa_a, net.now, local_ip=A_NEW)
    assert sa_a.active is None and not sa_a.pending


def test_the_update_carries_nat_detection_over_the_new_addresses() -> None:
    net, sa_a, sa_b = up()
    net.nodes[A_ADDR].move(sa_a, net.now, local_ip=A_NEW)
    net.pump()
    update = next(d for d in net.sent if is_update_from(d, A_NEW))
    msg = decode_message(update.data, sa_b.cipher_in)
    assert isinstance(msg, Message)
    kinds = {n.notify_type for n in msg.all(NotifyPayload)}
    assert {
        Notify.UPDATE_SA_ADDRESSES,
        Notify.NAT_DETECTION_SOURCE_IP,
        Notify.NAT_DETECTION_DESTINATION_IP,
    } <= kinds
    assert not sa_b.nat_here and not sa_b.nat_there  # hashes match the new header
