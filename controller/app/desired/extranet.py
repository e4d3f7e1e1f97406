"""Extranet (draft section 7): red → red across VRFs, only where a policy says so.

Configuration (``extranet:`` in the daemon config, checked by
``controller/config/extranet.py``)::

    extranet:
      - {from: blue, to: green, prefixes: [10.2.0.0/24]}

lets hosts of VRF ``blue`` reach ``green``'s hosts inside 10.2.0.0/24 on this
C-PE. Each rule gives the pipeline (``CpeIngress.local_delivery``):

* ``extranet (src_vrf_id=blue, dst_vrf_id=green) -> extranet_allow``; without it
  the pipeline drops a packet whose next hop is in another VRF
  (``EXTRANET_DENIED``);
* in ``blue``'s FIB, ``route_local`` entries to ``green``'s next hops inside the
  prefixes: a host route per neighbour the kernel resolved on a ``green`` port,
  and ``green``'s static routes via a tenant router.

One direction per rule: replies need the rule the other way. A ``green`` host
not resolved yet is a VRF miss for ``blue`` (the address is resolved in
``green``, by ``green``'s own traffic or its static route). Remote routes are
never leaked: extranet is local delivery only.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.app.desired.node import static_next_hops
from controller.app.desired.view import StateView
from controller.p4rt import TableEntry


def extranet(st: StateView) -> Iterator[TableEntry]:
    pairs: set[tuple[int, int]] = set()
    for rule in st.cfg.extranet:
        src, dst = st.vrf_ids.get(rule.from_vrf), st.vrf_ids.get(rule.to_vrf)
        if (src, dst) not in pairs:
            pairs.add((src, dst))
            yield TableEntry("extranet", {"src_vrf_id": src, "dst_vrf_id": dst}, "extranet_allow")
        nets = rule.prefixes
        ports = {
            p.port for p in st.cfg.switch.by_role("red") if p.vrf == rule.to_vrf and p.vlan is None
        }
        hosts = sorted(st.neighbours, key=lambda n: (n.port, n.ip.version, n.ip, n.mac))
        seen = set()
        for n in hosts:
            if n.port not in ports or n.ip in seen:
                continue
            if any(n.ip.version == net.version and n.ip in net for net in nets):
                seen.add(n.ip)
                host_nh = st.red_nh_ids.get((n.port, n.mac))
                yield _local(src, f"{n.ip}/{n.ip.max_prefixlen}", n.ip.version, host_nh)
        for vrf_id, _gw, prefix, static_nh in static_next_hops(st):
            inside = any(
                prefix.version == net.version and prefix.subnet_of(net)  # type: ignore[arg-type]
                for net in nets
            )
            if vrf_id == dst and static_nh is not None and inside:
                yield _local(src, str(prefix), prefix.version, static_nh)


def _local(vrf_id: int, prefix: str, version: int, nexthop_id: int) -> TableEntry:
    match = {"vrf_id": vrf_id, f"ipv{version}_dst": prefix}
    return TableEntry(f"vrf_fib_v{version}", match, "route_local", {"nexthop_id": nexthop_id})
