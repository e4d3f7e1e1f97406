"""The one error type of the IKE core: named after the NOTIFY that answers it."""

from __future__ import annotations

from controller.ipsec.ike.wire.consts import Notify


class IkeError(Exception):
    """A protocol error; ``notify`` is what goes back to the peer (None: drop silently).

    RFC 7296 section 2.21 decides per case whether a malformed message gets a
    NOTIFY or is dropped; the raiser decides and the SA/daemon obeys.
    """

    def __init__(self, notify: Notify | None, detail: str, data: bytes = b"") -> None:
        super().__init__(detail)
        self.notify = notify
        self.detail = detail
        self.data = data
        # set once the message's integrity was verified (or it needs none: IKE_SA_INIT);
        # only then may an error NOTIFY go back (RFC 7296 2.21.2)
        self.authenticated = False

    def __str__(self) -> str:
        name = self.notify.name if self.notify is not None else "drop"
        return f"{name}: {self.detail}"


def syntax(detail: str) -> IkeError:
    """A malformed message: INVALID_SYNTAX (RFC 7296 section 2.21.2)."""
    return IkeError(Notify.INVALID_SYNTAX, detail)
