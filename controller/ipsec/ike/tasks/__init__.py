"""IKEv2 exchanges as tasks (strongSwan's sa/ikev2/tasks habit).

The initiator calls ``build(sa, request)`` then ``process(sa, response)``; the
responder calls ``process(sa, request)`` then ``build(sa, response)``. A task that
returns :data:`RETRY` from ``process`` on the initiator side is built and sent
again (COOKIE, INVALID_KE_PAYLOAD). Errors are :class:`IkeError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from controller.ipsec.ike.wire.message import Message

if TYPE_CHECKING:
    from controller.ipsec.ike.sa import IkeSa

DONE = "done"
RETRY = "retry"


class Task:
    exchange: ClassVar[int]

    def __init__(self, initiator: bool) -> None:
        self.initiator = initiator

    def build(self, sa: IkeSa, msg: Message) -> None:
        raise NotImplementedError

    def process(self, sa: IkeSa, msg: Message) -> str:
        raise NotImplementedError

    def obsolete(self, sa: IkeSa) -> bool:
        """True if there is no longer any point in sending this request."""
        return False

    def responded(self, sa: IkeSa) -> None:
        """Responder side: our response has been sent (e.g. now drop a deleted SA)."""

    def failed(self, sa: IkeSa, reason: str) -> None:
        """The exchange could not complete (error notify, timeout); default: nothing."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({'i' if self.initiator else 'r'})"
