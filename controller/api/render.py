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
from collections.abc import Callable
from itertools import groupby
from typing import Any

from controller.api.render_sa import render_counters, render_sa, render_tunnels
from controller.api.source import records
from controller.api.textfmt import duration, joined, table


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


_VERDICT_CODES = {"spoof": "S", "no-encap": "E"}


def render_routes(routes: list[dict[str, Any]]) -> str:
    if not routes:
        return "No routes.\n"
    legend = (
        "Codes: * installed in the switch, L local, S spoof refused,\n"
        "       E refused: no MPLS-in-IPsec Tunnel Encapsulation attribute (draft 2),\n"
        "       ! a black-session route covers the next hop (spoof attempt, not used)\n\n"
    )
    out = [legend]
    marked: list[str] = []
    for vrf, group in groupby(
        sorted(routes, key=lambda r: (str(r["vrf"]), str(r["family"]))), key=lambda r: r["vrf"]
    ):
        rows = []
        for r in group:
            spoof = r["spoof"] or []
            code = ("*" if r["installed"] else " ") + (
                "L" if r["local"] else _VERDICT_CODES.get(str(r["verdict"]), "!" if spoof else " ")
            )
            if spoof:
                via = ", ".join(spoof)
                marked.append(f"  {vrf} {r['prefix']} next hop {r['next_hop']}: {via}\n")
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
    if marked:
        out.append("Spoof attempts (black routes covering a red next hop, draft section 4):\n")
        out.extend(marked)
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
        remote = s.get("remote_address")
        if remote and remote != s["neighbor"]:  # a red session in IPsec transport mode
            local = s.get("local_address") or "-"
            text += f"  {s['neighbor']}: session {local} <-> {remote}\n"
        error = s["last_error"] or s["reason"]  # "reason": controller.bgp.show's name
        if error:
            text += f"  {s['neighbor']}: last error: {error}\n"
        if s["spoof_attempts"]:
            now = ", ".join(s["spoof_routes"] or []) or "-"
            text += f"  {s['neighbor']}: spoof attempts {s['spoof_attempts']}, now: {now}\n"
        if s.get("refused"):
            ever = ", ".join(f"{k} {n}" for k, n in s["refused"].items())
            now = ", ".join(s.get("refused_routes") or []) or "-"
            text += f"  {s['neighbor']}: refused routes {ever}, now: {now}\n"
    return text + render_graceful(sessions)


def render_graceful(sessions: list[dict[str, Any]]) -> str:
    """Graceful restart (RFC 4724): our own restart, then per peer what is kept stale."""
    grs = [(s["neighbor"], s["graceful_restart"]) for s in sessions if s.get("graceful_restart")]
    if not grs:
        return ""
    local = grs[0][1].get("local") or {}
    if not local.get("enabled", True):
        return "Graceful restart: disabled\n"
    text = f"Graceful restart: restart time {local.get('restart_time', '-')}s"
    if local.get("deferring"):
        text += f", restarted: waiting for End-of-RIB ({local.get('deferral_left', '-')}s left)"
    elif local.get("restarted"):
        text += f", restarted: initial RIB complete ({local.get('completed_by', '-')})"
    elif local.get("initial_rib_complete") is False:
        text += ", initial RIB not complete yet"
    text += "\n"
    for peer, gr in grs:
        parts = []
        if gr.get("peer_restart_time") is not None:
            fwd = joined(gr.get("peer_preserved") or [])
            parts.append(f"peer restart time {gr['peer_restart_time']}s, forwarding kept: {fwd}")
        if gr.get("stale_families"):
            stale = f"stale {joined(gr['stale_families'])}"
            if gr.get("restart_timer") is not None:
                stale += f" (peer must be back in {gr['restart_timer']}s)"
            elif gr.get("stale_timer") is not None:
                stale += f" (End-of-RIB due in {gr['stale_timer']}s)"
            parts.append(stale)
        if gr.get("awaiting_eor"):
            parts.append(f"awaiting End-of-RIB for {joined(gr['awaiting_eor'])}")
        if parts:
            text += f"  {peer}: {'; '.join(parts)}\n"
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
