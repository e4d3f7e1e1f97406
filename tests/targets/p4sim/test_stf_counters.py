"""STF counter and register commands in p4c's syntax (p4c tools/stf/stf_parser.py:
``check_counter ID(id_or_index) [count_type logical_cond number]``, ``add ... = ID``)
and simple_switch_CLI's register/counter commands."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from targets.p4sim.program import Program, load
from targets.p4sim.stf import StfError, StfResult, run_stf
from targets.p4sim.switch import Switch

pytestmark = pytest.mark.unit
HERE = Path(__file__).with_name("conformance")


@cache
def _program(name: str) -> Program:
    return load(HERE / f"{name}.p4")


def _run(name: str, stf: str) -> StfResult:
    return run_stf(Switch(_program(name)), stf)


# counters.p4: pkts(index = the packet's byte 8) counts packets_and_bytes.
COUNT_3_TWICE = """
packet 1 000000000000000003000000
expect 2 000000000000000003000000$
packet 1 000000000000000003000000aabb
expect 2 000000000000000003000000aabb$
"""


@pytest.mark.parametrize(
    "check",
    [
        "check_counter pkts(3) packets == 2",
        "check_counter pkts(3) bytes == 26",
        "check_counter pkts(3) packets != 1",
        "check_counter pkts(3) packets <= 2",
        "check_counter pkts(3) packets < 3",
        "check_counter pkts(3) bytes >= 26",
        "check_counter pkts(3) bytes > 25",
        "check_counter pkts(0x3) packets == 0b10",
        "check_counter MyIngress.pkts(3) packets == 2",  # a qualified name resolves too
        "check_counter pkts(4)",  # the bare form: an untouched cell
    ],
)
def test_check_counter_passes(check: str) -> None:
    result = _run("counters", COUNT_3_TWICE + check)
    assert result.ok, result.failures


@pytest.mark.parametrize(
    ("check", "reason"),
    [
        ("check_counter pkts(3) packets == 3", "packets is 2, expected == 3"),
        ("check_counter pkts(3) bytes < 26", "bytes is 26, expected < 26"),
        ("check_counter pkts(3) packets != 2", "packets is 2, expected != 2"),
        ("check_counter pkts(3)", "is 2 packets / 26 bytes, expected 0"),
    ],
)
def test_check_counter_failures_name_line_and_values(check: str, reason: str) -> None:
    result = _run("counters", COUNT_3_TWICE + check)
    (failure,) = result.failures
    assert failure.startswith("line 6: counter ") and reason in failure


@pytest.mark.parametrize(
    "check",
    [
        "check_counter pkts 3 packets == 2",  # no parentheses
        "check_counter pkts(3) packets = 2",  # not an operator of the grammar
        "check_counter pkts(3) frames == 2",  # not a count type
        "check_counter pkts(3) packets ==",  # no value
        "check_counter nosuch(3) packets == 2",  # unknown counter
        "check_counter pkts($X) packets == 2",  # no entry was added as X
    ],
)
def test_malformed_check_counter_is_a_one_line_error(check: str) -> None:
    with pytest.raises(StfError) as exc:
        _run("counters", check)
    assert str(exc.value).startswith("line 1: ") and "\n" not in str(exc.value)


def test_counter_write_and_reset() -> None:
    stf = COUNT_3_TWICE + (
        "counter_write pkts 5 7 700\n"
        "check_counter pkts(5) packets == 7\n"
        "check_counter pkts(5) bytes == 700\n"
        "counter_reset pkts\n"
        "check_counter pkts(3)\n"
        "check_counter pkts(5)\n"
    )
    result = _run("counters", stf)
    assert result.ok, result.failures


def test_direct_counter_of_a_named_entry() -> None:
    """``add ... = A`` names the entry; ``check_counter DIRECT($A)`` reads its cell."""
    stf = (
        "add t hdr.data.b1:1 fwd(p:2) = A\n"
        "add t hdr.data.b1:3 fwd(p:2) = B\n"
        "packet 1 000000000000000001000000\n"
        "expect 2 000000000000000001000000$\n"
        "packet 1 000000000000000001000000\n"
        "expect 2 000000000000000001000000$\n"
        "check_counter dc($A) packets == 2\n"
        "check_counter dc($B)\n"
        "check_counter dc($A) packets == 1\n"
    )
    result = _run("direct_counter", stf)
    (failure,) = result.failures
    assert failure.startswith("line 9: counter ") and "($A) packets is 2, expected == 1" in failure


def test_register_cli_commands() -> None:
    seen: list[str] = []
    stf = (
        "register_write r 1 100\n"
        "register_read r 1\n"
        "check_register r 1 == 100\n"
        "register_reset r\n"
        "check_register r 1 0\n"
        "check_register r 1 5\n"
    )
    result = run_stf(Switch(_program("registers")), stf, trace=seen.append)
    assert any("register" in s and "[1] = 100" in s for s in seen)
    assert result.failures == ["line 6: register r[1] is 0, expected 5"]


_WORDS = st.sampled_from(
    [
        "check_counter",
        "counter_write",
        "counter_reset",
        "register_read",
        "register_reset",
        "add t",
        "pkts",
        "dc",
        "r",
        "(",
        ")",
        "$A",
        "= A",
        "packets",
        "bytes",
        "==",
        "<",
        ">=",
        "!=",
        "3",
        "0x1",
        "-1",
        "99999999999",
        "hdr.data.b1:1",
        "fwd(p:2)",
        " ",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_WORDS, max_size=8).map(" ".join), max_size=4))
def test_random_counter_lines_pass_fail_or_raise_stf_error(lines: list[str]) -> None:
    """Any mix of these commands and tokens is run or refused with a one-line StfError."""
    for prog in ("counters", "direct_counter"):
        try:
            run_stf(Switch(_program(prog)), "\n".join(lines))
        except StfError as exc:
            assert str(exc).startswith("line ") and "\n" not in str(exc)
