"""Prometheus metrics in the text exposition format (version 0.0.4), written here.

Format (one family)::

    # HELP sl3vpn_drop_packets_total Packets dropped by the pipeline, by drop reason.
    # TYPE sl3vpn_drop_packets_total counter
    sl3vpn_drop_packets_total{reason="REPLAY"} 3

HELP text escapes backslash and newline; label values escape backslash,
double quote and newline; each family's HELP and TYPE come once, before its
samples. We write the format ourselves rather than take prometheus-client:
the daemon already holds every figure in its own tables and only needs them
printed at scrape time, which a registry of live metric objects would
duplicate.

BGP session state uses the numbering of RFC 4273 ``bgpPeerState``
(idle 1, connect 2, active 3, opensent 4, openconfirm 5, established 6).
"""

from __future__ import annotations

import inspect
import logging
import math
import re
from collections import Counter as Tally
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

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

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
BGP_STATES = {"idle": 1, "connect": 2, "active": 3, "opensent": 4, "openconfirm": 5}
BGP_STATES["established"] = 6


@dataclass
class Family:
    name: str
    kind: str  # "counter" | "gauge"
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, value: float | None, **labels: object) -> None:
        if value is None:  # the daemon did not report this figure
            return
        self.samples.append(({k: "" if v is None else str(v) for k, v in labels.items()}, value))


def escape_help(text: str) -> str:
    # HELP is documentation: fold all whitespace (CR, tabs, newlines) into single spaces,
    # which leaves only the backslash to escape.
    return " ".join(text.split()).replace("\\", "\\\\")


def escape_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def _merged(fam: Family) -> list[tuple[dict[str, str], float]]:
    """One sample per label set, as Prometheus requires: a counter's duplicates add up
    (two SAs of one peer during a rekey), a gauge keeps the largest (any IKE SA up)."""
    seen: dict[tuple[tuple[str, str], ...], tuple[dict[str, str], float]] = {}
    for labels, value in fam.samples:
        key = tuple(labels.items())
        if key in seen:
            old = seen[key][1]
            value = old + value if fam.kind == "counter" else max(old, value)
        seen[key] = (labels, value)
    return list(seen.values())


def exposition(families: Iterable[Family]) -> str:
    """The text format for these families; families without samples are left out."""
    out: list[str] = []
    for fam in families:
        if not fam.samples:
            continue
        if not _NAME.match(fam.name) or fam.kind not in ("counter", "gauge"):
            raise ValueError(f"metric {fam.name!r}: bad name or type {fam.kind!r}")
        out.append(f"# HELP {fam.name} {escape_help(fam.help)}")
        out.append(f"# TYPE {fam.name} {fam.kind}")
        for labels, value in _merged(fam):
            for name in labels:
                if not _LABEL.match(name) or name.startswith("__"):
                    raise ValueError(f"metric {fam.name}: bad label name {name!r}")
            body = ",".join(f'{k}="{escape_label(v)}"' for k, v in labels.items())
            out.append(
                f"{fam.name}{{{body}}} {format_value(value)}"
                if body
                else f"{fam.name} {format_value(value)}"
            )
    return "\n".join(out) + "\n" if out else ""


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


async def collect(source: StatusSource) -> str:
    """Ask the source for everything and print it; a failing part is reported, not fatal."""
    families: list[Family] = []
    failed = Family(
        "sl3vpn_scrape_error", "gauge", "1 when this part of the daemon's state could not be read."
    )
    for method, build in _SECTIONS:
        try:
            data = getattr(source, method)()
            if inspect.isawaitable(data):
                data = await data
            families += build(records(data))
        except Exception as exc:
            log.warning("metrics: reading %s failed: %s: %s", method, type(exc).__name__, exc)
            failed.add(1, part=method)
    return exposition([*families, failed])
