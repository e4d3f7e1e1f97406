"""Text output of `sl3vpn show`: aligned tables in the manner of `show bgp summary`.

One renderer per show kind, each taking exactly the data the control API
returns (see controller/api/source.py) and returning text ending in a newline.
Counts are right-aligned, names left-aligned; absent values print as ``-``.

A field missing from a record (a daemon that does not know it yet) also
prints as ``-`` rather than failing the whole command: the operator sees what
the daemon has. Data of the wrong type is a :class:`RenderError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from itertools import groupby
from typing import Any

from controller.api.source import records

Cell = str | int | float | None


def cell(value: Cell) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def table(header: Sequence[str], rows: Sequence[Sequence[Cell]], right: Sequence[int] = ()) -> str:
    """Columns two spaces apart; the columns whose index is in ``right`` align right."""
    text = [list(header)] + [[cell(v) for v in r] for r in rows]
    widths = [max(len(r[i]) for r in text) for i in range(len(header))]
    lines = []
    for r in text:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines) + "\n"


def duration(seconds: float | None) -> str:
    """Like routers print session ages: ``00:05:07``, ``3d04h12m``, ``never``."""
    if seconds is None:
        return "never"
    s = max(0, int(seconds))
    days, rest = divmod(s, 86400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    return f"{days}d{h:02d}h{m:02d}m" if days else f"{h:02d}:{m:02d}:{sec:02d}"


def spi(value: int | None, octets: int = 4) -> str:
    return "-" if value is None else f"0x{value:0{octets * 2}x}"


def errors(counts: dict[str, int] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((counts or {}).items()) if v) or "-"


def joined(items: list[str] | None) -> str:
    return ",".join(items or []) or "-"


def pair(a: Cell, b: Cell) -> str | None:
    return None if a is None and b is None else f"{cell(a)}/{cell(b)}"


def render_vrf(vrfs: list[dict[str, Any]]) -> str:
    if not vrfs:
        return "No VRFs configured.\n"
    rows = [
        (
            v["name"],
            v["vrf_id"],
            v["rd"],
            joined(v["import_rts"]),
            joined(v["export_rts"]),
            v["label_mode"],
            joined(v["ports"]),
            v["routes"],
        )
        for v in vrfs
    ]
    return table(
        ("VRF", "ID", "RD", "Import RTs", "Export RTs", "Labels", "Ports", "Routes"), rows, (1, 7)
    )


def render_routes(routes: list[dict[str, Any]]) -> str:
    if not routes:
        return "No routes.\n"
    legend = "Codes: * installed in the switch, L local, S spoof refused\n\n"
    out = [legend]
    for vrf, group in groupby(
        sorted(routes, key=lambda r: (str(r["vrf"]), str(r["family"]))), key=lambda r: r["vrf"]
    ):
        rows = []
        for r in group:
            code = ("*" if r["installed"] else " ") + (
                "L" if r["local"] else "S" if r["verdict"] == "spoof" else " "
            )
            rows.append(
                (
                    code,
                    r["prefix"],
                    r["label"],
                    r["next_hop"],
                    r["tunnel_endpoint"],
                    r["rd"],
                    r["verdict"],
                )
            )
        out.append(f"VRF {vrf}:\n")
        out.append(
            table(
                ("", "Prefix", "Label", "Next hop", "Tunnel endpoint", "RD", "Verdict"), rows, (2,)
            )
        )
        out.append("\n")
    return "".join(out).rstrip("\n") + "\n"


def render_bgp(sessions: list[dict[str, Any]]) -> str:
    if not sessions:
        return "No BGP neighbors configured.\n"
    rows = []
    for s in sessions:
        established = s["state"] == "Established"
        rows.append(
            (
                s["neighbor"],
                s["remote_as"],
                s["color"],
                ("-" if s["uptime"] is None else duration(s["uptime"])) if established else "never",
                s["received"] if established else s["state"],
                s["advertised"],
                s["rejected"],
                joined(s["families"]),
            )
        )
    head = ("Neighbor", "AS", "Color", "Up/Down", "State/PfxRcd", "PfxSnt", "Rej", "Families")
    text = table(head, rows, (1, 4, 5, 6))
    up = sum(1 for s in sessions if s["state"] == "Established")
    text += f"\nTotal neighbors {len(sessions)}, established {up}\n"
    for s in sessions:
        error = s["last_error"] or s["reason"]  # "reason": controller.bgp.show's name
        if error:
            text += f"  {s['neighbor']}: last error: {error}\n"
    return text


def render_sa(status: dict[str, Any]) -> str:
    ike_rows = [
        (
            sa["local"],
            sa["remote"],
            sa["state"],
            None if sa["initiator"] is None else "initiator" if sa["initiator"] else "responder",
            f"{spi(sa['spi_i'], 8)}/{spi(sa['spi_r'], 8)}",
            sa["suite"],
            sa["nat_t"],
            duration(sa["established"]),
            None if sa["rekey_in"] is None else duration(sa["rekey_in"]),
            sa["children"],
        )
        for sa in status["ike"] or []
    ]
    ike_head = (
        "Local",
        "Remote",
        "State",
        "Role",
        "SPIs (i/r)",
        "Suite",
        "NAT-T",
        "Up",
        "Rekey in",
        "Children",
    )
    child_rows = [
        (
            c["name"],
            c["peer"],
            c["tenant"],
            f"{spi(c['spi_in'])}/{spi(c['spi_out'])}",
            pair(c["sa_in"], c["sa_out"]),
            c["suite"],
            c["mode"],
            f"udp/{cell(c['encap_port'])}" if c["nat_t"] else c["nat_t"],
            duration(c["established"]),
            None if c["rekey_in"] is None else duration(c["rekey_in"]),
            pair(c["packets_in"], c["packets_out"]),
            pair(c["bytes_in"], c["bytes_out"]),
            errors(c["errors"]),
        )
        for c in status["child"] or []
    ]
    child_head = (
        "Name", "Peer", "Tenant", "SPI in/out", "SA in/out", "Suite", "Mode", "NAT-T", "Up",
        "Rekey in", "Pkts in/out", "Bytes in/out", "Errors",
    )  # fmt: skip
    text = f"IKE SAs: {len(ike_rows)}\n" + (table(ike_head, ike_rows, (9,)) if ike_rows else "")
    text += f"\nCHILD SAs: {len(child_rows)}\n" + (
        table(child_head, child_rows, (10, 11)) if child_rows else ""
    )
    return text


def render_tunnels(tunnels: list[dict[str, Any]]) -> str:
    if not tunnels:
        return "No tunnels.\n"
    rows = [
        (
            t["remote"],
            t["tenant"],
            t["endpoint"],
            None if t["security_handle_len"] is None else f"{t['security_handle_len']}B",
            t["tunnel_id"],
            pair(t["sa_out"], t["sa_in"]),
            t["child_sa"],
            t["verdict"],
            t["via"],
        )
        for t in tunnels
    ]
    head = (
        "Remote red",
        "Tenant",
        "Black endpoint",
        "SecHandle",
        "Tunnel",
        "SA out/in",
        "CHILD_SA",
        "Verdict",
        "Via",
    )
    text = table(head, rows, (4,))
    spoofs = [t for t in tunnels if t["verdict"] == "spoof"]
    if spoofs:
        text += f"\nSpoofs refused: {len(spoofs)}\n"
        for t in spoofs:
            text += f"  SPOOF {t['remote']}: resolved through {cell(t['via'])}, not installed\n"
    return text


def render_tables(entries: list[str]) -> str:
    if not entries:
        return "The switch holds no entries.\n"
    out = []
    for name, group in groupby(sorted(entries), key=lambda e: e.split(" ", 1)[0]):
        items = list(group)
        out.append(f"{name} ({len(items)} {'entry' if len(items) == 1 else 'entries'})\n")
        out.extend(f"  {e}\n" for e in items)
    return "".join(out)


def render_counters(counters: dict[str, Any]) -> str:
    vrf = table(
        ("VRF", "ID", "Packets", "Bytes"),
        [(v["vrf"], v["vrf_id"], v["packets"], v["bytes"]) for v in counters["vrf"] or []],
        (1, 2, 3),
    )
    sa = table(
        ("SA", "Dir", "SPI", "Peer", "Packets", "Bytes", "Errors"),
        [
            (
                s["sa_index"],
                s["direction"],
                spi(s["spi"]),
                s["peer"],
                s["packets"],
                s["bytes"],
                errors(s["errors"]),
            )
            for s in counters["sa"] or []
        ],
        (0, 4, 5),
    )
    port = table(
        ("Port", "Name", "Role", "RX packets", "RX bytes", "TX packets", "TX bytes"),
        [
            (
                p["port"],
                p["name"],
                p["role"],
                p["rx_packets"],
                p["rx_bytes"],
                p["tx_packets"],
                p["tx_bytes"],
            )
            for p in counters["port"] or []
        ],
        (0, 3, 4, 5, 6),
    )
    return f"Per VRF:\n{vrf}\nPer SA:\n{sa}\nPer port:\n{port}"


def render_drops(drops: list[dict[str, Any]]) -> str:
    if not drops:
        return "No drops counted.\n"
    rows = [
        (d["code"], d["reason"], d["packets"], d["bytes"])
        for d in sorted(drops, key=lambda d: d["code"] or 0)
    ]
    text = table(("Code", "Reason", "Packets", "Bytes"), rows, (0, 2, 3))
    packets = sum(d["packets"] or 0 for d in drops)
    octets = sum(d["bytes"] or 0 for d in drops)
    return text + f"\nTotal dropped: {packets} packets, {octets} bytes\n"


RENDERERS: dict[str, Callable[[Any], str]] = {
    "vrf": render_vrf,
    "routes": render_routes,
    "bgp": render_bgp,
    "sa": render_sa,
    "tunnels": render_tunnels,
    "tables": render_tables,
    "counters": render_counters,
    "drops": render_drops,
}


class RenderError(ValueError):
    """The daemon's data does not have the shape this renderer expects."""


def render(what: str, data: Any) -> str:
    try:
        return RENDERERS[what](records(data))
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise RenderError(f"show {what}: reply is not in the expected shape ({exc})") from None


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
