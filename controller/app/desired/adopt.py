"""Ids across a daemon restart: seed the id pools from what the adopted switch holds.

A daemon restarted with ``--keep-switch`` finds the previous daemon's entries
on the switch, referring to tunnels and next hops by ids it chose. Were the new
daemon to number its objects afresh, a ``vrf_fib`` entry written by the old one
could, for as long as it is not rewritten (deletes are held for up to a minute),
point at an id that now means another peer's tunnel (its SA: a cross-tenant or
red/black leak) or another tenant host. So, on the first read of a switch:

* a tunnel keeps the id the switch has for it: same peer (``dst_addr``) and an
  SA index in common (``tunnel_sa`` or ``inbound_sa``; the SAs are inherited
  from the engine with their indexes, and an SA index belongs to one peer and
  tenant). A tenant is recognised by its SA, never by the peer address alone;
* a red or black next hop keeps its id: the switch's entry names its key
  (port, MAC);
* every other id seen on the switch is blocked for new objects until the
  switch holds only our entries (``DesiredState.settle_ids``).

VRF ids come from the configuration alone (``table_id``, else configuration
order), so the same configuration gives the same ids; a red port whose VRF id
on the switch differs is reported (give the VRFs a ``table_id``).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from controller.app.desired.model import TunnelKey
from controller.p4rt import TableEntry

if TYPE_CHECKING:
    from controller.app.desired.state import DesiredState

log = logging.getLogger("sl3vpn.desired")


@dataclass
class SwitchTunnel:
    """A tunnel as the switch has it: its peer and the SA indexes it uses."""

    peer: str | None = None
    sa_indexes: set[int] = field(default_factory=set)


def _mac(value: object) -> str:
    return ":".join(f"{b:02x}" for b in _int(value).to_bytes(6, "big"))


def _addr(value: object, v6: bool) -> str:
    return str(ipaddress.IPv6Address(_int(value)) if v6 else ipaddress.IPv4Address(_int(value)))


def _int(value: object) -> int:
    """A decoded P4Runtime value (an int; bytes tolerated)."""
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    if isinstance(value, int):
        return value
    raise ValueError(f"switch entry: expected a number, got {value!r}")


def _nexthops(
    entries: list[TableEntry], table: str, refs: tuple[str, ...]
) -> tuple[dict[Hashable, int], set[int]]:
    """(port, MAC) -> id of the next hops in ``table``, and every id referred to."""
    hints: dict[Hashable, int] = {}
    seen: set[int] = set()
    for e in entries:
        if e.table == table:
            nh = _int(e.match["nexthop_id"])
            seen.add(nh)
            key = (_int(e.params["port"]), _mac(e.params["dst_mac"]))
            hints.setdefault(key, nh)
        elif e.table in refs and "nexthop_id" in e.params:
            seen.add(_int(e.params["nexthop_id"]))
    return hints, seen


def switch_tunnels(entries: list[TableEntry]) -> dict[int, SwitchTunnel]:
    """Tunnel id -> peer and SA indexes, for every tunnel id the switch refers to."""
    out: dict[int, SwitchTunnel] = {}
    for e in entries:
        if e.table == "tunnel":
            out.setdefault(_int(e.match["tunnel_id"]), SwitchTunnel()).peer = _addr(
                e.params["dst_addr"], e.action == "set_tunnel_v6"
            )
        elif e.table == "tunnel_sa" and e.action == "set_outbound_sa":
            t = out.setdefault(_int(e.match["tunnel_id"]), SwitchTunnel())
            t.sa_indexes.add(_int(e.params["sa_index"]))
        elif e.table.startswith("inbound_sa_") and "tunnel_id" in e.params:
            t = out.setdefault(_int(e.params["tunnel_id"]), SwitchTunnel())
            t.sa_indexes.add(_int(e.match["sa_index"]))
        elif e.table.startswith("vrf_fib_") and e.action == "route_remote":
            out.setdefault(_int(e.params["tunnel_id"]), SwitchTunnel())
    out.pop(0, None)  # inbound control SAs: tunnel 0 is no tunnel
    return out


def adopt(st: DesiredState, entries: Iterable[TableEntry]) -> None:
    """Seed ``st``'s id pools from a switch's entries (see the module docstring)."""
    entries = list(entries)
    tunnels = switch_tunnels(entries)
    st.adopted_tunnels = tunnels
    st.tunnel_ids.adopt(tunnels)
    hints, seen = _nexthops(entries, "red_nexthop", ("vrf_fib_v4", "vrf_fib_v6"))
    st.red_nh_ids.adopt(seen, hints)
    hints, seen = _nexthops(entries, "black_nexthop", ("black_fib_v4", "black_fib_v6"))
    st.black_nh_ids.adopt(seen, hints)
    ports = {p.port: p.vrf for p in st.cfg.switch.by_role("red") if p.vlan is None}
    for e in entries:
        if e.table == "port_role" and e.action == "set_red_port":
            vrf = ports.get(_int(e.match["port"]))
            mine = st.vrf_ids.peek(vrf) if vrf is not None else None
            if mine is not None and mine != _int(e.params["vrf_id"]):
                log.warning(
                    "switch: red port %s has VRF id %s, %s is now %s (the configuration "
                    "changed?): its packets may meet another VRF's routes until rewritten; "
                    "give the VRFs a table_id",
                    e.match["port"],
                    e.params["vrf_id"],
                    vrf,
                    mine,
                )


def tunnel_hint(st: DesiredState, tkey: TunnelKey) -> int | None:
    """The id the switch already uses for tunnel ``tkey`` (same peer, an SA in common)."""
    pair = st.sas.get(tkey)
    if pair is None:
        return None
    mine = {pair.out_index, *pair.inbound()}
    for tid, t in st.adopted_tunnels.items():
        if t.peer == tkey[0] and t.sa_indexes & mine:
            return tid
    return None
