"""Our IKEv2 daemon against strongSwan's charon (real peer, userspace kernel-libipsec)."""

from __future__ import annotations

import pytest
from swan_common import our_config, start_service, swanctl_conf, wait_event
from swan_netns import SS_IP, Topo

from controller.ipsec.ike.events import ChildUp, IkeUp
from controller.ipsec.ike.sa import IkeState

pytestmark = [pytest.mark.interop]


async def test_strongswan_psk_we_initiate(topo: Topo) -> None:
    topo.charon.load(swanctl_conf())
    svc = await start_service(topo, our_config())
    try:
        sa = svc.initiate("ss", SS_IP)
        await wait_event(svc, lambda s, e: isinstance(e, IkeUp))
        _, up = await wait_event(svc, lambda s, e: isinstance(e, ChildUp))
        assert sa.state == IkeState.ESTABLISHED
        out = topo.charon.wait_for(r"net: #\d+.*INSTALLED, TUNNEL-in-UDP")
        assert f"{up.child.spi_in:08x}" in out and f"{up.child.spi_out:08x}" in out
    finally:
        await svc.stop()
