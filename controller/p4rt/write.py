"""Decoding a failed Write into one readable error per failed update.

A server reports per-update results in the ``grpc-status-details-bin``
trailer: a ``google.rpc.Status`` whose ``details`` hold one ``p4.v1.Error`` per
update, in request order, OK ones included (P4Runtime spec v1.4, section
12.3 "Error reporting"). We name each failed update by its canonical string.
A server may leave the details out when they would not fit the metadata size
we accept (p4sim says so in the message): the RpcError then carries that message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from finsy.proto import p4r, rpc_code, rpc_status

from controller.p4rt.canonical import describe
from controller.p4rt.codec import Codec
from controller.p4rt.errors import P4RuntimeClientError, RpcError, UpdateFailure, WriteError

_DETAILS_KEY = "grpc-status-details-bin"


def decode_write_error(
    exc: grpc.aio.AioRpcError,
    batch: Sequence[p4r.Update | bytes],
    codec: Codec | None,
    offset: int = 0,
) -> P4RuntimeClientError:
    """WriteError for per-update failures; RpcError when the whole RPC failed."""
    status = rpc_status.Status()
    raw = b""
    trailers: Any = exc.trailing_metadata() or ()
    for key, value in trailers:
        if key == _DETAILS_KEY and isinstance(value, bytes):
            raw = value
    if raw:
        status.ParseFromString(raw)
    failures: list[UpdateFailure] = []
    for index, detail in enumerate(status.details):
        err = p4r.Error()
        if not detail.Unpack(err) or err.canonical_code == rpc_code.OK:
            continue
        sent = batch[index] if index < len(batch) else p4r.Update()
        upd = p4r.Update.FromString(sent) if isinstance(sent, bytes) else sent
        failures.append(
            UpdateFailure(
                index=offset + index,
                update_type=p4r.Update.Type.Name(upd.type),
                entity=describe(codec, upd.entity),
                code=rpc_code.Code.Name(err.canonical_code),
                message=err.message,
            )
        )
    if failures:
        return WriteError(failures, len(batch))
    details = exc.details() or ""
    if "metadata size exceeds" in details:
        # The server's trailer was larger than grpc.max_metadata_size: the errors are lost.
        details += " (the Write's error details were larger than this client accepts)"
    return RpcError("Write", exc.code().name, details)
