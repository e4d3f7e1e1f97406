"""INFORMATIONAL (RFC 7296 1.4, 1.5, 2.4): deletes of CHILD_SAs or the IKE SA; empty = liveness."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from controller.ipsec.ike.child import ChildSa, ChildState
from controller.ipsec.ike.state import IkeState
from controller.ipsec.ike.tasks import DONE, Task
from controller.ipsec.ike.wire.consts import ExchangeType, Protocol
from controller.ipsec.ike.wire.message import Message
from controller.ipsec.ike.wire.notify import DeletePayload

if TYPE_CHECKING:
    from controller.ipsec.ike.sa import IkeSa


class Informational(Task):
    exchange = ExchangeType.INFORMATIONAL

    def __init__(
        self, initiator: bool, children: list[ChildSa] | None = None, delete_ike: bool = False
    ) -> None:
        super().__init__(initiator)
        self.children = children or []
        self.delete_ike = delete_ike
        self._answer: list[ChildSa] = []

    def build(self, sa: IkeSa, msg: Message) -> None:

        if self.initiator:
            if self.delete_ike:
                sa.state = IkeState.DELETING
                msg.payloads.append(DeletePayload(Protocol.IKE, []))
                return
            live = [c for c in self.children if c in sa.children]
            for c in live:
                c.state = ChildState.DELETING
            if live:
                msg.payloads.append(
                    DeletePayload(Protocol.ESP, [struct.pack("!I", c.spi_in) for c in live])
                )
            return
        if self._answer:
            spis = [struct.pack("!I", c.spi_in) for c in self._answer]
            msg.payloads.append(DeletePayload(Protocol.ESP, spis))
            for c in self._answer:
                sa.remove_child(c, "deleted by peer")

    def process(self, sa: IkeSa, msg: Message) -> str:
        if self.initiator:
            if self.delete_ike:
                sa.fail("deleted")
                return DONE
            for c in self.children:
                sa.remove_child(c, "deleted")
            return DONE
        for d in msg.all(DeletePayload):
            if d.protocol == Protocol.IKE:
                self.delete_ike = True
            elif d.protocol == Protocol.ESP:
                for raw in d.spis:
                    if len(raw) == 4:
                        found = sa.find_child(struct.unpack("!I", raw)[0], inbound=False)
                        if found is None or found in self._answer:
                            continue
                        if found.state == ChildState.DELETING:
                            sa.remove_child(found, "deleted")  # both deleted at once (1.4.1)
                        else:
                            self._answer.append(found)
        return DONE

    def responded(self, sa: IkeSa) -> None:
        if self.delete_ike and not self.initiator:
            sa.fail("deleted by peer")
