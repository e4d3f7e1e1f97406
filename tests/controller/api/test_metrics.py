"""Prometheus output, read back with prometheus-client's own text parser, and served over HTTP."""

from __future__ import annotations

import asyncio
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
@given(label_text, label_text, st.integers(0, 2**63) | st.floats(allow_nan=True))
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


def test_bad_names_are_refused() -> None:
    with pytest.raises(ValueError, match="bad name"):
        exposition([Family("9bad", "gauge", "x", [({}, 1)])])
    with pytest.raises(ValueError, match="bad label name"):
        exposition([Family("ok", "gauge", "x", [({"bad-label": "v"}, 1)])])
    assert exposition([Family("empty", "gauge", "no samples")]) == ""


async def _http(port: int, raw: bytes) -> tuple[str, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    writer.write_eof()  # so an unfinished head is answered at once, not after the timeout
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status, *hdrs = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in hdrs)}
    return status, headers, body


async def test_http_get_metrics_and_refusals() -> None:
    async with MetricsHttpServer(fake.FakeSource(), "127.0.0.1:0") as srv:
        status, headers, body = await _http(
            srv.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"
        )
        assert status == "HTTP/1.1 200 OK"
        assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert int(headers["content-length"]) == len(body)
        assert "sl3vpn_drop_packets" in parse(body.decode())
        status, _, body = await _http(srv.port, b"HEAD /metrics HTTP/1.1\r\n\r\n")
        assert status == "HTTP/1.1 200 OK" and body == b""
        for raw, want in [
            (b"GET / HTTP/1.1\r\n\r\n", "404"),
            (b"POST /metrics HTTP/1.1\r\n\r\n", "405"),
            (b"garbage\r\n\r\n", "400"),
            (b"GET /metrics HTTP/1.1\r\n", "400"),  # head never finished
            (b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n", "400"),
        ]:
            status, _, _ = await _http(srv.port, raw)
            assert status.split(" ")[1] == want, raw[:30]
        status, _, _ = await _http(srv.port, b"GET /metrics?x=1 HTTP/1.0\r\n\r\n")
        assert status == "HTTP/1.1 200 OK"


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=100)
    | st.builds(
        lambda m, path, tail: f"{m} {path} HTTP/1.1\r\n{tail}\r\n\r\n".encode(),
        st.sampled_from(["GET", "HEAD", "POST", "get", ""]),
        st.sampled_from(["/metrics", "/", "/metrics?x", "metrics", ""]) | st.text(max_size=10),
        st.text(max_size=20),
    )
)
async def test_any_request_head_gets_a_proper_http_response(head: bytes) -> None:
    reply = await MetricsHttpServer(fake.FakeSource(), "127.0.0.1:0").answer(head)
    status, _, rest = reply.partition(b"\r\n")
    assert status.split(b" ")[:2][1] in (b"200", b"400", b"404", b"405")
    hdrs, _, body = rest.partition(b"\r\n\r\n")
    length = next(
        int(h.split(b":")[1]) for h in hdrs.split(b"\r\n") if h.startswith(b"Content-Length")
    )
    assert length == len(body) or (head.startswith(b"HEAD ") and body == b"")
