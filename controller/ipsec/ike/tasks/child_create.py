"""CREATE_CHILD_SA for a new or rekeyed CHILD_SA (RFC 7296 1.3.1, 1.3.3, 2.8, 2.8.1).

Rekey: the request carries REKEY_SA naming the old SA's inbound SPI (of the
sender). The new SA replaces the old; the exchange's initiator then deletes the
old one. On a simultaneous rekey of the same SA, the SA created with the lowest
of the four nonces is redundant and its creator deletes it (2.8.1).
"""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING

from controller.ipsec.ike.child import ChildSa, ChildState
from controller.ipsec.ike.crypto.dh import DhExchange
from controller.ipsec.ike.events import ChildUp
from controller.ipsec.ike.proposals import one, parse_proposal
from controller.ipsec.ike.tasks import DONE, RETRY, Task
from controller.ipsec.ike.tasks.childneg import (
    add_request,
    add_response,
    initiator_accept,
    make_child,
    responder_choose,
)
from controller.ipsec.ike.wire.consts import ExchangeType, Notify, Protocol, TransformType
from controller.ipsec.ike.wire.errors import IkeError, syntax
from controller.ipsec.ike.wire.message import Message
from controller.ipsec.ike.wire.notify import NotifyPayload
from controller.ipsec.ike.wire.simple import KePayload, NoncePayload

if TYPE_CHECKING:
    from controller.ipsec.ike.config import ChildConfig
    from controller.ipsec.ike.sa import IkeSa


def _pfs_group(cfg: ChildConfig) -> int:
    dh = one(parse_proposal(cfg.esp_proposals[0], Protocol.ESP), TransformType.DH)
    return dh.id if dh else 0


