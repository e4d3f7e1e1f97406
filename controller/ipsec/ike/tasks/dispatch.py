"""Which task answers a request, and which timers start tasks of our own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.ipsec.ike.child import ChildState
from controller.ipsec.ike.state import IkeState
from controller.ipsec.ike.tasks import Task
from controller.ipsec.ike.tasks.child_create import ChildCreate
from controller.ipsec.ike.tasks.ike_auth import IkeAuth
from controller.ipsec.ike.tasks.ike_init import IkeInit
from controller.ipsec.ike.tasks.ike_rekey import IkeRekey
from controller.ipsec.ike.tasks.informational import Informational
from controller.ipsec.ike.tasks.mobike import MobikeUpdate, is_update
from controller.ipsec.ike.wire.consts import ExchangeType, Protocol
from controller.ipsec.ike.wire.message import Message
from controller.ipsec.ike.wire.sa import SaPayload

if TYPE_CHECKING:
    from controller.ipsec.ike.sa import IkeSa


def responder_task(sa: IkeSa, msg: Message) -> Task | None:

    if msg.exchange == ExchangeType.IKE_SA_INIT:
        return IkeInit(False) if sa.state == IkeState.CONNECTING and msg.message_id == 0 else None
    if msg.exchange == ExchangeType.IKE_AUTH:
        ok = sa.state == IkeState.CONNECTING and sa.keys is not None and msg.encrypted
        return IkeAuth(False) if ok else None
    if sa.state not in (IkeState.ESTABLISHED, IkeState.DELETING) or not msg.encrypted:
        return None
    if msg.exchange == ExchangeType.INFORMATIONAL:
        if is_update(msg) and sa.peer_mobike and not sa.initiator:
            return MobikeUpdate(False)  # only the original initiator moves an SA (RFC 4555)
        return Informational(False)
    if msg.exchange == ExchangeType.CREATE_CHILD_SA:
        sa_p = msg.get(SaPayload)
        if sa_p is not None and sa_p.proposals and sa_p.proposals[0].protocol == Protocol.IKE:
            return IkeRekey(False)
        return ChildCreate(False)
    return None


def timers_due(sa: IkeSa, now: float) -> None:

    if sa.state != IkeState.ESTABLISHED:
        return
    if sa.expire_at is not None and now >= sa.expire_at:
        sa.expire_at = None
        sa.queue(Informational(True, delete_ike=True), now)
        return
    if sa.rekey_at is not None and now >= sa.rekey_at:
        sa.rekey_at = None
        sa.queue(IkeRekey(True), now)
    for child in list(sa.children):
        if child.expire_at is not None and now >= child.expire_at:
            child.expire_at = None
            sa.queue(Informational(True, children=[child]), now)
        elif child.rekey_at is not None and now >= child.rekey_at:
            child.rekey_at = None
            rekey_child(sa, child, now)
    if (
        sa.cfg.dpd_seconds
        and now >= sa.last_heard + sa.cfg.dpd_seconds
        and sa.active is None
        and not sa.pending
    ):
        sa.last_heard = now  # one probe per interval; retransmission decides death
        sa.queue(Informational(True), now)


def rekey_child(sa: IkeSa, child: object, now: float) -> None:
    from controller.ipsec.ike.child import ChildSa

    assert isinstance(child, ChildSa)
    if child.state == ChildState.INSTALLED and child in sa.children:
        sa.queue(ChildCreate(True, sa.cfg.child(child.name), old=child), now)
