"""Draft 3.2 against strongSwan: the red BGP sessions' control CHILD_SA in either mode.

Our side is configured as the daemon configures it (``make_ike_config`` from a daemon
configuration with strongSwan as a red neighbour). strongSwan here runs
kernel-libipsec, tunnel mode (in UDP) only, configured for TCP between the red
loopbacks. With ``ike.control_sa.mode: tunnel`` the control CHILD_SA comes up with
it; with the default, transport mode, it cannot: this is why tunnel mode stays a
configuration choice.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from swan_common import PSK, start_service, swanctl_conf, wait_event
from swan_netns import SS_IP, US_IP, Topo

from controller.app.ikeconf import make_ike_config
from controller.config import parse
from controller.ipsec.ike.events import ChildUp, IkeUp
from controller.ipsec.ike.sa import IkeState
from controller.ipsec.ike.wire.ts import TrafficSelector

pytestmark = [pytest.mark.interop]
US_RED, SS_RED = "10.255.0.11", "10.255.0.1"
# strongSwan's view: its own red loopback first, TCP (swanctl traffic selector syntax)
BGP_TS = {"local_ts": f"{SS_RED}/32[tcp]", "remote_ts": f"{US_RED}/32[tcp]"}


def daemon_ike(mode: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    text = f"""
node: {{name: us, role: cpe, as: 65000, router_id: {US_RED}}}
loopbacks: {{black: {US_IP}, red: {US_RED}}}
switch:
  ports:
    - {{port: 3, name: wan0, role: black}}
    - {{port: 255, role: cpu}}
    - {{port: 254, role: crypto}}
ike:
  auth: {{psk: "{PSK}"}}
  control_sa: {{mode: {mode}}}
  nat_traversal: {{force_encap: true}}
"""
    cfg = parse(text, "us.yml", tmp_path)
    ike = make_ike_config(cfg, SS_IP, {SS_IP: ipaddress.ip_address(SS_RED)})
    ike.dpd_seconds = None
    return ike


async def test_tunnel_mode_control_sa_comes_up_with_strongswan(topo: Topo, tmp_path: Path) -> None:
    # strongSwan's red loopback: kernel-libipsec routes the peer's via ipsec0 from it
    topo.ss.run(["ip", "addr", "add", f"{SS_RED}/32", "dev", "lo"])
    await topo.charon.load(swanctl_conf(**BGP_TS))
    cfg = daemon_ike("tunnel", tmp_path)
    svc = await start_service(topo, cfg)
    try:
        svc.initiate(cfg.name, SS_IP, "bgp")
        _, up = await wait_event(svc, lambda s, e: isinstance(e, ChildUp))
        assert isinstance(up, ChildUp) and up.child.name == "bgp" and not up.child.transport
        assert up.child.local_ts == [TrafficSelector.host(US_RED, 6)]
        assert up.child.remote_ts == [TrafficSelector.host(SS_RED, 6)]
        assert "INSTALLED, TUNNEL" in await topo.charon.swanctl("--list-sas")
    finally:
        await svc.stop()


async def test_transport_mode_control_sa_is_not_possible_with_strongswan(
    topo: Topo, tmp_path: Path
) -> None:
    """The default asks for TCP between the black loopbacks in transport mode, which
    kernel-libipsec cannot do even when configured for those very selectors (in tunnel
    mode, all it has): the IKE SA comes up, no control CHILD_SA."""
    black_ts = {"local_ts": f"{SS_IP}/32[tcp]", "remote_ts": f"{US_IP}/32[tcp]"}
    await topo.charon.load(swanctl_conf(**black_ts))
    cfg = daemon_ike("transport", tmp_path)
    svc = await start_service(topo, cfg)
    try:
        sa = svc.initiate(cfg.name, SS_IP, "bgp")
        await wait_event(svc, lambda s, e: isinstance(e, IkeUp))
        assert sa.state == IkeState.ESTABLISHED and sa.children == []
        assert any("CHILD_SA bgp refused" in ln for ln in svc.logs), svc.logs  # type: ignore[attr-defined]
        log = topo.charon.log_text()
        assert "N(USE_TRANSP)" in log or "USE_TRANSPORT_MODE" in log, log[-3000:]
        assert "INSTALLED" not in await topo.charon.swanctl("--list-sas")
    finally:
        await svc.stop()
