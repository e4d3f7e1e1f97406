"""MOBIKE (RFC 4555) against strongSwan's charon: we move, charon follows."""

from __future__ import annotations

import pytest
from swan_common import our_config, start_service, swanctl_conf, wait_event
from swan_netns import SS_IP, US_IP, Topo

from controller.ipsec.ike.events import ChildUp
from controller.ipsec.ike.sa import IkeState

pytestmark = [pytest.mark.interop]
US_NEW = "10.66.0.3"  # a second address on our end of the link


async def test_strongswan_follows_our_update_sa_addresses(topo: Topo) -> None:
    # charon is responder here and offers MOBIKE (swanctl's default); it must accept
    # the IKE SA's initiator at a new address, so any remote address is allowed
    conf = swanctl_conf().replace(f"remote_addrs = {US_IP}", "remote_addrs = %any")
    await topo.charon.load(conf)
    svc = await start_service(topo, our_config())
    try:
        sa = svc.initiate("ss", SS_IP)
        await wait_event(svc, lambda s, e: isinstance(e, ChildUp))
        await topo.charon.wait_for(r"INSTALLED, TUNNEL-in-UDP")
        assert sa.peer_mobike, "charon did not answer MOBIKE_SUPPORTED"
        us_dev = topo.us.run(["ip", "-o", "-4", "addr", "show", "to", US_IP]).split()[1]
        topo.us.run(["ip", "addr", "add", f"{US_NEW}/24", "dev", us_dev])
        socks = {p: topo.us.udp_socket(US_NEW, p) for p in (500, 4500)}
        await svc.rebind(US_NEW, socks)
        assert svc.daemon.move(sa, svc.now, local_ip=US_NEW)
        svc.poke()
        out = await topo.charon.wait_for(rf"remote '{US_IP}' @ {US_NEW}\[4500\]")
        assert "ESTABLISHED" in out and sa.state == IkeState.ESTABLISHED
        assert any("MOBIKE: now" in line for line in svc.logs)  # type: ignore[attr-defined]
        assert sa.active is None  # charon answered the update
    finally:
        await svc.stop()
