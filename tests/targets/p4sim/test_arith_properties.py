"""Property tests: the executor's arithmetic equals P4's definition on random values.

The conformance programs compute on a 12-byte header (f1, f2: bit<32>; b1, b2:
bit<8>; h1: bit<16>); the expected values are computed here independently.
"""

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from targets.p4sim.program import load
from targets.p4sim.switch import Switch

pytestmark = pytest.mark.unit
CONF = Path(__file__).parent / "conformance"
M8, M16, M32 = 0xFF, 0xFFFF, 0xFFFFFFFF
SWITCHES = {n: Switch(load(CONF / f"{n}.p4")) for n in ("arith_wrap", "signed_ops", "saturating")}
u8, u16, u32 = st.integers(0, M8), st.integers(0, M16), st.integers(0, M32)


def run(name: str, f1: int, f2: int, b1: int, b2: int, h1: int) -> tuple[int, ...]:
    frame = f1.to_bytes(4, "big") + f2.to_bytes(4, "big") + bytes([b1, b2]) + h1.to_bytes(2, "big")
    ((_, out),) = SWITCHES[name].process(1, frame)
    return (
        int.from_bytes(out[0:4], "big"),
        int.from_bytes(out[4:8], "big"),
        out[8],
        out[9],
        int.from_bytes(out[10:12], "big"),
    )


def s8(v: int) -> int:
    return v - 256 if v & 0x80 else v


@settings(max_examples=200, deadline=None)
@given(f1=u32, f2=u32, b1=u8, b2=u8, h1=u16)
def test_unsigned_wraparound(f1: int, f2: int, b1: int, b2: int, h1: int) -> None:
    assert run("arith_wrap", f1, f2, b1, b2, h1) == (
        (f1 + f2) & M32,
        -f2 & M32,
        (b1 + 255) & M8,
        (b2 - 3) & M8,
        (h1 * 3) & M16,
    )


@settings(max_examples=200, deadline=None)
@given(b1=u8, b2=u8)
def test_signed_compare_shift_extend(b1: int, b2: int) -> None:
    a, b = s8(b1), s8(b2)
    f1, f2, o1, o2, h1 = run("signed_ops", 0, 0, b1, b2, 0)
    assert h1 == (1 if a < b else 2)
    assert o1 == (a >> 2) & M8  # arithmetic shift
    assert f1 == a & M32 and f2 == (a - 1) & M32  # sign extension to int<32>
    assert o2 == b2


@settings(max_examples=200, deadline=None)
@given(f1=u32, b1=u8, b2=u8, h1=u16)
def test_saturation(f1: int, b1: int, b2: int, h1: int) -> None:
    of1, _, o1, o2, oh1 = run("saturating", f1, 0, b1, b2, h1)
    assert o1 == min(b1 + 200, 255)
    assert o2 == max(b2 - 50, 0)
    assert oh1 == max(-128, min(127, s8(h1 & M8) + 100)) & M8
    assert of1 == max(-128, min(127, s8(f1 & M8) - 100)) & M8
