"""`show sa`, `show tunnels` and `show counters`: the IPsec side and the switch's counters."""

from __future__ import annotations

from typing import Any

from controller.api.textfmt import cell, duration, errors, pair, spi, table


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


def _endpoint(t: dict[str, Any]) -> str | None:
    """The black endpoint, and where its ESP really goes when that differs (NAT)."""
    endpoint, outer = t["endpoint"], t.get("outer")
    return f"{endpoint} via {outer}" if endpoint and outer and outer != endpoint else endpoint


def _handle(t: dict[str, Any]) -> str | None:
    """The Security Handle cell: what it says (when the daemon decoded it) and its size."""
    size = t["security_handle_len"]
    if size is None:
        return None
    decoded = t.get("security_handle")
    return f"{decoded} ({size}B)" if decoded else f"{size}B"


def render_tunnels(tunnels: list[dict[str, Any]]) -> str:
    if not tunnels:
        return "No tunnels.\n"
    rows = [
        (
            t["remote"],
            t["tenant"],
            _endpoint(t),
            _handle(t),
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
