"""Exceptions of the P4Runtime client; each message is one readable line."""

from __future__ import annotations

from dataclasses import dataclass


class P4RuntimeClientError(Exception):
    """Base of every error this package raises."""


class P4ValueError(P4RuntimeClientError, ValueError):
    """A value that cannot be encoded for its field (bad text, too wide, host bits set)."""


class SchemaError(P4RuntimeClientError, KeyError):
    """A name or ID that the P4Info does not define."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "schema error"


class NotPrimaryError(P4RuntimeClientError):
    """The client is not (or no longer) the primary controller for its role."""


class RpcError(P4RuntimeClientError):
    """A P4Runtime RPC failed as a whole."""

    def __init__(self, rpc: str, code: str, details: str) -> None:
        super().__init__(f"{rpc} failed: {code}: {details}")
        self.rpc = rpc
        self.code = code
        self.details = details


@dataclass(frozen=True)
class UpdateFailure:
    """One failed update of a Write batch, as the server reported it."""

    index: int
    update_type: str
    entity: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"#{self.index} {self.update_type} {self.entity}: {self.code}: {self.message}"


class WriteError(P4RuntimeClientError):
    """A Write batch in which some updates failed; ``failures`` lists each one.

    The message names the first ``SHOWN`` failures (a batch of 1,000 may fail
    whole); ``failures`` always has every one.
    """

    SHOWN = 20

    def __init__(self, failures: list[UpdateFailure], total: int) -> None:
        self.failures = failures
        self.total = total
        lines = "; ".join(str(f) for f in failures[: self.SHOWN])
        if len(failures) > self.SHOWN:
            lines += f"; and {len(failures) - self.SHOWN} more"
        super().__init__(f"Write: {len(failures)} of {total} updates failed: {lines}")
