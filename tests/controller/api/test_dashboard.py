"""examples/grafana-dashboard.json asks only for metrics and labels the daemon exports."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from controller.api import metrics

from . import fake

pytestmark = pytest.mark.unit
DASHBOARD = Path(__file__).resolve().parents[3] / "examples" / "grafana-dashboard.json"
METRIC = re.compile(r"\bsl3vpn_[a-z0-9_]+")
BY = re.compile(r"\bby \(([^)]*)\)")
TARGET_LABELS = {"instance", "job"}  # added by Prometheus to every scraped sample


def _families() -> dict[str, set[str]]:
    """Every family the daemon can export (as sample names) -> the labels it carries."""
    built = [*asyncio.run(metrics.read(fake.FakeSource())), metrics.scrape_error("sas")]
    out: dict[str, set[str]] = {}
    for fam in built:
        out[fam.name] = {k for labels, _ in fam.samples for k in labels}
    out["sl3vpn_bgp_prefixes_stale"] = {"neighbor", "color"}  # only while a peer restarts
    return out


def _exprs() -> list[str]:
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    exprs += [v["definition"] for v in dash["templating"]["list"] if "definition" in v]
    return exprs


def test_dashboard_metrics_and_labels_exist() -> None:
    families = _families()
    exprs = _exprs()
    assert len(exprs) >= 15
    for expr in exprs:
        used = METRIC.findall(expr)
        assert used, expr
        for name in used:
            assert name in families, f"{name} (in {expr!r}) is not exported"
        for group in BY.findall(expr):
            labels = {x.strip() for x in group.split(",")} - TARGET_LABELS
            have = set().union(*(families[n] for n in used))
            assert labels <= have, f"{expr!r}: labels {labels - have} not on {used}"


def test_dashboard_covers_sessions_sas_drops_and_tunnel_traffic() -> None:
    used = {name for expr in _exprs() for name in METRIC.findall(expr)}
    for needed in (
        "sl3vpn_bgp_session_state",
        "sl3vpn_ike_sas",
        "sl3vpn_child_sa_info",
        "sl3vpn_drop_packets_total",
        "sl3vpn_sa_bytes_total",
    ):
        assert needed in used, needed
