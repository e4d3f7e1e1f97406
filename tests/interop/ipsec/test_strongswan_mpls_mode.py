"""Draft section 5 against strongSwan: the MPLS-in-IP CHILD_SA is transport mode only.

strongSwan here runs kernel-libipsec, which does tunnel mode (in UDP) only: configured
for the MPLS-in-IP traffic (IP protocol 137 between the black addresses) in tunnel
mode, it is exactly the peer the rule is about. Its request is refused with
NO_PROPOSAL_CHOSEN while the IKE SA comes up; and when we ask it for transport mode,
no CHILD_SA results either.
"""

from __future__ import annotations

import pytest
from swan_common import our_config, start_service, swanctl_conf, wait_event
from swan_netns import SS_IP, US_IP, Topo

from controller.ipsec.ike.events import IkeUp
from controller.ipsec.ike.sa import IkeState
from controller.ipsec.tunnels import mpls_child

pytestmark = [pytest.mark.interop]

# strongSwan's view: its own black address first (swanctl traffic selector syntax).
MPLS_TS = {"local_ts": f"{SS_IP}/32[137]", "remote_ts": f"{US_IP}/32[137]"}


async def test_strongswan_tunnel_mode_mpls_request_is_refused(topo: Topo) -> None:
    await topo.charon.load(swanctl_conf(**MPLS_TS))
    svc = await start_service(topo, our_config(children=[mpls_child(US_IP, SS_IP)]))
    try:
        with pytest.raises(RuntimeError, match="failed"):
            await topo.charon.swanctl("--initiate", "--child", "net", "--timeout", "10")
        sa, _ = await wait_event(svc, lambda s, e: isinstance(e, IkeUp))
        assert not sa.initiator and sa.state == IkeState.ESTABLISHED and sa.children == []
        assert any("CHILD_SA refused with NO_PROPOSAL_CHOSEN" in ln for ln in svc.logs), svc.logs  # type: ignore[attr-defined]
        log = topo.charon.log_text()
        assert "received NO_PROPOSAL_CHOSEN notify" in log, log[-3000:]
        assert "INSTALLED" not in await topo.charon.swanctl("--list-sas")
    finally:
        await svc.stop()


async def test_no_mpls_child_sa_with_strongswan_when_we_initiate(topo: Topo) -> None:
    """We ask for transport mode (USE_TRANSPORT_MODE); strongSwan, tunnel mode only,
    answers TS_UNACCEPTABLE (seen with 5.9.8): no CHILD_SA on either side, the IKE SA
    stays up. Had it answered in tunnel mode, initiator_accept would refuse it."""
    await topo.charon.load(swanctl_conf(**MPLS_TS))
    svc = await start_service(topo, our_config(children=[mpls_child(US_IP, SS_IP)]))
    try:
        sa = svc.initiate("ss", SS_IP)
        await wait_event(svc, lambda s, e: isinstance(e, IkeUp))
        assert sa.state == IkeState.ESTABLISHED and sa.children == []
        logs = svc.logs  # type: ignore[attr-defined]
        assert any("CHILD_SA mpls refused" in ln for ln in logs), logs
        assert "USE_TRANSPORT_MODE" in topo.charon.log_text() or "N(USE_TRANSP)" in (
            topo.charon.log_text()
        )
        assert "INSTALLED" not in await topo.charon.swanctl("--list-sas")
    finally:
        await svc.stop()
