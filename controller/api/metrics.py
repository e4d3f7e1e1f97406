"""Prometheus metrics of a daemon, through prometheus-client.

The daemon already holds every figure in its own tables (BGP sessions, SAs,
tunnels, switch counters, drops: the :class:`~controller.api.source.StatusSource`
records); at each scrape they are read once and turned into metric families by a
custom collector, so nothing is kept in live metric objects between scrapes.
prometheus-client writes the exposition (text or OpenMetrics, as the scraper
asks) and serves it (controller/api/metrics_http.py).

Two seams: the records are read on the daemon's event loop (:func:`read`: the
counters come over P4Runtime, which is asynchronous), and the families are
written where the exposition is wanted (:func:`exposition` for ``sl3vpn show
metrics``, prometheus-client's HTTP thread for ``/metrics``).

BGP session state uses the numbering of RFC 4273 ``bgpPeerState``
(idle 1, connect 2, active 3, opensent 4, openconfirm 5, established 6).
"""

from __future__ import annotations

import inspect
import logging
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from controller.api.source import (
    BgpSessionInfo,
    Counters,
    DropCount,
    SaStatus,
    StatusSource,
    TunnelInfo,
    records,
)

log = logging.getLogger(__name__)

BGP_STATES = {"idle": 1, "connect": 2, "active": 3, "opensent": 4, "openconfirm": 5}
BGP_STATES["established"] = 6


@dataclass
class Family:
    """One metric family's samples as read from the daemon, before prometheus-client."""

    name: str
    kind: str  # "counter" | "gauge"
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float | None, **labels: object) -> None:
        if value is None:  # the daemon did not report this figure
            return
        self.samples.append(({k: "" if v is None else str(v) for k, v in labels.items()}, value))

    def merged(self) -> list[tuple[dict[str, str], float]]:
        """One sample per label set, as Prometheus requires: a counter's duplicates add up
        (two SAs of one peer during a rekey), a gauge keeps the largest (any IKE SA up)."""
        seen: dict[tuple[tuple[str, str], ...], tuple[dict[str, str], float]] = {}
        for labels, value in self.samples:
            key = tuple(labels.items())
            if key in seen:
                old = seen[key][1]
                value = old + value if self.kind == "counter" else max(old, value)
            seen[key] = (labels, value)
        return list(seen.values())

    def metric(self) -> Metric:
        """The prometheus-client family (ValueError for a bad kind)."""
        kinds = {"counter": CounterMetricFamily, "gauge": GaugeMetricFamily}
        if self.kind not in kinds:
            raise ValueError(f"metric {self.name!r}: bad type {self.kind!r}")
        samples = self.merged()
        names = list(samples[0][0]) if samples else []
        # HELP is documentation: all whitespace folded, so that no writer or parser
        # has to agree on how a CR or an NEL in it is escaped
        fam = kinds[self.kind](self.name, " ".join(self.help.split()), labels=names)
        for labels, value in samples:
            fam.add_metric([labels.get(n, "") for n in names], value)
        return fam


