"""FRR 8.4 bgpd as the route reflector between two of our C-PEs: what a deployment gets.

FRR reflects VPN-IPv4/VPN-IPv6 routes with the Tunnel Encapsulation attribute
intact, but drops the attribute from IPv4 unicast routes, i.e. from red loopback
routes (docs/peers.md). The consequence at the receiving C-PE: the VPN routes
arrive and their next hop resolves through the red loopback route, but that
route no longer says which MPLS-in-IPsec tunnel to use, so the verdict is
NO_TUNNEL and nothing reaches the forwarding table. An FRR RR can therefore not
serve a Secured L3VPN that carries red loopback routes as IPv4 unicast.

Found here as well: FRR 8.4 answers a Tunnel Encapsulation attribute whose
Security Handle sub-TLV is one octet long with NOTIFICATION 3/9 (Optional
Attribute Error) and resets the session; 2 octets and more are accepted. Use
Security Handles of at least 2 octets where FRR may see them.
"""

from __future__ import annotations

import asyncio
import ipaddress

import pytest
from peers.fixtures import BgpLab
from test_session_gobgp import FAMILIES, cpe, cpe_pair, events_until, run_in, wait_for

from controller.bgp.aio import BgpSpeaker
from controller.bgp.path import IPV4_UNICAST, VPNV4, Nlri, Tunnel
from controller.bgp.resolve import Verdict

pytestmark = [pytest.mark.interop, pytest.mark.slow]
ip = ipaddress.ip_address
net = ipaddress.ip_network


@pytest.mark.parametrize("hlen", [2, 4])
def test_frr_rr_strips_tunnel_from_red_loopback_routes_so_vpn_routes_have_no_tunnel(
    bgp_lab: BgpLab, hlen: int
) -> None:
    peer = bgp_lab.start("frr", families=FAMILIES, clients=2)

    async def scenario() -> None:
        async with cpe_pair(peer, (b"\x01" * hlen, b"\x02" * hlen)) as (a, b):
            a.add_vrf_route("blue", net("172.16.1.0/24"))
            (ev,) = [e for e in await events_until(b, 1) if not e.local]
            await asyncio.sleep(0.5)  # let any later update settle
            (ev,) = b.core.vrf_routes("blue")
            assert ev.prefix == net("172.16.1.0/24")
            assert ev.verdict is Verdict.NO_TUNNEL and ev.tunnel_endpoint is None
            lo = b.core.red.best(Nlri(IPV4_UNICAST, net("10.255.0.1/32")))
            assert lo is not None and lo.attrs.tunnels == () and lo.attrs.tunnel_wire is None
            assert lo.attrs.next_hop == ip("198.51.100.1")  # the route itself did arrive
            # The VPN route kept its own MPLS-in-IPsec tunnel (draft 2) through FRR: only
            # the red loopback route lost it, hence NO_TUNNEL rather than NO_ENCAP.
            (vpn,) = [
                p
                for d in b.core.red.destinations()
                if d.family == VPNV4
                for p in b.core.red.paths(d)
                if not p.source.local
            ]
            assert vpn.attrs.tunnels == (Tunnel(0xFFFE, ip("10.255.0.1")),)

    run_in(peer.lab.us.call, scenario)


def test_frr_resets_session_on_one_octet_security_handle(bgp_lab: BgpLab) -> None:
    peer = bgp_lab.start("frr", families=FAMILIES, clients=1)
    rr = peer.address
    a_cfg = cpe(peer.client_ip(0), rr, "10.255.0.1", "198.51.100.1", b"\x01")

    async def scenario() -> None:
        a = BgpSpeaker(a_cfg, listen_port=None)
        try:
            await a.start()
            a.set_transport_protected(ip(rr), True)
            sess = a.core.sessions[ip(rr)]
            await wait_for(lambda: sess.counters["in-notification"] >= 1, "FRR's NOTIFICATION")
            assert sess.fsm.last_error.startswith("received NOTIFICATION: NOTIFICATION 3/9")
            # The data field is our attribute: flags 0xC0, type 23, tunnel type 0xFFFE.
            assert "data c01713fffe" in sess.fsm.last_error
        finally:
            await a.stop()

    run_in(peer.lab.us.call, scenario)
