"""The TTL decrement's checksum update in p4src/include/ip_hop.p4, checked for every checksum.

The P4 code adds 0x0101 when the checksum is >= 0xFEFF (spelled as a high octet of 0xFF or
exactly 0xFEFF, for Tofino's gateways) and 0x0100 otherwise. That is meant to equal RFC 1624
equation 3, HC' = ~(~HC + ~m + m'), for a TTL decrement by one (~m + m' = 0xFEFF), for all
65,536 values of HC; this test holds the two forms to that.
"""

from __future__ import annotations

from pathlib import Path

import pytest

IP_HOP = Path(__file__).resolve().parents[2] / "p4src" / "include" / "ip_hop.p4"
pytestmark = pytest.mark.unit


def rfc1624_eq3(hc: int) -> int:
    total = (~hc & 0xFFFF) + 0xFEFF
    total = (total & 0xFFFF) + (total >> 16)  # one end-around carry
    return ~total & 0xFFFF


def p4_form(hc: int) -> int:
    add = 0x0101 if (hc >> 8 == 0xFF or hc == 0xFEFF) else 0x0100
    return (hc + add) & 0xFFFF


def test_compare_and_add_equals_rfc1624_for_every_checksum() -> None:
    differing = [hc for hc in range(1 << 16) if p4_form(hc) != rfc1624_eq3(hc)]
    assert differing == []
    assert p4_form(0xFEFF) == 0x0000 and p4_form(0xFEFE) == 0xFFFE and p4_form(0xFF00) == 0x0001


def test_the_p4_source_uses_the_checked_constants() -> None:
    text = IP_HOP.read_text()
    cond = "if (ip.hdr_checksum[15:8] == 0xFF || ip.hdr_checksum == 0xFEFF) {"
    assert cond in text, "ip_hop.p4 no longer has the condition this test checks"
    assert "dec.hdr_checksum = ip.hdr_checksum + 0x0101;" in text
    assert "dec.hdr_checksum = ip.hdr_checksum + 0x0100;" in text
