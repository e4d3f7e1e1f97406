"""Prometheus output, read back with prometheus-client's parsers, and served over HTTP."""

from __future__ import annotations

import asyncio
import math
import urllib.request

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from controller.api.metrics import Family, collect, exposition
from controller.api.metrics_http import MetricsHttpServer

from . import fake

pytestmark = pytest.mark.unit


def parse(text: str) -> dict[str, tuple[str, str, dict[tuple[tuple[str, str], ...], float]]]:
    """family name -> (type, help, {sorted labels: value}), via the reference parser."""
    out = {}
    for fam in text_string_to_metric_families(text):
        samples = {tuple(sorted(s.labels.items())): s.value for s in fam.samples}
        out[fam.name] = (fam.type, fam.documentation, samples)
    return out


async def test_collect_reads_back_with_the_reference_parser() -> None:
    text = await collect(fake.FakeSource())
    fams = parse(text)
    # prometheus-client names a counter family without its _total suffix.
    typ, _, drops = fams["sl3vpn_drop_packets"]
    assert typ == "counter"
    assert drops == {
        (("reason", "VRF_MISS"),): 7,
        (("reason", "REPLAY"),): 2,
        (("reason", "CLEAR_MPLS_IN_IP"),): 1,
    }
    assert fams["sl3vpn_drop_bytes"][2][(("reason", "REPLAY"),)] == 240
    typ, _, state = fams["sl3vpn_bgp_session_state"]
    assert typ == "gauge"
    assert state == {
        (("color", "red"), ("neighbor", "10.255.0.1")): 6,
        (("color", "red"), ("neighbor", "10.255.0.2")): 3,
        (("color", "black"), ("neighbor", "203.0.113.1")): 6,
    }
    uptime = fams["sl3vpn_bgp_session_uptime_seconds"][2]
    assert uptime[(("color", "red"), ("neighbor", "10.255.0.1"))] == pytest.approx(3725.4)
    assert len(uptime) == 2  # not for the session that is down
    assert (
        fams["sl3vpn_bgp_prefixes_received"][2][(("color", "red"), ("neighbor", "10.255.0.1"))]
        == 12
    )
    ike = fams["sl3vpn_ike_sa_established"][2]
    assert ike == {
        (("local", "198.51.100.11:500"), ("remote", "198.51.100.12:500")): 1,
        (("local", "198.51.100.11:4500"), ("remote", "192.0.2.77:4500")): 0,
    }
    assert fams["sl3vpn_ike_sas"][2] == {
        (("state", "connecting"),): 1,
        (("state", "established"),): 1,
    }
    child = fams["sl3vpn_child_sa_info"][2]
    assert len(child) == 2
    blue = next(dict(k) for k in child if dict(k)["name"] == "blue")
    assert blue["spi_in"] == "0xc1000001" and blue["tenant"] == "blue" and blue["nat_t"] == "no"
    sa_key = (
        ("direction", "in"),
        ("peer", "198.51.100.12"),
        ("sa_index", "1"),
        ("spi", "0xc1000001"),
    )
    assert fams["sl3vpn_sa_packets"][2][sa_key] == 1500
    assert fams["sl3vpn_sa_errors"][2] == {tuple(sorted((*sa_key, ("kind", "replay")))): 2}
    assert fams["sl3vpn_vrf_bytes"][2][(("vrf", "blue"),)] == 360000
    assert (
        fams["sl3vpn_port_tx_packets"][2][(("name", "wan0"), ("port", "3"), ("role", "black"))]
        == 1590
    )
    assert fams["sl3vpn_tunnels"][2] == {(("verdict", "resolved"),): 1, (("verdict", "spoof"),): 1}
    black = (("color", "black"), ("neighbor", "203.0.113.1"))
    assert fams["sl3vpn_bgp_spoof_attempts"][2][black] == 3
    assert fams["sl3vpn_bgp_spoof_attempts"][2][(("color", "red"), ("neighbor", "10.255.0.1"))] == 0
    assert fams["sl3vpn_bgp_spoof_route"][2] == {
        tuple(sorted((*black, ("prefix", p)))): 1 for p in ("10.255.0.0/24", "10.255.0.13/32")
    }
    red1 = (("color", "red"), ("neighbor", "10.255.0.1"))
    assert fams["sl3vpn_bgp_refused_routes"][2] == {(*red1, ("reason", "no-encap")): 2}
    assert fams["sl3vpn_bgp_refused_route"][2] == {
        tuple(sorted((*red1, ("prefix", "65000:2:10.1.3.0/24"), ("reason", "no-encap")))): 1
    }
    assert "sl3vpn_scrape_error" not in fams
    # Every family has HELP and TYPE exactly once, before its samples.
    lines = text.splitlines()
    for name in ("sl3vpn_drop_packets_total", "sl3vpn_bgp_session_state"):
        assert lines.count(f"# TYPE {name} " + ("counter" if "_total" in name else "gauge")) == 1
        assert sum(1 for ln in lines if ln.startswith(f"# HELP {name} ")) == 1


