"""IKE SA rekey via CREATE_CHILD_SA (RFC 7296 1.3.2, 2.18).

SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr)
SPIs and nonces are those of the rekeying exchange; its initiator becomes the
new SA's original initiator, and deletes the old SA afterwards.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from controller.ipsec.ike.crypto.dh import DhExchange
from controller.ipsec.ike.crypto.keys import derive_ike_keys, skeyseed
from controller.ipsec.ike.events import IkeRekeyed
from controller.ipsec.ike.proposals import one, parse_proposals, select
from controller.ipsec.ike.state import IkeState
from controller.ipsec.ike.tasks import DONE, Task
from controller.ipsec.ike.tasks.ike_init import suite_of
from controller.ipsec.ike.wire.consts import (
    ExchangeType,
    Notify,
    Protocol,
    TransformType,
    notify_name,
)
from controller.ipsec.ike.wire.errors import IkeError, syntax
from controller.ipsec.ike.wire.message import Message
from controller.ipsec.ike.wire.sa import Proposal, SaPayload
from controller.ipsec.ike.wire.simple import KePayload, NoncePayload

if TYPE_CHECKING:
    from controller.ipsec.ike.sa import IkeSa


class IkeRekey(Task):
    exchange = ExchangeType.CREATE_CHILD_SA

    def __init__(self, initiator: bool) -> None:
        super().__init__(initiator)
        self.nonce = os.urandom(32)
        self.spi = os.urandom(8)
        self.dh: DhExchange | None = None
        self.chosen: Proposal | None = None
        self.peer_nonce = self.peer_spi = self.peer_ke = b""

    def build(self, sa: IkeSa, msg: Message) -> None:
        assert sa.suite is not None
        if self.initiator:
            props = parse_proposals(sa.cfg.ike_proposals, Protocol.IKE, self.spi)
            self.dh = DhExchange(sa.suite.dh_group)
            msg.payloads += [
                SaPayload(props),
                NoncePayload(self.nonce),
                KePayload(self.dh.group, self.dh.public),
            ]
            return
        assert self.chosen is not None and self.dh is not None
        mine = Proposal(self.chosen.num, Protocol.IKE, self.spi, self.chosen.transforms)
        msg.payloads += [
            SaPayload([mine]),
            NoncePayload(self.nonce),
            KePayload(self.dh.group, self.dh.public),
        ]
        new = self._make(sa, self.peer_spi, self.spi, self.peer_nonce, self.nonce, self.peer_ke)
        mine_out = sa.active
        if isinstance(mine_out, IkeRekey) and mine_out.initiator:
            # both ends rekey at once (RFC 7296 2.8.2): our own exchange settles it
            sa.collision = (new, min(self.peer_nonce, self.nonce))
        else:
            _adopt(sa, new)

    def obsolete(self, sa: IkeSa) -> bool:
        return sa.successor is not None

    def process(self, sa: IkeSa, msg: Message) -> str:
        sa_p, ke, nonce = msg.get(SaPayload), msg.get(KePayload), msg.get(NoncePayload)
        if self.initiator:
            err = msg.error_notify()
            if err is not None:
                raise IkeError(None, f"peer refused IKE rekey: {notify_name(err.notify_type)}")
        if sa_p is None or ke is None or nonce is None:
            raise syntax("IKE rekey without SA, KE or Nonce")
        chosen = select(sa_p.proposals, parse_proposals(sa.cfg.ike_proposals, Protocol.IKE))
        if chosen is None or len(chosen.spi) != 8:
            raise IkeError(Notify.NO_PROPOSAL_CHOSEN, "no acceptable IKE proposal for the rekey")
        self.chosen = chosen
        if self.initiator:
            assert self.dh is not None
            if ke.group != self.dh.group:
                raise IkeError(None, f"IKE rekey answered with KE group {ke.group}")
            new = self._make(sa, self.spi, chosen.spi, self.nonce, nonce.nonce, ke.data)
            self._settle(sa, new, min(self.nonce, nonce.nonce))
            return DONE
        if sa.successor is not None:
            raise IkeError(Notify.TEMPORARY_FAILURE, "this IKE SA is already rekeyed")
        group = one(chosen, TransformType.DH)
        assert group is not None
        if ke.group != group.id:
            raise IkeError(
                Notify.INVALID_KE_PAYLOAD, f"want KE group {group.id}", group.id.to_bytes(2, "big")
            )
        self.dh = DhExchange(group.id)
        self.peer_spi, self.peer_nonce, self.peer_ke = chosen.spi, nonce.nonce, ke.data
        return DONE

    def _settle(self, sa: IkeSa, ours: IkeSa, our_min: bytes) -> None:
        """Our rekey completed: adopt our new SA, or the peer's on a collision we lost."""
        from controller.ipsec.ike.tasks.informational import Informational

        theirs = sa.collision
        sa.collision = None
        if theirs is not None and theirs[0].state == IkeState.ESTABLISHED and our_min < theirs[1]:
            # ours holds the lowest nonce: it is redundant; we delete it, the peer deletes
            # the old SA (RFC 7296 2.8.2)
            _adopt(sa, theirs[0])
            ours.queue(Informational(True, delete_ike=True), sa.last_heard)
            return
        _adopt(sa, ours)
        sa.queue(Informational(True, delete_ike=True), sa.last_heard)

    def _make(
        self, sa: IkeSa, spi_i: bytes, spi_r: bytes, ni: bytes, nr: bytes, peer_ke: bytes
    ) -> IkeSa:
        """The new IKE SA with keys from SK_d (old) and the new DH secret; not yet in use."""
        from controller.ipsec.ike.sa import IkeSa as Sa

        assert (
            self.dh is not None
            and self.chosen is not None
            and sa.keys is not None
            and sa.suite is not None
        )
        now = sa.last_heard
        new = Sa(
            sa.cfg, self.initiator, sa.local, sa.remote, now, spi_i, spi_r, sa.spi_alloc,
            exchanges=sa.exchanges,
        )  # fmt: skip
        suite = suite_of(self.chosen)
        seed = skeyseed(sa.suite.prf, ni, nr, self.dh.shared_secret(peer_ke), sa.keys.sk_d)
        new.suite, new.ni, new.nr = suite, ni, nr
        new.keys = derive_ike_keys(suite, seed, ni, nr, spi_i, spi_r)
        new.cipher_out, new.cipher_in = new.keys.ciphers(suite, self.initiator)
        new.nat_here, new.nat_there = sa.nat_here, sa.nat_there
        new.peer_fragments, new.remote_id, new.log = sa.peer_fragments, sa.remote_id, sa.log
        new.state = IkeState.ESTABLISHED
        life = sa.cfg.lifetimes
        if life.rekey_seconds:
            new.rekey_at = now + life.rekey_seconds * (0.95 if self.initiator else 1.0)
        if life.life_seconds:
            new.expire_at = now + life.life_seconds
        sa.spawned.append(new)
        return new


def _adopt(sa: IkeSa, new: IkeSa) -> None:
    """``new`` replaces ``sa``: CHILD_SAs and queued CHILD_SA work move over (RFC 7296 2.18)."""
    from controller.ipsec.ike.tasks.child_create import ChildCreate

    new.children, sa.children = sa.children, []
    new.pending.extend(t for t in sa.pending if isinstance(t, ChildCreate))
    sa.pending = type(sa.pending)(t for t in sa.pending if not isinstance(t, ChildCreate))
    sa.rekey_at = sa.expire_at = None
    sa.successor = new
    sa.events.append(IkeRekeyed(sa.cfg.name, sa.spis, new.spis))
