"""Entries of the VPN: tunnels with their SAs, our labels, and the VRF routes BGP gave us.

A remote route reaches ``vrf_fib`` only once its tunnel has an SA (nothing is
ever sent in the clear); until then it is a VRF miss, or in lazy SA mode
(draft section 4) a ``route_to_cpu`` whose first packet asks IKE for the SA.
A local route's label maps to its VRF in ``vpn_label``.

The one-entry functions here serve both the full rebuild (:func:`vpn_entries`)
and the incremental path in ``state.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from controller.app.desired.model import ESP_OVERHEAD, IPAddress, SaPair, TunnelKey, VpnRoute
from controller.app.desired.view import StateView
from controller.p4rt import TableEntry


def route_entry(vrf_id: int, route: VpnRoute, tunnel_id: int | None, lazy: bool) -> TableEntry:
    """A remote route: to its tunnel, or (no SA yet, lazy mode) to the CPU."""
    v = route.prefix.version
    match: dict[str, Any] = {"vrf_id": vrf_id, f"ipv{v}_dst": str(route.prefix)}
    if tunnel_id is None:
        assert lazy, "a route without an SA has no entry unless SAs are set up lazily"
        return TableEntry(f"vrf_fib_v{v}", match, "route_to_cpu")
    return TableEntry(
        f"vrf_fib_v{v}", match, "route_remote", {"label": route.label, "tunnel_id": tunnel_id}
    )


def label_entry(label: int, vrf_ids: set[int]) -> TableEntry:
    """Our label -> its VRF; should two VRFs claim one label, the lowest VRF id has it."""
    return TableEntry("vpn_label", {"label": label}, "set_label_vrf", {"vrf_id": min(vrf_ids)})


def tunnel_mtu(st: StateView) -> int:
    black_mtu = min((p.mtu for p in st.cfg.switch.by_role("black")), default=1500)
    return black_mtu - ESP_OVERHEAD


def tunnel_entries(
    black: IPAddress, mtu: int, peer: str, tunnel_id: int, sa: SaPair
) -> Iterator[TableEntry]:
    """A tunnel to ``peer``: outer header, outbound SA, the inbound SAs accepted from it.

    The outer destination is where the peer's SAs are: its black loopback, or its NAT's
    public address (RFC 3948), since transport-mode ESP keeps the NATed outer header.
    """
    outer = str(sa.outer) if sa.outer is not None else peer
    params: dict[str, int | str | bytes] = {"src_addr": str(black), "dst_addr": outer, "mtu": mtu}
    yield TableEntry("tunnel", {"tunnel_id": tunnel_id}, f"set_tunnel_v{black.version}", params)
    yield TableEntry(
        "tunnel_sa", {"tunnel_id": tunnel_id}, "set_outbound_sa", {"sa_index": sa.out_index}
    )
    v = black.version
    for in_index in sa.inbound():
        yield TableEntry(
            f"inbound_sa_v{v}",
            {"sa_index": in_index, f"ipv{v}_src": outer},
            "inbound_sa_ok",
            {"tunnel_id": tunnel_id},
        )


def tunnels(st: StateView, live: dict[TunnelKey, int]) -> Iterator[TableEntry]:
    """The entries of every tunnel in ``live`` (tunnel key -> id), in id order."""
    black = st.black
    if black is None:
        return
    mtu = tunnel_mtu(st)
    for (peer, tenant), tid in sorted(live.items(), key=lambda kv: kv[1]):
        yield from tunnel_entries(black, mtu, peer, tid, st.sas[(peer, tenant)])


def vpn_entries(st: StateView) -> tuple[list[TableEntry], list[TableEntry], list[TableEntry]]:
    """Full rebuild from the routes and SAs: (tunnel entries, label entries, route entries).

    Tunnel ids are taken from the state's pool (allocating one for a live tunnel
    that lacks it, releasing those of tunnels no longer live), so a rebuild
    agrees with the incremental path and repairs the pool should they differ.
    """
    labels: dict[int, set[int]] = {}
    live: dict[TunnelKey, int] = {}
    fib: list[TableEntry] = []
    for (vrf, _prefix), route in sorted(
        st.routes.items(), key=lambda kv: (kv[0][0], kv[0][1].version, kv[0][1])
    ):
        vrf_id = st.vrf_ids.peek(vrf)
        if vrf_id is None:
            continue
        if route.local:
            labels.setdefault(route.label, set()).add(vrf_id)
            continue
        tkey = st.tunnel_for(route)
        if tkey is None:
            continue
        if tkey in st.sas:
            live[tkey] = st.tunnel_id(tkey)
        elif not st.lazy:
            continue  # No SA yet: never sent in the clear, a VRF miss.
        fib.append(route_entry(vrf_id, route, live.get(tkey), st.lazy))
    for key in [k for k in st.tunnel_ids.held() if k not in live]:
        st.tunnel_ids.release(key)
    label_entries = [label_entry(label, ids) for label, ids in sorted(labels.items())]
    return list(tunnels(st, live)), label_entries, fib