class FamiliesCollector(Collector):
    """A prometheus-client collector for families read beforehand (one scrape's)."""

    def __init__(self, families: Iterable[Family]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        for fam in self.families:
            if fam.samples:  # a family the daemon had nothing for is left out
                yield fam.metric()


def exposition(families: Iterable[Family]) -> str:
    """The text exposition of these families, as prometheus-client writes it."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FamiliesCollector(families))
    return generate_latest(registry).decode()


def _hex(spi: int | None) -> str:
    return "" if spi is None else f"0x{spi:08x}"


def bgp_families(sessions: list[BgpSessionInfo]) -> list[Family]:
    state = Family(
        "sl3vpn_bgp_session_state",
        "gauge",
        "BGP FSM state (RFC 4273 bgpPeerState: 1 idle .. 6 established).",
    )
    up = Family(
        "sl3vpn_bgp_session_uptime_seconds",
        "gauge",
        "Seconds since the BGP session reached Established.",
    )
    rx = Family(
        "sl3vpn_bgp_prefixes_received", "gauge", "Prefixes received from the neighbor (Adj-RIB-In)."
    )
    tx = Family(
        "sl3vpn_bgp_prefixes_advertised",
        "gauge",
        "Prefixes advertised to the neighbor (Adj-RIB-Out).",
    )
    rej = Family(
        "sl3vpn_bgp_prefixes_rejected_total",
        "counter",
        "Prefixes from the neighbor refused by policy.",
    )
    spoofs = Family(
        "sl3vpn_bgp_spoof_attempts_total",
        "counter",
        "Routes from the neighbor seen covering a red address (draft 4 spoof attempts).",
    )
    spoof_now = Family(
        "sl3vpn_bgp_spoof_route",
        "gauge",
        "1 per route from the neighbor that covers a red address now (spoof attempt).",
    )
    stale = Family(
        "sl3vpn_bgp_prefixes_stale",
        "gauge",
        "Prefixes from the neighbor kept stale while it restarts (RFC 4724).",
    )
    refused = Family(
        "sl3vpn_bgp_refused_routes_total",
        "counter",
        "Routes from the neighbor refused by a draft rule (no-encap: draft 2, "
        "duplicate-loopback: 3.1, identity: IKE identity binding).",
    )
    refused_now = Family(
        "sl3vpn_bgp_refused_route",
        "gauge",
        "1 per route from the neighbor refused now by a draft rule.",
    )
    for s in sessions:
        key = {"neighbor": s["neighbor"], "color": s["color"]}
        for kind, n in (s.get("refused") or {}).items():
            refused.add(n, **key, reason=kind)
        for text in s.get("refused_routes") or []:
            kind, _, prefix = text.partition(" ")
            refused_now.add(1, **key, reason=kind, prefix=prefix)
        spoofs.add(s["spoof_attempts"], **key)
        for prefix in s["spoof_routes"] or []:
            spoof_now.add(1, **key, prefix=prefix)
        state.add(BGP_STATES.get(str(s["state"]).lower(), 0), **key)
        if s["uptime"] is not None:
            up.add(float(s["uptime"]), **key)
        rx.add(s["received"], **key)
        tx.add(s["advertised"], **key)
        rej.add(s["rejected"], **key)
        if "stale" in s:
            stale.add(s["stale"], **key)
    return [state, up, rx, tx, rej, spoofs, spoof_now, stale, refused, refused_now]


def sa_families(status: SaStatus) -> list[Family]:
    ike = Family(
        "sl3vpn_ike_sa_established", "gauge", "1 when the IKE SA with this peer is established."
    )
    ike_states = Family("sl3vpn_ike_sas", "gauge", "IKE SAs by state.")
    child = Family(
        "sl3vpn_child_sa_info",
        "gauge",
        "One per installed CHILD_SA pair (value 1), described by labels.",
    )
    for sa in status["ike"] or []:
        ike.add(1 if sa["state"] == "established" else 0, local=sa["local"], remote=sa["remote"])
    for name, n in sorted(Tally(str(sa["state"]) for sa in status["ike"] or []).items()):
        ike_states.add(n, state=name)
    for c in status["child"] or []:
        child.add(
            1,
            name=c["name"],
            peer=c["peer"],
            tenant=c["tenant"],
            spi_in=_hex(c["spi_in"]),
            spi_out=_hex(c["spi_out"]),
            suite=c["suite"],
            mode=c["mode"],
            nat_t="yes" if c["nat_t"] else "no",
        )
    return [ike, ike_states, child]


def counter_families(counters: Counters) -> list[Family]:
    fams = {
        n: Family(f"sl3vpn_{n}_total", "counter", h)
        for n, h in (
            ("vrf_packets", "Packets routed in the VRF."),
            ("vrf_bytes", "Octets routed in the VRF."),
            ("sa_packets", "Packets through the ESP SA (after the engine returned OK)."),
            ("sa_bytes", "Octets through the ESP SA."),
            ("sa_errors", "ESP engine errors on the SA, by kind."),
            ("port_rx_packets", "Packets received on the switch port."),
            ("port_rx_bytes", "Octets received on the switch port."),
            ("port_tx_packets", "Packets sent on the switch port."),
            ("port_tx_bytes", "Octets sent on the switch port."),
        )
    }
    for v in counters["vrf"] or []:
        fams["vrf_packets"].add(v["packets"], vrf=v["vrf"])
        fams["vrf_bytes"].add(v["bytes"], vrf=v["vrf"])
    for s in counters["sa"] or []:
        key = {
            "sa_index": s["sa_index"],
            "direction": s["direction"],
            "spi": _hex(s["spi"]),
            "peer": s["peer"],
        }
        fams["sa_packets"].add(s["packets"], **key)
        fams["sa_bytes"].add(s["bytes"], **key)
        for kind, n in sorted((s["errors"] or {}).items()):
            fams["sa_errors"].add(n, **key, kind=kind)
    for p in counters["port"] or []:
        key = {"port": p["port"], "name": p["name"], "role": p["role"]}
        for what in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes"):
            fams["port_" + what].add(p[what], **key)
    return list(fams.values())


def drop_families(drops: list[DropCount]) -> list[Family]:
    pk = Family(
        "sl3vpn_drop_packets_total", "counter", "Packets dropped by the pipeline, by drop reason."
    )
    by = Family(
        "sl3vpn_drop_bytes_total", "counter", "Octets dropped by the pipeline, by drop reason."
    )
    for d in drops:
        pk.add(d["packets"], reason=d["reason"])
        by.add(d["bytes"], reason=d["reason"])
    return [pk, by]


def tunnel_families(tunnels: list[TunnelInfo]) -> list[Family]:
    fam = Family(
        "sl3vpn_tunnels", "gauge", "Tunnels to remote C-PEs by resolution verdict (spoof: refused)."
    )
    for verdict, n in sorted(Tally(str(t["verdict"]) for t in tunnels).items()):
        fam.add(n, verdict=verdict)
    return [fam]


_SECTIONS: tuple[tuple[str, Callable[[Any], list[Family]]], ...] = (
    ("bgp", bgp_families),
    ("sas", sa_families),
    ("tunnels", tunnel_families),
    ("counters", counter_families),
    ("drops", drop_families),
)


def scrape_error(*parts: str) -> Family:
    fam = Family(
        "sl3vpn_scrape_error", "gauge", "1 when this part of the daemon's state could not be read."
    )
    for part in parts:
        fam.add(1, part=part)
    return fam


async def read(source: StatusSource) -> list[Family]:
    """Ask the source for everything, on its event loop; a failing part is reported in
    ``sl3vpn_scrape_error``, not fatal."""
    families: list[Family] = []
    failed: list[str] = []
    for method, build in _SECTIONS:
        try:
            data = getattr(source, method)()
            if inspect.isawaitable(data):
                data = await data
            families += build(records(data))
        except Exception as exc:
            log.warning("metrics: reading %s failed: %s: %s", method, type(exc).__name__, exc)
            failed.append(method)
    return [*families, scrape_error(*failed)]


async def collect(source: StatusSource) -> str:
    """The text exposition of the daemon's state now (``sl3vpn show metrics``)."""
    return exposition(await read(source))
