"""p4sim's bounded Write error details (targets/p4sim/runtime/write_status.py)."""

from __future__ import annotations

import grpc
import pytest
from finsy.proto import p4r, rpc_status

from targets.p4sim.runtime.errors import P4RTError
from targets.p4sim.runtime.write_status import (
    DEFAULT_LIMIT,
    HARD_LIMIT,
    LIMIT_KEY,
    client_limit,
    write_failure,
)

pytestmark = pytest.mark.unit


def unpack(blob: bytes) -> list[p4r.Error]:
    out = []
    for any_ in rpc_status.Status.FromString(blob).details:
        err = p4r.Error()
        assert any_.Unpack(err)
        out.append(err)
    return out


def results(n: int, every: int, message: str) -> list[P4RTError | None]:
    err = P4RTError(grpc.StatusCode.ALREADY_EXISTS, message)
    return [err if i % every == 0 else None for i in range(n)]


def test_full_messages_when_they_fit() -> None:
    text, blob = write_failure(results(10, 2, "table t: entry already exists"), DEFAULT_LIMIT)
    assert blob is not None
    errs = unpack(blob)
    assert [e.message for e in errs[:2]] == ["table t: entry already exists", ""]
    assert text == (
        "5 of 10 updates failed; first: #0 ALREADY_EXISTS: table t: entry already exists; "
        "#2 ALREADY_EXISTS: table t: entry already exists; #4 ALREADY_EXISTS: table t: "
        "entry already exists; #6 ALREADY_EXISTS: table t: entry already exists; "
        "#8 ALREADY_EXISTS: table t: entry already exists"
    )


def test_long_messages_are_cut_then_shortened_then_dropped() -> None:
    long = "x" * 500
    _, blob = write_failure(results(4, 1, long), DEFAULT_LIMIT)
    assert blob is not None and {len(e.message) for e in unpack(blob)} == {160}
    _, blob = write_failure(results(60, 1, long), DEFAULT_LIMIT)
    assert blob is not None and {len(e.message) for e in unpack(blob)} == {40}
    _, blob = write_failure(results(120, 1, long), DEFAULT_LIMIT)
    assert blob is not None and {e.message for e in unpack(blob)} == {""}
    assert {e.canonical_code for e in unpack(blob)} == {grpc.StatusCode.ALREADY_EXISTS.value[0]}


def test_no_details_past_the_limit_and_the_message_says_why() -> None:
    text, blob = write_failure(results(1000, 2, "no"), DEFAULT_LIMIT)
    assert blob is None
    assert text.startswith("500 of 1000 updates failed; per-update details (")
    assert text.endswith("; 495 more") and len(text) <= 1000
    _, blob = write_failure(results(1000, 2, "no"), 1 << 20)
    assert blob is not None and len(unpack(blob)) == 1000


def test_client_limit_from_metadata() -> None:
    assert client_limit(()) == DEFAULT_LIMIT
    assert client_limit([(LIMIT_KEY, "100000")]) == 100000
    assert client_limit([(LIMIT_KEY, str(1 << 40))]) == HARD_LIMIT
    assert client_limit([(LIMIT_KEY, "lots")]) == DEFAULT_LIMIT
