"""The exchanges an IKE SA runs by itself, as ``sa.Exchanges``: what ``IkeDaemon`` gives
each SA it makes (an IKE rekey hands the same to the new SA)."""

from __future__ import annotations

from controller.ipsec.ike import responder
from controller.ipsec.ike.child import ChildSa
from controller.ipsec.ike.sa import IkeSa
from controller.ipsec.ike.state import Addr
from controller.ipsec.ike.tasks import dispatch, mobike
from controller.ipsec.ike.wire.errors import IkeError
from controller.ipsec.ike.wire.message import Message


class TaskExchanges:
    def on_request(
        self, sa: IkeSa, msg: Message, raw: bytes, src: Addr, dst: Addr, now: float
    ) -> None:
        responder.on_request(sa, msg, raw, src, dst, now)

    def refuse(self, sa: IkeSa, data: bytes, exc: IkeError) -> None:
        responder.refuse(sa, data, exc)

    def timers_due(self, sa: IkeSa, now: float) -> None:
        dispatch.timers_due(sa, now)

    def rekey_child(self, sa: IkeSa, child: ChildSa, now: float) -> None:
        dispatch.rekey_child(sa, child, now)

    def move(self, sa: IkeSa, local_ip: str | None, remote_ip: str | None, now: float) -> bool:
        return mobike.move(sa, local_ip, remote_ip, now)


EXCHANGES = TaskExchanges()
