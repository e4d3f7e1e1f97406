"""The responder half of an IKE SA: answer requests in order, once, and repeat answers.

RFC 7296 2.1-2.3: a request with the expected message ID is processed by the
task its exchange calls for and answered; a repeat of the previous one gets the
cached answer again; anything else is dropped. An authenticated request that
cannot be parsed is refused with its NOTIFY (2.21.2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.ipsec.ike.events import PeerMoved
from controller.ipsec.ike.state import Addr, IkeState
from controller.ipsec.ike.tasks.dispatch import responder_task
from controller.ipsec.ike.tasks.mobike import MobikeUpdate
from controller.ipsec.ike.wire.consts import ExchangeType, Notify
from controller.ipsec.ike.wire.errors import IkeError
from controller.ipsec.ike.wire.header import IkeHeader
from controller.ipsec.ike.wire.message import Message, error_response

if TYPE_CHECKING:
    from controller.ipsec.ike.sa import IkeSa


def on_request(sa: IkeSa, msg: Message, raw: bytes, src: Addr, dst: Addr, now: float) -> None:
    if msg.message_id == sa.mid_in - 1 and sa.last_response is not None:
        mid, packets = sa.last_response
        if mid == msg.message_id:
            sa.emit(packets, now)  # the peer lost our response (RFC 7296 2.1)
        return
    if msg.message_id != sa.mid_in:
        sa.log(f"{sa.cfg.name}: request {msg.message_id} outside window {sa.mid_in}")
        return
    task = responder_task(sa, msg)
    if isinstance(task, MobikeUpdate):
        task.addresses = (src, dst)  # RFC 4555 3.5: the IP header of this request says where
    elif sa.state == IkeState.CONNECTING:
        sa.local, sa.remote = dst, src  # the initiator may have floated to 4500
    elif msg.encrypted and sa.encap and src != sa.remote:
        # NAT mapping changed (RFC 7296 2.23): follow the authenticated peer
        sa.events.append(PeerMoved(sa.cfg.name, sa.remote, src))
        sa.remote = src
    if msg.exchange == ExchangeType.IKE_SA_INIT:
        sa.init_request = raw
    resp = Message(msg.exchange, msg.message_id, sa.spi_i, sa.spi_r, True, sa.initiator)
    resp.encrypted = msg.encrypted
    if task is None:
        resp = error_response(msg, Notify.INVALID_SYNTAX)
        resp.initiator = sa.initiator
    else:
        try:
            task.process(sa, msg)
            task.build(sa, resp)
        except IkeError as exc:
            sa.log(f"{sa.cfg.name}: request {msg.message_id} refused: {exc}")
            if exc.notify is None:
                return
            resp = error_response(msg, exc.notify, exc.data)
            resp.initiator = sa.initiator
            init = msg.exchange == ExchangeType.IKE_SA_INIT
            resp.spi_r = bytes(8) if init else sa.spi_r
    packets = sa.encode(resp)
    if msg.exchange == ExchangeType.IKE_SA_INIT:
        sa.init_response = packets[0]
    sa.last_response = (msg.message_id, packets)
    sa.mid_in += 1
    sa.emit(packets, now)
    if task is not None:
        task.responded(sa)
    early = msg.exchange in (ExchangeType.IKE_SA_INIT, ExchangeType.IKE_AUTH)
    if sa.state == IkeState.CONNECTING and early and resp.error_notify() is not None:
        sa.fail(f"{ExchangeType(msg.exchange).name} refused")
    sa.start_next(now)


def refuse(sa: IkeSa, data: bytes, exc: IkeError) -> None:
    """Answer an authenticated but unacceptable request with its error NOTIFY."""
    hdr = IkeHeader.decode(data)
    if hdr.is_response or hdr.message_id != sa.mid_in or exc.notify is None:
        return  # errors in responses are never answered (RFC 7296 2.21)
    req = Message(hdr.exchange, hdr.message_id, sa.spi_i, sa.spi_r, False, not sa.initiator)
    req.encrypted = hdr.exchange != ExchangeType.IKE_SA_INIT
    resp = error_response(req, exc.notify, exc.data)
    packets = sa.encode(resp)
    sa.last_response = (hdr.message_id, packets)
    sa.mid_in += 1
    sa.emit(packets)
