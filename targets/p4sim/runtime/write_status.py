"""The error a Write with failed updates ends with, bounded to what the client can read.

P4Runtime spec 12.3: the server answers UNKNOWN with a ``google.rpc.Status``
in the ``grpc-status-details-bin`` trailer holding one ``p4.v1.Error`` per
update, in request order (OK ones included). Trailers are gRPC metadata, and
a client refuses metadata beyond its ``grpc.max_metadata_size``: with gRPC's
defaults (8 KiB soft, 16 KiB hard limit) the whole RPC then fails as
"Stream removed", and every error is lost. One update costs at least 35
bytes (an ``Any`` naming ``p4.v1.Error``), so a batch of 1,000 never fits.

So the details are sized against a budget: the limit the client announces
in the request metadata :data:`LIMIT_KEY` (our client sends it with a matching
``grpc.max_metadata_size``), else one that fits gRPC's default soft limit.
Messages are cut to :data:`MESSAGE_MAX` characters, then shorter when that
does not fit; when even codes alone do not fit, the details are left out and
the top-level message says so, with the count of failures and the first few.
"""

from __future__ import annotations

from finsy.proto import p4r, rpc_code, rpc_status

from targets.p4sim.runtime.errors import P4RTError

LIMIT_KEY = "p4rt-error-details-max"  # request metadata: trailer bytes the client accepts
DEFAULT_LIMIT = 6000  # under gRPC's 8 KiB default soft limit with grpc-message beside it
HARD_LIMIT = 4 << 20  # never more than this, whatever a client asks for
MESSAGE_MAX = 160  # characters of one update's message in the details
SHORT_MESSAGE = 40  # ... when the full ones do not fit
SUMMARY_MAX = 1000  # characters of the top-level grpc-message
_FIRST = 5  # failures named in the top-level message


def client_limit(metadata: object) -> int:
    """The details budget for a request, from its invocation metadata."""
    for key, value in metadata or ():  # type: ignore[attr-defined]
        if key == LIMIT_KEY:
            try:
                return max(0, min(int(value), HARD_LIMIT))
            except ValueError:
                break  # a bad value is no promise: keep the default
    return DEFAULT_LIMIT


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 3] + "..." if limit > 3 else ""


def _details(results: list[P4RTError | None], message_max: int) -> rpc_status.Status:
    status = rpc_status.Status(code=rpc_code.UNKNOWN)
    ok = p4r.Error()  # canonical_code OK: the Any carries only its type URL
    for r in results:
        if r is None:
            status.details.add().Pack(ok)
        else:
            err = p4r.Error(canonical_code=r.rpc_code, message=_cut(r.message, message_max))
            status.details.add().Pack(err)
    return status


def write_failure(results: list[P4RTError | None], limit: int) -> tuple[str, bytes | None]:
    """The grpc-message and the serialized Status (None: left out) for a failed Write."""
    failed = [(i, r) for i, r in enumerate(results) if r is not None]
    head = f"{len(failed)} of {len(results)} updates failed"
    first = "; ".join(f"#{i} {r.code.name}: {_cut(r.message, 120)}" for i, r in failed[:_FIRST])
    more = f"; {len(failed) - _FIRST} more" if len(failed) > _FIRST else ""
    blob = b""
    for message_max in (MESSAGE_MAX, SHORT_MESSAGE, 0):
        status = _details(results, message_max)
        status.message = head
        blob = status.SerializeToString()
        if len(blob) <= limit:
            return _cut(f"{head}; first: {first}{more}", SUMMARY_MAX), blob
    note = (
        f"per-update details ({len(blob)} bytes) exceed the {limit} bytes this client accepts"
        f" (send {LIMIT_KEY} with a matching grpc.max_metadata_size)"
    )
    return _cut(f"{head}; {note}; first: {first}{more}", SUMMARY_MAX), None