class ChildCreate(Task):
    exchange = ExchangeType.CREATE_CHILD_SA

    def __init__(
        self, initiator: bool, cfg: ChildConfig | None = None, old: ChildSa | None = None
    ) -> None:
        super().__init__(initiator)
        self.cfg = cfg
        self.old = old
        self.nonce = os.urandom(32)
        self.spi_in = 0
        self.dh: DhExchange | None = None
        self.peer_nonce = b""
        self.new: ChildSa | None = None
        self.group = 0  # set by an INVALID_KE_PAYLOAD answer

    def obsolete(self, sa: IkeSa) -> bool:
        old = self.old
        return old is not None and (old.state != ChildState.INSTALLED or old not in sa.children)

    def build(self, sa: IkeSa, msg: Message) -> None:
        if self.initiator:
            assert self.cfg is not None
            if self.old is not None:
                self.old.state = ChildState.REKEYING
                msg.payloads.append(
                    NotifyPayload(
                        Notify.REKEY_SA, b"", Protocol.ESP, struct.pack("!I", self.old.spi_in)
                    )
                )
            self.spi_in = sa.spi_alloc()
            group = self.group or _pfs_group(self.cfg)
            add_request(msg, self.cfg, self.spi_in, pfs=bool(group))
            msg.payloads.append(NoncePayload(self.nonce))
            if group:
                self.dh = DhExchange(group)
                msg.payloads.append(KePayload(group, self.dh.public))
            return
        assert self.new is not None
        _, chosen, local, remote, transport = self._chosen
        add_response(msg, chosen, self.new.spi_in, local, remote, transport)
        msg.payloads.append(NoncePayload(self.nonce))
        if self.dh is not None:
            msg.payloads.append(KePayload(self.dh.group, self.dh.public))

    def process(self, sa: IkeSa, msg: Message) -> str:
        if not self.initiator:
            self._respond(sa, msg)
            return DONE
        assert self.cfg is not None
        bad_ke = msg.notify(Notify.INVALID_KE_PAYLOAD)
        if bad_ke is not None and len(bad_ke.data) == 2 and self.dh is not None:
            (want,) = struct.unpack("!H", bad_ke.data)
            offered = {
                t.id
                for text in self.cfg.esp_proposals
                for t in parse_proposal(text, Protocol.ESP).of_type(TransformType.DH)
            }
            if want in offered and want != self.dh.group and not self.group:
                self.group = want  # RFC 7296 1.3: retry once with the group the peer wants
                return RETRY
        try:
            chosen, local, remote, transport = initiator_accept(
                self.cfg, msg, pfs=self.dh is not None
            )
            nonce = msg.get(NoncePayload)
            if nonce is None:
                raise syntax("CREATE_CHILD_SA response without Nonce")
            shared = None
            if self.dh is not None:
                ke = msg.get(KePayload)
                if ke is None or ke.group != self.dh.group:
                    raise IkeError(None, "CREATE_CHILD_SA response without the KE we asked for")
                shared = self.dh.shared_secret(ke.data)
        except IkeError:
            if self.old is not None and self.old.state == ChildState.REKEYING:
                self.old.state = ChildState.INSTALLED
            raise
        new = make_child(
            sa,
            self.cfg,
            chosen,
            self.spi_in,
            local,
            remote,
            transport,
            True,
            self.nonce,
            nonce.nonce,
            sa.last_heard,
            shared,
        )
        new.from_rekey = self.old is not None
        sa.children.append(new)
        sa.events.append(ChildUp(sa.cfg.name, new, self.old))
        if self.old is not None:
            self._settle(sa, self.old, new)
        return DONE

    def _settle(self, sa: IkeSa, old: ChildSa, ours: ChildSa) -> None:
        """Our rekey of ``old`` completed: delete old, or our redundant SA on a collision."""
        from controller.ipsec.ike.tasks.informational import Informational

        theirs = old.peer_rekey
        if theirs is not None and theirs in sa.children and min(ours.nonces) < min(theirs.nonces):
            # we lost: the peer's new SA survives, and the peer deletes the old one
            ours.state = ChildState.REKEYED
            old.state = ChildState.REKEYED
            sa.queue(Informational(True, children=[ours]), sa.last_heard)
            return
        old.state = ChildState.REKEYED
        sa.queue(Informational(True, children=[old]), sa.last_heard)

    def _respond(self, sa: IkeSa, msg: Message) -> None:
        nonce = msg.get(NoncePayload)
        if nonce is None:
            raise syntax("CREATE_CHILD_SA request without Nonce")
        old: ChildSa | None = None
        rekey = msg.notify(Notify.REKEY_SA)
        if rekey is not None:
            if len(rekey.spi) != 4:
                raise syntax("REKEY_SA with a bad SPI")
            old = sa.find_child(struct.unpack("!I", rekey.spi)[0], inbound=False)
            if old is None or old.state in (ChildState.DELETING, ChildState.DELETED):
                raise IkeError(
                    Notify.CHILD_SA_NOT_FOUND, f"no CHILD_SA with SPI 0x{rekey.spi.hex()}"
                )
        ke = msg.get(KePayload)
        self._chosen = responder_choose(sa, msg, with_dh=ke is not None)
        cfg, chosen, local, remote, transport = self._chosen
        shared = None
        group = one(chosen, TransformType.DH)
        if group is not None and group.id:
            if ke is None or ke.group != group.id:
                raise IkeError(
                    Notify.INVALID_KE_PAYLOAD,
                    f"want KE group {group.id}",
                    struct.pack("!H", group.id),
                )
            self.dh = DhExchange(group.id)
            shared = self.dh.shared_secret(ke.data)
        spi_in = sa.spi_alloc()
        new = make_child(
            sa,
            cfg,
            chosen,
            spi_in,
            local,
            remote,
            transport,
            False,
            nonce.nonce,
            self.nonce,
            sa.last_heard,
            shared,
        )
        self.new = new
        new.from_rekey = old is not None
        sa.children.append(new)
        sa.events.append(ChildUp(sa.cfg.name, new, old))
        if old is not None:
            if old.state == ChildState.REKEYING:
                old.peer_rekey = new  # collision: settled by our own task
            else:
                old.state = ChildState.REKEYED  # the peer deletes it once it has our answer
