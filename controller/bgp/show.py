"""Show output for operators and for the app's ``show`` command: data first, then text.

Every ``*_data`` function returns plain JSON-ready structures; the matching
text function renders the same data as a table. Security Handles are shown as
their length only: they may carry SA parameters (draft section 6).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from controller.bgp.core import SpeakerCore
from controller.bgp.path import FAMILIES_BY_NAME, Family, IPAddress, Path, Source
from controller.bgp.wire.attributes.ext_communities import ExtCommunity


def sessions_data(
    core: SpeakerCore,
    now: float | None = None,
    transport_of: Callable[[IPAddress], IPAddress] | None = None,
) -> list[dict[str, Any]]:
    """One record per session; ``transport_of`` names the address a session runs to
    when that is not the neighbour's own (a red session in IPsec transport mode)."""
    now = time.monotonic() if now is None else now
    out = []
    for addr, sess in core.sessions.items():
        n = sess.neighbor
        neg = sess.negotiated
        rib = core.red if n.color.value == "red" else core.black
        out.append(
            {
                "neighbor": str(addr),
                # the TCP endpoints (draft 3.2 transport mode: the black loopbacks)
                "remote_address": str(transport_of(addr) if transport_of else addr),
                "local_address": str(sess.local_address) if sess.local_address else None,
                "remote_as": n.remote_as,
                "color": n.color.value,
                "state": str(sess.state),
                "reason": sess.fsm.idle_reason or sess.fsm.last_error,
                "rr_client": n.rr_client,
                "families": sorted(str(f) for f in neg.families) if neg else [],
                "received": sum(1 for _ in rib.adj_in(addr)),
                "stale": sum(1 for p in rib.adj_in(addr) if p.stale),
                "advertised": len(core.adj_out.get(addr, {})),
                "rejected": sum(c for (p, _), c in core.rejects.items() if p == addr),
                # Black routes covering red addresses (draft 4): detected ever, present now.
                "spoof_attempts": core.spoof_watch.per_peer[addr],
                "spoof_routes": [str(x.prefix) for x in core.spoof_watch.of_peer(addr)],
                # Routes kept but refused by a draft rule (controller/bgp/refusals.py):
                # per kind, ever; and "kind prefix" of those refused now.
                "refused": core.refusals.counts(addr),
                "refused_routes": [r.describe() for r in core.refusals.of_peer(addr)],
                "messages": dict(sorted(sess.counters.items())),
                "graceful_restart": graceful_data(core, addr, now),
            }
        )
    return out


def graceful_data(core: SpeakerCore, peer: IPAddress, now: float) -> dict[str, Any]:
    """RFC 4724 state with one peer: its capability, what we keep stale, our own restart."""
    sess = core.sessions[peer]
    neg = sess.negotiated or sess.last_negotiated
    cap = neg.graceful_restart if neg is not None else None
    return {
        "local": core.gr.status(now),
        "peer_restart_time": None if cap is None else cap.restart_time,
        "peer_restarting": bool(cap and cap.restarting),
        "peer_preserved": []
        if cap is None
        else sorted(str(Family(f.afi, f.safi)) for f in cap.families if f.forwarding_preserved),
        **core.gr.peer_status(peer, now),
    }


def sessions_text(core: SpeakerCore) -> str:
    rows = [("Neighbor", "AS", "Color", "State", "Rcvd", "Sent", "Rej", "Families / reason")]
    for d in sessions_data(core):
        info = ",".join(d["families"]) if d["state"] == "Established" else d["reason"]
        rows.append(
            (
                d["neighbor"],
                str(d["remote_as"]),
                d["color"],
                d["state"],
                str(d["received"]),
                str(d["advertised"]),
                str(d["rejected"]),
                info,
            )
        )
    return _table(rows)


def _path_data(p: Path, best: bool) -> dict[str, Any]:
    a = p.attrs
    return {
        "nlri": str(p.nlri),
        "best": best,
        "next_hop": str(a.next_hop),
        "from": str(p.source.peer) if p.source.peer else "local",
        "labels": list(p.labels),
        "local_pref": a.local_pref,
        "med": a.med,
        "as_path": " ".join(str(x) for _, asns in a.as_path for x in asns),
        "origin": a.origin.name.lower(),
        "route_targets": [str(rt) for rt in a.route_targets()],
        "originator_id": str(a.originator_id) if a.originator_id else None,
        "cluster_list": [str(c) for c in a.cluster_list],
        "tunnels": [
            {
                "type": t.tunnel_type,
                "endpoint": str(t.endpoint),
                "security_handle_len": None
                if t.security_handle is None
                else len(t.security_handle),
            }
            for t in a.tunnels
        ],
        "stale": p.stale,
    }


def routes_data(core: SpeakerCore, family: Family | str) -> list[dict[str, Any]]:
    fam = FAMILIES_BY_NAME[family] if isinstance(family, str) else family
    out = []
    for rib in (core.red, core.black):
        for nlri in rib.destinations():
            if nlri.family != fam:
                continue
            best = rib.best(nlri)
            for p in rib.paths(nlri):
                d = _path_data(p, p is best)
                d["color"] = p.source.color.value
                out.append(d)
    return sorted(out, key=lambda d: (d["nlri"], not d["best"]))


