"""Every show renderer on the fake C-PE's data: the lines an operator would read."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.api.render import RENDERERS, RenderError, render, to_json
from controller.api.source import SHOW_KINDS
from controller.api.textfmt import duration, table

from . import fake

pytestmark = pytest.mark.unit

DATA = {
    "vrf": fake.VRFS,
    "routes": fake.ROUTES,
    "bgp": fake.BGP,
    "sa": fake.SAS,
    "tunnels": fake.TUNNELS,
    "tables": fake.TABLES,
    "counters": fake.COUNTERS,
    "drops": fake.DROPS,
}


def columns_line_up(text: str, header_start: str, first: str, col: str, value: str) -> None:
    """In the table whose header starts with header_start, `value` in the row starting
    with `first` sits in column `col` (left edge, or right edge for right-aligned)."""
    lines = text.splitlines()
    head = next(ln for ln in lines if ln.startswith(header_start))
    row = next(ln for ln in lines if ln.startswith(first))
    left, right = head.index(col), head.index(col) + len(col)
    start = row.index(value, left - len(value) if left >= len(value) else 0)
    assert start == left or start + len(value) == right, (head, row)


def test_every_kind_has_a_renderer() -> None:
    assert set(RENDERERS) == set(SHOW_KINDS) == set(DATA)
    for what, data in DATA.items():
        assert render(what, data).endswith("\n")


def test_bgp_summary() -> None:
    text = render("bgp", fake.BGP)
    lines = text.splitlines()
    assert lines[0].split() == [
        "Neighbor", "AS", "Color", "Up/Down", "State/PfxRcd", "PfxSnt", "Rej", "Families",
    ]  # fmt: skip
    assert lines[1].split() == [
        "10.255.0.1",
        "65000",
        "red",
        "01:02:05",
        "12",
        "3",
        "0",
        "ipv4-vpn,ipv6-vpn",
    ]
    assert lines[2].split() == ["10.255.0.2", "65000", "red", "never", "Active", "0", "0", "-"]
    assert lines[3].split() == [
        "203.0.113.1",
        "64500",
        "black",
        "1d00h00m",
        "5",
        "1",
        "1",
        "ipv4-unicast",
    ]
    columns_line_up(text, "Neighbor", "10.255.0.2", "State/PfxRcd", "Active")
    columns_line_up(text, "Neighbor", "10.255.0.1", "State/PfxRcd", "12")
    assert "Total neighbors 3, established 2" in text
    # a red session in transport mode runs between the black loopbacks (draft 3.2)
    assert "  10.255.0.1: session 198.51.100.11 <-> 198.51.100.1" in lines
    assert sum(": session " in ln for ln in lines) == 1
    assert "  10.255.0.2: last error: connect: connection refused" in lines
    assert "  203.0.113.1: spoof attempts 3, now: 10.255.0.0/24, 10.255.0.13/32" in lines
    assert sum("spoof attempts" in ln for ln in lines) == 1
    assert "  10.255.0.1: refused routes no-encap 2, now: no-encap 65000:2:10.1.3.0/24" in lines


def test_vrf() -> None:
    lines = render("vrf", fake.VRFS).splitlines()
    assert lines[0].split() == [
        "VRF",
        "ID",
        "RD",
        "Import",
        "RTs",
        "Export",
        "RTs",
        "Labels",
        "Ports",
        "Routes",
    ]
    assert lines[2].split() == [
        "green",
        "2",
        "65000:2",
        "65000:2,65000:99",
        "65000:2",
        "per-vrf",
        "green0",
        "1",
    ]


def test_routes_grouped_by_vrf_with_codes() -> None:
    text = render("routes", fake.ROUTES)
    assert text.index("VRF blue:") < text.index("VRF green:")
    lines = text.splitlines()
    local = next(ln for ln in lines if "10.1.1.0/24" in ln)
    assert local.split() == ["*L", "10.1.1.0/24", "16", "-", "-", "65000:1", "local"]
    spoof = next(ln for ln in lines if ln.startswith(" S "))
    assert spoof.split() == ["S", "10.1.2.0/24", "200", "10.255.0.13", "-", "65000:2", "spoof"]
    encap = next(ln for ln in lines if ln.startswith(" E "))
    assert encap.split() == ["E", "10.1.3.0/24", "201", "10.255.0.12", "-", "65000:2", "no-encap"]
    # A black route covers the next hop while the red one wins: marked, and named below.
    assert any(ln.split()[:2] == ["*!", "2001:db8:1:2::/64"] for ln in lines)
    assert not any(ln.split()[:2] == ["*!", "10.1.2.0/24"] for ln in lines)
    notes = lines[lines.index(next(ln for ln in lines if ln.startswith("Spoof attempts"))) + 1 :]
    assert notes == [
        "  blue 2001:db8:1:2::/64 next hop 10.255.0.12: 10.255.0.0/24 from 203.0.113.1",
        "  green 10.1.2.0/24 next hop 10.255.0.13: 10.255.0.13/32 from 203.0.113.1, "
        "10.255.0.0/24 from 203.0.113.1",
    ]
    assert render("routes", []) == "No routes.\n"


def test_sa_shows_spis_indexes_and_counters_never_keys() -> None:
    text = render("sa", fake.SAS)
    lines = text.splitlines()
    assert lines[0] == "IKE SAs: 2"
    ike = next(ln for ln in lines if ln.startswith("198.51.100.11:500 "))
    assert ike.split() == [
        "198.51.100.11:500", "198.51.100.12:500", "established", "initiator",
        "0x1122334455667788/0x99aabbccddeeff00", "AES_GCM_16_256/PRF_HMAC_SHA2_256/ECP_256",
        "no", "00:10:00", "03:50:00", "2",
    ]  # fmt: skip
    assert "CHILD SAs: 2" in lines
    blue = next(ln for ln in lines if ln.startswith("blue "))
    assert blue.split() == [
        "blue", "198.51.100.12", "blue", "0xc1000001/0xc2000001", "1/2", "aes-gcm-16-256",
        "transport", "no", "00:10:00", "00:50:00", "1500/1499", "180000/179880", "replay=2",
    ]  # fmt: skip
    control = next(ln for ln in lines if ln.startswith("control "))
    assert control.split()[2] == "-" and control.split()[7] == "udp/4500"
    assert render("sa", {"ike": [], "child": []}) == "IKE SAs: 0\n\nCHILD SAs: 0\n"


def test_tunnels_report_spoofs() -> None:
    text = render("tunnels", fake.TUNNELS)
    lines = text.splitlines()
    assert lines[1].split() == [
        "10.255.0.12", "blue", "198.51.100.12", "4B", "1", "2/1", "blue", "resolved",
        "10.255.0.12/32", "red",
    ]  # fmt: skip
    assert lines[2].split()[:8] == ["10.255.0.13", "green", "-", "-", "-", "-", "-", "spoof"]
    assert "Spoofs refused: 1" in lines
    assert (
        "  SPOOF 10.255.0.13: resolved through 10.255.0.13/32 black 203.0.113.1, not installed"
        in lines
    )


def test_tables_grouped_and_sorted() -> None:
    text = render("tables", fake.TABLES)
    assert text.splitlines() == [
        "port_role (2 entries)",
        "  port_role port=1 -> set_red(vrf_id=1)",
        "  port_role port=3 -> set_black()",
        "tunnel_sa (1 entry)",
        "  tunnel_sa tunnel_id=1 -> set_sa(sa_index=2)",
        "vrf_fib_v4 (2 entries)",
        "  vrf_fib_v4 vrf_id=1 ipv4_dst=10.1.1.0/24 -> route_local(nexthop_id=1)",
        "  vrf_fib_v4 vrf_id=1 ipv4_dst=10.1.2.0/24 -> route_remote(label=100, tunnel_id=1)",
    ]


def test_counters_three_sections() -> None:
    text = render("counters", fake.COUNTERS)
    assert [ln for ln in text.splitlines() if ln.startswith("Per ")] == [
        "Per VRF:",
        "Per SA:",
        "Per port:",
    ]
    lines = text.splitlines()
    assert next(ln for ln in lines if ln.startswith("blue")).split() == [
        "blue",
        "1",
        "3000",
        "360000",
    ]
    sa = next(ln for ln in lines if "0xc1000001" in ln)
    assert sa.split() == ["1", "in", "0xc1000001", "198.51.100.12", "1500", "180000", "replay=2"]
    columns_line_up(text, "Port", "   3", "RX bytes", "250000")


def test_drops_sorted_by_code_with_total() -> None:
    lines = render("drops", fake.DROPS).splitlines()
    assert [ln.split()[1] for ln in lines[1:4]] == ["CLEAR_MPLS_IN_IP", "VRF_MISS", "REPLAY"]
    assert lines[-1] == "Total dropped: 10 packets, 1060 bytes"
    assert render("drops", []) == "No drops counted.\n"


def test_wrong_shape_is_a_render_error() -> None:
    with pytest.raises(RenderError, match="show sa: reply is not in the expected shape"):
        render("sa", ["not", "a", "dict"])
    with pytest.raises(RenderError, match="show bgp: reply is not in the expected shape"):
        render("bgp", [{"neighbor": "1.2.3.4", "families": 7}])


def test_partial_records_print_dashes() -> None:
    """A daemon that fills only some fields: the rest shows as '-', nothing fails."""
    bgp = render("bgp", [{"neighbor": "10.255.0.1", "state": "Idle", "reason": "hold timer"}])
    assert bgp.splitlines()[1].split() == ["10.255.0.1", "-", "-", "never", "Idle", "-", "-", "-"]
    assert "  10.255.0.1: last error: hold timer" in bgp.splitlines()
    sa = render("sa", {"ike": [{"local": "a:500", "remote": "b:500", "state": "established"}],
                       "child": [{"name": "c", "spi_in": 0x1000, "sa_in": 1}]})  # fmt: skip
    child = next(ln for ln in sa.splitlines() if ln.startswith("c "))
    assert child.split()[:5] == ["c", "-", "-", "0x00001000/-", "1/-"]
    tunnels = render("tunnels", [{"endpoint": "198.51.100.12", "tunnel_id": 3, "sa_out": 2}])
    assert tunnels.splitlines()[1].split() == [
        "-",
        "-",
        "198.51.100.12",
        "-",
        "3",
        "2/-",
        "-",
        "-",
        "-",
    ]
    counters = render("counters", {"vrf": [{"vrf": "blue", "packets": 5}], "writes": {}})
    assert counters.splitlines()[2].split() == ["blue", "-", "5", "-"]


def test_helpers() -> None:
    assert duration(None) == "never"
    assert duration(59.9) == "00:00:59"
    assert duration(3 * 86400 + 4 * 3600 + 12 * 60) == "3d04h12m"
    assert table(("A", "Num"), [("x", 5), ("longer", 12345), ("y", None)], right=(1,)) == (
        "A         Num\nx           5\nlonger  12345\ny           -\n"
    )
    assert json.loads(to_json(fake.SAS)) == fake.SAS


_FIELDS = sorted(
    {k for rows in (fake.VRFS, fake.ROUTES, fake.BGP, fake.TUNNELS) for r in rows for k in r}
)
_values = st.none() | st.booleans() | st.integers(-5, 2**70) | st.floats() | st.text(max_size=8)
_records = st.dictionaries(
    st.sampled_from([*_FIELDS, "ike", "child", "vrf", "sa", "port", "errors", "spi"]),
    _values | st.lists(_values, max_size=3) | st.dictionaries(st.text(max_size=4), _values),
    max_size=8,
)
_replies = _records | st.lists(_records, max_size=3) | st.lists(_values, max_size=3) | _values


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SHOW_KINDS), _replies)
def test_any_reply_renders_or_is_a_render_error(what: str, data: object) -> None:
    """Whatever comes back over the socket: text, or one clear error; never a traceback."""
    try:
        text = render(what, data)
    except RenderError as exc:
        assert str(exc).startswith(f"show {what}: ") and "\n" not in str(exc)
    else:
        assert isinstance(text, str) and text.endswith("\n")
