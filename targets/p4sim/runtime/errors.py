"""The error a P4Runtime request gets back, and the map from state-layer errors."""

from __future__ import annotations

import grpc

from targets.p4sim.state import StateError

_STATE_KIND_TO_CODE = {
    "not_found": grpc.StatusCode.NOT_FOUND,
    "already_exists": grpc.StatusCode.ALREADY_EXISTS,
    "invalid": grpc.StatusCode.INVALID_ARGUMENT,
    "out_of_range": grpc.StatusCode.OUT_OF_RANGE,
    "exhausted": grpc.StatusCode.RESOURCE_EXHAUSTED,
}


class P4RTError(Exception):
    """A request (or one update of a batch) that fails with a canonical gRPC code."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def rpc_code(self) -> int:
        """The google.rpc.Code number (grpc's enum carries it as value[0])."""
        return int(self.code.value[0])

    @classmethod
    def from_state(cls, err: StateError) -> P4RTError:
        return cls(_STATE_KIND_TO_CODE.get(err.kind, grpc.StatusCode.INVALID_ARGUMENT), str(err))


def invalid(message: str) -> P4RTError:
    return P4RTError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message: str) -> P4RTError:
    return P4RTError(grpc.StatusCode.NOT_FOUND, message)


def out_of_range(message: str) -> P4RTError:
    return P4RTError(grpc.StatusCode.OUT_OF_RANGE, message)


def unimplemented(message: str) -> P4RTError:
    return P4RTError(grpc.StatusCode.UNIMPLEMENTED, message)
