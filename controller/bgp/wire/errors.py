"""The one exception the wire layer raises: a BGP error that knows its reply.

Every decoder raises only :class:`BgpError`. It carries the NOTIFICATION
code, subcode and data that RFC 4271 section 6 says to send back, and the
RFC 7606 section 2 approach the receiver should take, so the session layer
turns it into an action without re-deriving anything:

* ``SESSION_RESET``      send the NOTIFICATION and drop the session;
* ``AFI_SAFI_DISABLE``   (RFC 4760 7) stop using the family, or reset;
* ``TREAT_AS_WITHDRAW``  keep the session, withdraw every prefix of the UPDATE;
* ``ATTRIBUTE_DISCARD``  keep the session and the routes, drop the attribute.

Actions are ordered by severity, so the worst of several errors is ``max()``.
"""

from __future__ import annotations

import enum

from controller.bgp.wire.constants import ErrorCode, UpdateSubcode


class ErrorAction(enum.IntEnum):
    """RFC 7606 section 2 error-handling approaches, mildest first."""

    ATTRIBUTE_DISCARD = 1
    TREAT_AS_WITHDRAW = 2
    AFI_SAFI_DISABLE = 3
    SESSION_RESET = 4


class BgpError(Exception):
    """A protocol error found while decoding: what went wrong, where, and the reply.

    ``where`` names the message and field ("UPDATE attribute MED"), so the
    one-line ``str()`` is fit for a log line. ``data`` is the NOTIFICATION
    data field (usually the offending attribute or field, RFC 4271 6.3).
    """

    def __init__(
        self,
        code: int,
        subcode: int,
        reason: str,
        *,
        where: str = "",
        data: bytes = b"",
        action: ErrorAction = ErrorAction.SESSION_RESET,
    ) -> None:
        self.code = int(code)
        self.subcode = int(subcode)
        self.reason = reason
        self.where = where
        self.data = bytes(data)
        self.action = action
        super().__init__(str(self))

    def __str__(self) -> str:
        place = f"{self.where}: " if self.where else ""
        return (
            f"{place}{self.reason} (NOTIFICATION {self.code}/{self.subcode}, "
            f"{self.action.name.lower().replace('_', '-')})"
        )

    def __repr__(self) -> str:
        return f"BgpError({self})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BgpError):
            return NotImplemented
        return (self.code, self.subcode, self.data, self.action, self.where, self.reason) == (
            other.code,
            other.subcode,
            other.data,
            other.action,
            other.where,
            other.reason,
        )

    def __hash__(self) -> int:
        return hash((self.code, self.subcode, self.data, self.action))

    def with_action(self, action: ErrorAction) -> BgpError:
        """The same error handled differently (e.g. a flags error on a discardable attribute)."""
        return BgpError(
            self.code, self.subcode, self.reason, where=self.where, data=self.data, action=action
        )


def update_error(
    subcode: UpdateSubcode,
    reason: str,
    *,
    where: str,
    data: bytes = b"",
    action: ErrorAction = ErrorAction.TREAT_AS_WITHDRAW,
) -> BgpError:
    """Shorthand for the UPDATE Message Error (code 3) that most attribute checks raise."""
    return BgpError(
        ErrorCode.UPDATE_MESSAGE, subcode, reason, where=where, data=data, action=action
    )
