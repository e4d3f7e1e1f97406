"""MOBIKE (RFC 4555): move an IKE SA and its CHILD_SAs to a new address pair.

Both ends say MOBIKE_SUPPORTED in IKE_AUTH (section 4). Only the original
initiator moves an SA (3.5): it sends an INFORMATIONAL request from its new
address to the peer's (possibly new) address, carrying UPDATE_SA_ADDRESSES and
NAT_DETECTION_SOURCE/DESTINATION_IP computed over the new addresses. That
request is protected by the IKE SA, so only the peer can have sent it; the
responder takes the new addresses from the IP header of that request (never
from a payload), answers with its own NAT detection payloads, and reports
:class:`~controller.ipsec.ike.events.PeerMoved` so the SA database re-points
the CHILD_SAs. A garbled or forged request fails integrity and is dropped
before anything changes; a lost one is retransmitted from the new address.

Not done here: ADDITIONAL_IP*_ADDRESS lists (each C-PE has one black
address), return routability checks with COOKIE2 (the peers are authenticated
C-PEs, not anonymous roaming clients), NO_NATS_ALLOWED.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from controller.ipsec.ike.events import PeerMoved
from controller.ipsec.ike.state import Addr, IkeState
from controller.ipsec.ike.tasks import DONE, Task
from controller.ipsec.ike.tasks.ike_init import nat_hash
from controller.ipsec.ike.wire.consts import ExchangeType, Notify, notify_name
from controller.ipsec.ike.wire.errors import IkeError
from controller.ipsec.ike.wire.message import Message
from controller.ipsec.ike.wire.notify import NotifyPayload

if TYPE_CHECKING:
    from controller.ipsec.ike.sa import IkeSa

NAT_T_PORT = 4500


def is_update(msg: Message) -> bool:
    return (
        msg.exchange == ExchangeType.INFORMATIONAL
        and msg.notify(Notify.UPDATE_SA_ADDRESSES) is not None
    )


def _nat_payloads(sa: IkeSa, msg: Message) -> None:
    msg.payloads += [
        NotifyPayload(Notify.NAT_DETECTION_SOURCE_IP, nat_hash(sa.spi_i, sa.spi_r, sa.local)),
        NotifyPayload(Notify.NAT_DETECTION_DESTINATION_IP, nat_hash(sa.spi_i, sa.spi_r, sa.remote)),
    ]


def _nat_state(sa: IkeSa, msg: Message, local: Addr, remote: Addr) -> None:
    """RFC 7296 2.23 over the new addresses: is there a NAT on either side now?"""
    srcs = [
        n.data for n in msg.all(NotifyPayload) if n.notify_type == Notify.NAT_DETECTION_SOURCE_IP
    ]
    dst = msg.notify(Notify.NAT_DETECTION_DESTINATION_IP)
    if srcs:
        sa.nat_there = nat_hash(sa.spi_i, sa.spi_r, remote) not in srcs
    if dst is not None:
        sa.nat_here = dst.data != nat_hash(sa.spi_i, sa.spi_r, local)


class MobikeUpdate(Task):
    """UPDATE_SA_ADDRESSES: the initiator's request, or the responder's handling of it."""

    exchange = ExchangeType.INFORMATIONAL

    def __init__(self, initiator: bool, addresses: tuple[Addr, Addr] | None = None) -> None:
        super().__init__(initiator)
        self.addresses = addresses  # responder: (source, destination) of the request

    def obsolete(self, sa: IkeSa) -> bool:
        return sa.state != IkeState.ESTABLISHED or not sa.peer_mobike

    def build(self, sa: IkeSa, msg: Message) -> None:
        if self.initiator:
            msg.payloads.append(NotifyPayload(Notify.UPDATE_SA_ADDRESSES))
        _nat_payloads(sa, msg)

    def process(self, sa: IkeSa, msg: Message) -> str:
        if self.initiator:
            err = msg.error_notify()
            if err is not None:
                raise IkeError(
                    None, f"peer refused the address update: {notify_name(err.notify_type)}"
                )
            _nat_state(sa, msg, sa.local, sa.remote)
            if sa.encap and sa.remote[1] != NAT_T_PORT:
                sa.local, sa.remote = (sa.local[0], NAT_T_PORT), (sa.remote[0], NAT_T_PORT)
            sa.log(f"{sa.cfg.name}: MOBIKE: now {sa.local[0]} <-> {sa.remote[0]}")
            return DONE
        assert self.addresses is not None
        src, dst = self.addresses
        _nat_state(sa, msg, dst, src)
        old = sa.remote
        sa.local, sa.remote = dst, src
        if old != src:
            sa.log(f"{sa.cfg.name}: MOBIKE: peer moved {old[0]}:{old[1]} -> {src[0]}:{src[1]}")
            sa.events.append(PeerMoved(sa.cfg.name, old, src, mobike=True))
        return DONE


def move(sa: IkeSa, local_ip: str | None, remote_ip: str | None, now: float) -> bool:
    """Give the SA new addresses; True if an UPDATE_SA_ADDRESSES tells the peer.

    Only the original initiator of an SA whose peer supports MOBIKE may tell the
    peer; otherwise the addresses change on our side only (the caller decides
    whether that SA is still of use or must be replaced).
    """
    if local_ip is not None:
        sa.local = (local_ip, sa.local[1])
    if remote_ip is not None:
        sa.remote = (remote_ip, sa.remote[1])
    if sa.initiator and sa.peer_mobike and sa.state == IkeState.ESTABLISHED:
        sa.queue(MobikeUpdate(True), now)
        return True
    return False
