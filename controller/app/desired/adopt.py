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

VRF ids come from the configuration (``table_id``, else configuration order),
so the same configuration gives the same ids. Should the switch's red ports
say otherwise (VRFs added or removed across the restart), VRFs are renumbered:
a VRF recognised by its red ports keeps its id, any other takes one the switch
does not use.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Protocol, cast

from controller.app.desired.model import SaPair, TunnelKey
from controller.app.ids import IdPool
from controller.config import Config
from controller.p4rt import TableEntry

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
    out.pop(0, None)  # tunnel 0 is no tunnel (inbound control SAs once named it)
    return out


class IdState(Protocol):
    """What adoption reads and re-seeds of a ``state.DesiredState`` (which imports us)."""

    cfg: Config
    sas: dict[TunnelKey, SaPair]
    vrf_ids: IdPool
    tunnel_ids: IdPool
    red_nh_ids: IdPool
    black_nh_ids: IdPool
    adopted_tunnels: dict[int, SwitchTunnel]

    def rebuild_store(self) -> None: ...


def adopt(st: IdState, entries: Iterable[TableEntry]) -> None:
    """Seed ``st``'s id pools from a switch's entries (see the module docstring)."""
    entries = list(entries)
    tunnels = switch_tunnels(entries)
    st.adopted_tunnels = tunnels
    st.tunnel_ids.adopt(tunnels)
    hints, seen = _nexthops(entries, "red_nexthop", ("vrf_fib_v4", "vrf_fib_v6"))
    st.red_nh_ids.adopt(seen, hints)
    hints, seen = _nexthops(entries, "black_nexthop", ("black_fib_v4", "black_fib_v6"))
    st.black_nh_ids.adopt(seen, hints)
    _vrf_ids(st, entries)


def _vrf_ids(st: IdState, entries: list[TableEntry]) -> None:
    """Renumber the VRFs if the switch's red ports disagree with ours (configuration changed).

    A VRF with a ``table_id`` keeps it. Another keeps the id its red ports have
    on the switch if exactly those ports have it; else it gets an id the switch
    does not use at all, so no stale entry (a route, a label) of another VRF
    ever meets its packets.
    """
    mine: dict[tuple[int, int | None], str] = {
        (p.port, p.vlan): p.vrf for p in st.cfg.switch.by_role("red") if p.vrf is not None
    }
    theirs: dict[tuple[int, int | None], int] = {}
    seen: set[int] = set()
    for e in entries:
        if e.table == "port_role" and e.action == "set_red_port":
            theirs[(_int(e.match["port"]), None)] = _int(e.params["vrf_id"])
        elif e.table == "red_subif":
            theirs[(_int(e.match["port"]), _int(e.match["vlan_id"]))] = _int(e.params["vrf_id"])
        elif e.table.startswith("vrf_fib_"):
            seen.add(_int(e.match["vrf_id"]))
        elif "vrf_id" in e.params:  # vpn_label, red_nexthop
            seen.add(_int(e.params["vrf_id"]))
    seen.update(theirs.values())
    seen.discard(0)  # no VRF
    if all(st.vrf_ids.peek(mine[k]) == v for k, v in theirs.items() if k in mine):
        return  # the same VRF ids as before: nothing to renumber
    pool = IdPool("VRF")
    for vrf in st.cfg.vrfs:
        if vrf.table_id is not None:
            pool.reserve(vrf.name, vrf.table_id)
    for vrf in st.cfg.vrfs:
        ports = {k for k, name in mine.items() if name == vrf.name}
        ids = {theirs.get(k) for k in ports}
        if vrf.table_id is not None or len(ids) != 1 or None in ids:
            continue
        (vid,) = cast(set[int], ids)
        taken = {pool.peek(v.name) for v in st.cfg.vrfs}
        if vid and vid not in taken and {k for k, v in theirs.items() if v == vid} == ports:
            pool.reserve(vrf.name, vid)
    pool.adopt(seen)
    for vrf in st.cfg.vrfs:
        pool.get(vrf.name)
    old = {v.name: st.vrf_ids.peek(v.name) for v in st.cfg.vrfs}
    new = {v.name: pool.peek(v.name) for v in st.cfg.vrfs}
    log.warning(
        "switch: its red ports have other VRF ids than the configuration gives (the "
        "configuration changed?): VRF ids now %s, were %s",
        new,
        old,
    )
    st.vrf_ids = pool
    st.rebuild_store()


def tunnel_hint(st: IdState, tkey: TunnelKey) -> int | None:
    """The id the switch already uses for tunnel ``tkey`` (same peer, an SA in common)."""
    pair = st.sas.get(tkey)
    if pair is None:
        return None
    mine = {pair.out_index, *pair.inbound()}
    for tid, t in st.adopted_tunnels.items():
        if t.peer == tkey[0] and t.sa_indexes & mine:
            return tid
    return None
