"""Our Security Handle format (controller/ipsec/handle.py): vectors both ways, defensive reads."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.ipsec.handle import HandleError, SecurityHandle, read_handle

pytestmark = pytest.mark.unit

VECTORS = [
    ("01000000", SecurityHandle()),
    ("01000002", SecurityHandle(set_id=2)),
    ("0180ffff", SecurityHandle(set_id=0xFFFF, initiates=True)),
    ("01c000071195", SecurityHandle(set_id=7, initiates=True, ike_port=4501)),
]


@pytest.mark.parametrize(("hexed", "handle"), VECTORS)
def test_vectors_decode_and_encode(hexed: str, handle: SecurityHandle) -> None:
    assert SecurityHandle.decode(bytes.fromhex(hexed)) == handle
    assert handle.encode().hex() == hexed


def test_reserved_bits_and_trailing_octets_are_ignored() -> None:
    assert SecurityHandle.decode(bytes.fromhex("013f0003" + "beef")) == SecurityHandle(3)


@pytest.mark.parametrize(
    ("hexed", "why"),
    [
        ("0100", "2 octets, a version-1 handle has at least 4"),
        ("01400001", "flag P is set but the IKE port is missing"),
        ("014000010000", "IKE port 0"),
    ],
)
def test_malformed_handles_name_the_problem(hexed: str, why: str) -> None:
    with pytest.raises(HandleError, match=why):
        SecurityHandle.decode(bytes.fromhex(hexed))
    reading = read_handle(bytes.fromhex(hexed))
    assert reading.handle is None and reading.problem == f"malformed: {why}"
    assert reading.effective == SecurityHandle()  # the route is still usable: defaults


def test_other_versions_are_opaque_and_defaults_apply() -> None:
    reading = read_handle(b"\x02\x80\x00\x05")
    assert reading.handle is None and reading.problem == "opaque (version 2, 4 octets)"
    assert reading.effective == SecurityHandle()
    assert read_handle(b"tenant-blue").problem == "opaque (version 116, 11 octets)"
    assert read_handle(None).handle is None and read_handle(None).problem is None


def test_describe_shows_what_the_handle_asks() -> None:
    assert SecurityHandle(2, True, 4501).describe() == "v1 set=2 initiates port=4501"
    assert read_handle(b"\x01\x00\x00\x00").describe() == "v1 set=0"
    assert read_handle(b"\x09").describe() == "opaque (version 9, 1 octets)"


def test_out_of_range_fields_are_refused_when_building() -> None:
    with pytest.raises(HandleError, match="SA-set id 65536"):
        SecurityHandle(set_id=0x10000)
    with pytest.raises(HandleError, match="IKE port 0"):
        SecurityHandle(ike_port=0)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_any_octets_read_without_raising(data: bytes) -> None:
    reading = read_handle(data)
    if reading.handle is not None:
        # whatever we accepted re-encodes to the octets we understood
        again = reading.handle.encode()
        assert data[0] == again[0] == 1 and data[2:4] == again[2:4]
        assert read_handle(again) == reading
    else:
        assert reading.problem


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 0xFFFF), st.booleans(), st.integers(1, 0xFFFF))
def test_fuzz_round_trip(set_id: int, initiates: bool, port: int) -> None:
    handle = SecurityHandle(set_id, initiates, port)
    assert SecurityHandle.decode(handle.encode()) == handle
