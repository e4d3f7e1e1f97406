"""ARP and neighbour-solicitation answers the pipeline gives for us (``arp_reply``, ``nd_reply``).

The data plane answers a request for one of our addresses on a port when the
asker is a neighbour we already know there (p4src/README.md, "Neighbour
replies"): one entry per (known neighbour, our address of its family on its
port). A neighbour we do not know yet, or whose MAC changed, misses and is
punted, so we still answer and learn it ourselves; its entry follows. Red ports
answer as the tenants' router (NA flag R), black ports as a host.
"""

from __future__ import annotations

from collections.abc import Iterator

from controller.app.desired.model import IPAddress, Neighbour
from controller.app.desired.view import StateView
from controller.p4rt import TableEntry


def _ours(st: StateView) -> dict[int, tuple[int, bool, list[IPAddress]]]:
    """Port -> (VRF id, whether we route there, our addresses there), for the ports
    whose requests we answer today: untagged red ports and black ports."""
    out: dict[int, tuple[int, bool, list[IPAddress]]] = {}
    for port in st.cfg.switch.ports:
        addrs = [iface.ip for iface in port.address]
        if port.role == "red" and port.vlan is None:
            out[port.port] = (st.vrf_ids.get(port.vrf), True, addrs)
        elif port.role == "black":
            out[port.port] = (0, False, addrs)
    return out


def reply_entry(
    n: Neighbour, vrf_id: int, target: IPAddress, my_mac: str, router: bool
) -> TableEntry:
    match = {
        "port": n.port,
        "vrf_id": vrf_id,
        "target_ip": str(target),
        "sender_ip": str(n.ip),
        "sender_mac": n.mac,
    }
    if target.version == 4:
        return TableEntry("arp_reply", match, "arp_answer", {"my_mac": my_mac})
    return TableEntry("nd_reply", match, "nd_answer", {"my_mac": my_mac, "router": int(router)})


def neighbour_replies(st: StateView) -> Iterator[TableEntry]:
    ours = _ours(st)
    for n in sorted(st.neighbours, key=lambda n: (n.port, n.ip.version, n.ip, n.mac)):
        port = ours.get(n.port)
        my_mac = st.port_macs.get(n.port)
        if port is None or my_mac is None:
            continue
        vrf_id, router, addrs = port
        for target in addrs:
            if target.version == n.ip.version and target != n.ip:
                yield reply_entry(n, vrf_id, target, my_mac, router)
