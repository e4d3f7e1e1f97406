"""Wrong flags and arguments on every swept subcommand: argparse usage on stderr, exit 2,
nothing on stdout, no traceback."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.unit
Run = Any

CASES = [
    ["bogus-command"],
    ["p4sim"],
    ["p4sim", "bogus"],
    ["p4sim", "compile"],
    ["p4sim", "compile", "--p4info"],
    ["p4sim", "stf", "only-one.p4"],
    ["p4sim", "stf", "-Z", "a.p4", "b.stf"],
    ["config"],
    ["config", "check"],
    ["config", "frobnicate"],
    ["config", "check", "--bogus", "x.yml"],
    ["ike-pki"],
    ["ike-pki", "d", "--key", "dsa"],
    ["ike-pki", "d", "--identity"],
    ["show"],
    ["show", "everything"],
    ["show", "vrf", "--family", "ipv5"],
    ["show", "vrf", "--socket", "a", "--node", "b"],
    ["show", "vrf", "--vrf", "red"],
    ["bgp-decode", "--bogus"],
    ["bgp-decode", "00", "11"],
]


@pytest.mark.parametrize("argv", CASES, ids=[" ".join(c) for c in CASES])
def test_usage_error(sl3vpn: Run, argv: list[str]) -> None:
    res = sl3vpn(*argv)
    assert res.rc == 2
    assert res.out == ""
    assert "Traceback" not in res.err
    assert "usage:" in res.err or res.err.startswith("sl3vpn ")