async def test_a_failing_part_is_reported_and_the_rest_still_served() -> None:
    source = fake.FakeSource()
    source.fail.add("sas")
    fams = parse(await collect(source))
    assert fams["sl3vpn_scrape_error"][2] == {(("part", "sas"),): 1}
    assert "sl3vpn_ike_sas" not in fams
    assert "sl3vpn_drop_packets" in fams


async def test_partial_records_skip_missing_figures() -> None:
    class Partial(fake.FakeSource):
        def bgp(self):  # type: ignore[no-untyped-def]
            return [{"neighbor": "10.255.0.1", "color": "red", "state": "Established"}]

        async def counters(self):  # type: ignore[no-untyped-def]
            return {"vrf": [{"vrf": "blue", "packets": 5}], "writes": {"ok": 3}}

    fams = parse(await collect(Partial()))
    assert fams["sl3vpn_bgp_session_state"][2] == {
        (("color", "red"), ("neighbor", "10.255.0.1")): 6
    }
    assert "sl3vpn_bgp_session_uptime_seconds" not in fams
    assert fams["sl3vpn_vrf_packets"][2] == {(("vrf", "blue"),): 5}
    assert "sl3vpn_vrf_bytes" not in fams and "sl3vpn_scrape_error" not in fams


label_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=200, deadline=None)
@given(label_text, label_text, st.integers(0, 2**53) | st.floats(allow_nan=True))
def test_escaping_round_trips_through_the_reference_parser(
    value: str, help_text: str, number: float
) -> None:
    fam = Family("sl3vpn_test_metric", "gauge", help_text)
    fam.add(number, peer=value, vrf="blue")
    fams = parse(exposition([fam]))
    _, doc, samples = fams["sl3vpn_test_metric"]
    assert doc == " ".join(help_text.split())  # HELP folds whitespace
    ((labels, got),) = samples.items()
    assert dict(labels) == {"peer": value, "vrf": "blue"}
    if isinstance(number, float) and math.isnan(number):
        assert math.isnan(got)
    else:
        assert got == number


def test_duplicate_series_are_merged() -> None:
    up = Family("sl3vpn_ike_sa_established", "gauge", "x")
    up.add(0, remote="b")  # the old IKE SA, deleting
    up.add(1, remote="b")  # its replacement
    pk = Family("sl3vpn_sa_packets_total", "counter", "x")
    pk.add(5, peer="b")
    pk.add(7, peer="b")
    fams = parse(exposition([up, pk]))
    assert fams["sl3vpn_ike_sa_established"][2] == {(("remote", "b"),): 1}
    assert fams["sl3vpn_sa_packets"][2] == {(("peer", "b"),): 12}


def test_bad_types_are_refused_and_empty_families_left_out() -> None:
    with pytest.raises(ValueError, match="bad type"):
        exposition([Family("ok", "summary", "x", [({}, 1)])])
    assert exposition([Family("empty", "gauge", "no samples")]) == ""


def _get(port: int, accept: str | None = None) -> tuple[str, bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if accept is not None:
        req.add_header("Accept", accept)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.headers["Content-Type"], resp.read()


async def test_http_scrape_reads_the_daemon_on_its_loop() -> None:
    source = fake.FakeSource()
    async with MetricsHttpServer(source, "127.0.0.1:0") as srv:
        ctype, body = await asyncio.to_thread(_get, srv.port)
        assert ctype.startswith("text/plain")
        fams = parse(body.decode())
        assert fams["sl3vpn_drop_packets"][2][(("reason", "REPLAY"),)] == 2
        assert "sl3vpn_scrape_error" not in fams
        # a scraper that asks for OpenMetrics gets it (prometheus-client's negotiation)
        ctype, body = await asyncio.to_thread(_get, srv.port, "application/openmetrics-text")
        assert ctype.startswith("application/openmetrics-text")
        om = {f.name: f for f in openmetrics_families(body.decode())}
        assert om["sl3vpn_drop_packets"].type == "counter"
        source.fail.add("drops")  # read at scrape time: the next scrape sees it
        fams = parse((await asyncio.to_thread(_get, srv.port))[1].decode())
        assert fams["sl3vpn_scrape_error"][2] == {(("part", "drops"),): 1}
        assert "sl3vpn_drop_packets" not in fams and "sl3vpn_bgp_session_state" in fams


async def test_http_scrape_of_a_daemon_that_does_not_answer() -> None:
    class Stuck(fake.FakeSource):
        async def counters(self):  # type: ignore[no-untyped-def]
            await asyncio.sleep(30)

    async with MetricsHttpServer(Stuck(), "127.0.0.1:0") as srv:
        assert srv.collector is not None
        srv.collector.timeout = 0.3
        fams = parse((await asyncio.to_thread(_get, srv.port))[1].decode())
    assert fams == {
        "sl3vpn_scrape_error": ("gauge", fams["sl3vpn_scrape_error"][1], {(("part", "all"),): 1})
    }


async def test_a_port_in_use_is_one_line_naming_the_listener() -> None:
    async with MetricsHttpServer(fake.FakeSource(), "127.0.0.1:0") as srv:
        with pytest.raises(OSError, match=rf"metrics listener 127.0.0.1:{srv.port}: "):
            await MetricsHttpServer(fake.FakeSource(), f"127.0.0.1:{srv.port}").start()