def routes_text(core: SpeakerCore, family: Family | str) -> str:
    rows = [("", "Network", "Next hop", "Label", "LocPrf", "Path", "From", "Color")]
    for d in routes_data(core, family):
        rows.append(
            (
                "*>" if d["best"] else "* ",
                d["nlri"],
                d["next_hop"],
                ",".join(map(str, d["labels"])),
                "" if d["local_pref"] is None else str(d["local_pref"]),
                d["as_path"] + " " + d["origin"][0],
                d["from"],
                d["color"],
            )
        )
    return _table(rows)


def neighbor_routes_data(
    core: SpeakerCore, neighbor: IPAddress, direction: str = "received"
) -> list[dict[str, Any]]:
    """Adj-RIB-In ("received") or Adj-RIB-Out ("advertised") of one neighbour."""
    sess = core.sessions.get(neighbor)
    if sess is None:
        raise KeyError(f"neighbor {neighbor}: not configured")
    if direction == "received":
        rib = core.red if sess.neighbor.color.value == "red" else core.black
        out = []
        for p in rib.adj_in(neighbor):
            d = _path_data(p, rib.best(p.nlri) is p)
            d["family"] = str(p.nlri.family)
            out.append(d)
        return sorted(out, key=lambda d: d["nlri"])
    if direction != "advertised":
        raise ValueError(f"direction {direction!r}: expected 'received' or 'advertised'")
    sent = []
    for nlri, (attrs, labels) in core.adj_out.get(neighbor, {}).items():
        d = _path_data(Path(nlri, attrs, Source(sess.neighbor.color), labels), True)
        d["family"] = str(nlri.family)
        d["from"] = "-"
        sent.append(d)
    return sorted(sent, key=lambda d: d["nlri"])


def vrf_data(core: SpeakerCore, vrf: str) -> dict[str, Any]:
    v = core.vrfs[vrf]
    routes = []
    for ev in core.vrf_routes(vrf):
        routes.append(
            {
                "prefix": str(ev.prefix),
                "local": ev.local,
                "label": ev.label,
                "next_hop": None if ev.next_hop is None else str(ev.next_hop),
                "rd": ev.rd,
                "verdict": ev.verdict.value if ev.verdict else "local",
                "tunnel_endpoint": None if ev.tunnel_endpoint is None else str(ev.tunnel_endpoint),
                "security_handle_len": None
                if ev.security_handle is None
                else len(ev.security_handle),
            }
        )
    return {
        "vrf": vrf,
        "rd": str(v.rd),
        "import": sorted(_rt(rt) for rt in v.import_rts),
        "export": [_rt(rt) for rt in v.export_rts],
        "label_mode": v.config.label_mode.value,
        "routes": routes,
    }


def _rt(rt: ExtCommunity) -> str:
    return str(rt).removeprefix("rt ")


def vrf_text(core: SpeakerCore, vrf: str) -> str:
    d = vrf_data(core, vrf)
    head = f"VRF {d['vrf']}  RD {d['rd']}  import {','.join(d['import'])}  "
    head += f"export {','.join(d['export'])}  labels {d['label_mode']}\n"
    rows = [("Prefix", "Label", "Next hop", "Tunnel endpoint", "Verdict")]
    for r in d["routes"]:
        rows.append(
            (
                r["prefix"],
                str(r["label"]),
                "local" if r["local"] else str(r["next_hop"]),
                r["tunnel_endpoint"] or "-",
                r["verdict"],
            )
        )
    return head + _table(rows)


def resolution_data(core: SpeakerCore) -> dict[str, Any]:
    """Resolution state: every remote VPN route's verdict, and the spoofs detected."""
    vpn = []
    for rib_nlri in core.red.destinations():
        for p in core.red.paths(rib_nlri):
            if p.source.local or p.nlri.rd is None:
                continue
            res = core.resolve(p)
            vpn.append(
                {
                    "nlri": str(p.nlri),
                    "from": str(p.source.peer),
                    "next_hop": str(p.attrs.next_hop),
                    "verdict": res.verdict.value,
                    "via": res.via,
                    "tunnel_endpoint": None
                    if res.tunnel_endpoint is None
                    else str(res.tunnel_endpoint),
                }
            )
    spoofs = [
        {"nlri": str(n), "next_hop": str(r.next_hop), "via": r.via, "via_peer": str(r.via_peer)}
        for n, r in core.spoofs.items()
    ]
    return {
        "routes": sorted(vpn, key=lambda d: d["nlri"]),
        "spoofs": spoofs,
        "spoof_count": core.counters["spoof"],
    }


def resolution_text(core: SpeakerCore) -> str:
    d = resolution_data(core)
    rows = [("VPN route", "Next hop", "Verdict", "Via", "Tunnel endpoint")]
    for r in d["routes"]:
        rows.append((r["nlri"], r["next_hop"], r["verdict"], r["via"], r["tunnel_endpoint"] or "-"))
    text = _table(rows)
    text += f"\nSpoofs detected: {d['spoof_count']}\n"
    for sp in d["spoofs"]:
        text += f"  SPOOF {sp['nlri']}: next hop {sp['next_hop']} via black route {sp['via']}\n"
    return text


def to_json(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True)


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines) + "\n"
