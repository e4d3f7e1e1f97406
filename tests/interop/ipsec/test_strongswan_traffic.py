"""Real ESP both ways: strongSwan's userspace ESP (kernel-libipsec) and our ESP engine.

charon pings 10.10.1.1 from 10.10.2.1 through its ipsec0 TUN; the ESP-in-UDP
packets reach our IKE service's port 4500, which feeds them to our engine
(tunnel mode, RFC 3948), answers the decrypted echo request like a host would,
and sends the reply back through the engine's outbound SA.
"""

from __future__ import annotations

import re

import pytest
from swan_common import our_config, start_service, swanctl_conf, wait_event
from swan_netns import SS_IP, Topo
from swan_traffic import EnginePeer, attach, ping_from_strongswan

from controller.ipsec.ike.events import ChildDown, ChildUp

pytestmark = [pytest.mark.interop]


@pytest.mark.parametrize("esp", ["aes128gcm16", "aes256-sha256"])
async def test_strongswan_esp_traffic_through_our_engine(topo: Topo, esp: str) -> None:
    await topo.charon.load(swanctl_conf(esp_proposal=esp))
    peer = EnginePeer()
    svc = await start_service(topo, our_config(esp_proposal=esp))
    attach(peer, svc)
    try:
        svc.initiate("ss", SS_IP)
        _, up = await wait_event(svc, lambda s, e: isinstance(e, ChildUp))
        await topo.charon.wait_for(r"INSTALLED, TUNNEL-in-UDP")
        text = await ping_from_strongswan(topo.ss, 3)
        assert "3 received" in text and peer.echoed == 3
        child = up.child  # type: ignore[union-attr]
        sas = await topo.charon.list_sas()
        # strongSwan counted 3 packets each way on the SA pair we negotiated
        assert re.search(rf"in  {child.spi_out:08x},\s+\d+ bytes,\s+3 packets", sas), sas
        assert re.search(rf"out {child.spi_in:08x},\s+\d+ bytes,\s+3 packets", sas), sas
        # rekey while traffic runs: the new SA carries the next pings
        svc.daemon.rekey_child(child.spi_in, svc.now)
        svc.poke()
        await wait_event(svc, lambda s, e: isinstance(e, ChildDown) and e.child is child)
        await ping_from_strongswan(topo.ss, 2)
        assert peer.echoed == 5
    finally:
        await svc.stop()
