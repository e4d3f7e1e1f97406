"""Control API request parser: fuzzed with hypothesis, and the valid forms round-trip."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.api.protocol import (
    FAMILIES,
    MAX_LINE,
    ReplyError,
    Request,
    RequestError,
    decode_reply,
    encode_error,
    encode_result,
    parse_request,
)
from controller.api.server import ControlServer
from controller.api.source import SHOW_KINDS

from . import fake

pytestmark = pytest.mark.unit

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Objects that look like requests: the known field names with arbitrary values, plus noise.
request_like = st.fixed_dictionaries(
    {},
    optional={
        "method": st.sampled_from(["show", "metrics", "ping", "reboot"]) | json_values,
        "what": st.sampled_from([*SHOW_KINDS, "nope"]) | json_values,
        "args": st.dictionaries(
            st.sampled_from(["vrf", "family", "x"]),
            st.sampled_from([None, "blue", *FAMILIES, "ipx"]) | json_values,
            max_size=3,
        )
        | json_values,
        "extra": json_values,
    },
)


def _parse_or_error(line: bytes) -> Request | None:
    try:
        return parse_request(line)
    except RequestError as exc:
        msg = str(exc)
        assert msg and "\n" not in msg and len(msg) < 300
        return None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash_the_parser(line: bytes) -> None:
    _parse_or_error(line)


@settings(max_examples=300, deadline=None)
@given(json_values | request_like)
def test_arbitrary_json_never_crashes_the_parser(doc: object) -> None:
    req = _parse_or_error(json.dumps(doc).encode())
    if req is not None:
        # Whatever is accepted is exactly what the protocol allows.
        assert req.method in ("show", "metrics", "ping")
        if req.method == "show":
            assert req.what in SHOW_KINDS
            assert set(req.args) <= ({"vrf", "family"} if req.what == "routes" else set())
            assert req.args.get("family") in (None, *FAMILIES)
        assert parse_request(req.encode()) == req


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(SHOW_KINDS),
    st.none() | st.text(max_size=10),
    st.sampled_from([None, *FAMILIES]),
)
def test_valid_requests_round_trip(what: str, vrf: str | None, family: str | None) -> None:
    args: dict[str, str | None] = {"vrf": vrf, "family": family} if what == "routes" else {}
    req = Request("show", what, args)
    assert parse_request(req.encode()) == req


def test_deep_nesting_and_oversize_are_one_line_errors() -> None:
    with pytest.raises(RequestError, match=r"nested too deeply|not JSON"):
        parse_request(b"[" * 60_000)
    with pytest.raises(RequestError, match="longer than"):
        parse_request(b" " * (MAX_LINE + 1))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=120) | (json_values | request_like).map(lambda d: json.dumps(d).encode()))
async def test_server_answers_anything_with_one_json_line(line: bytes) -> None:
    reply = await ControlServer(fake.FakeSource(), "/unused").answer(line)
    assert reply.endswith(b"\n") and reply.count(b"\n") == 1
    doc = json.loads(reply)
    assert isinstance(doc, dict) and len(doc) == 1 and set(doc) <= {"result", "error"}


def test_reply_codec() -> None:
    assert decode_reply(encode_result({"a": [1]})) == {"a": [1]}
    with pytest.raises(ReplyError, match=r"^bad thing here$"):
        decode_reply(encode_error("bad thing\nhere"))
    with pytest.raises(ReplyError, match="not JSON"):
        decode_reply(b"<html>\n")
    with pytest.raises(ReplyError, match="neither result nor error"):
        decode_reply(b'{"ok": 1}\n')


def test_results_carry_addresses_and_enums_but_never_bytes() -> None:
    import enum
    import ipaddress

    class Color(enum.Enum):
        RED = "red"

    data = {
        "peer": ipaddress.ip_address("2001:db8::1"),
        "net": ipaddress.ip_network("10.1.0.0/16"),
        "color": Color.RED,
        "tenants": {"green", "blue"},
        "pair": (1, 2),
    }
    assert decode_reply(encode_result(data)) == {
        "peer": "2001:db8::1",
        "net": "10.1.0.0/16",
        "color": "red",
        "tenants": ["blue", "green"],
        "pair": [1, 2],
    }
    with pytest.raises(TypeError, match="raw bytes"):
        encode_result({"key": b"\x01" * 16})
    with pytest.raises(TypeError, match="has no JSON form"):
        encode_result({"x": object()})
