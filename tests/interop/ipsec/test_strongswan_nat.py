"""A C-PE behind NAT: our daemon behind an nftables masquerade, strongSwan outside.

    ns us (10.66.1.1) --- ns nat (10.66.1.254 | 10.66.0.254, masquerade) --- ns ss (10.66.0.2)

No forced encapsulation: both ends detect the NAT from the NAT_DETECTION hashes
(RFC 7296 2.23), we float to 4500, ESP runs in UDP (RFC 3948) through the NAT,
and pings from strongSwan's side reach our engine and come back.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from swan_charon import Charon
from swan_common import our_config, start_service, swanctl_conf, wait_event
from swan_netns import SS_INNER_IP, SS_IP, US_IP, Netns, Topo, veth_pair
from swan_traffic import EnginePeer, attach, ping_from_strongswan

from controller.ipsec.ike.events import ChildUp

pytestmark = [pytest.mark.interop]
US_NATTED, NAT_IN, NAT_OUT = "10.66.1.1", "10.66.1.254", "10.66.0.254"


@pytest.fixture
def nat_topo(tmp_path: Path) -> Iterator[Topo]:
    tag = f"{os.getpid() % 100000}n"
    us, nat, ss = (
        Netns.new(f"sl3ike-us-{tag}"),
        Netns.new(f"sl3ike-nat-{tag}"),
        Netns.new(f"sl3ike-ss-{tag}"),
    )
    charon = None
    try:
        veth_pair(us, US_NATTED, nat, NAT_IN, tag + "i")
        veth_pair(nat, NAT_OUT, ss, SS_IP, tag + "o")
        us.run(["ip", "route", "add", "default", "via", NAT_IN])
        nat.run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        nat.run(["nft", "add table ip nat"])
        nat.run(["nft", "add chain ip nat post { type nat hook postrouting priority 100 ; }"])
        nat.run(["nft", f"add rule ip nat post oifname va{tag}o masquerade"])
        ss.run(["ip", "addr", "add", f"{SS_INNER_IP}/32", "dev", "lo"])
        charon = Charon(ss, tmp_path)
        yield Topo(us, ss, charon, tag)
    finally:
        if charon is not None:
            charon.stop()
        for ns in (us, nat, ss):
            ns.delete()


async def test_strongswan_nat_traversal_with_traffic(nat_topo: Topo) -> None:
    topo = nat_topo
    conf = swanctl_conf(remote_id=US_NATTED).replace("encap = yes", "encap = no")
    conf = conf.replace(f"remote_addrs = {US_IP}", "remote_addrs = %any")
    await topo.charon.load(conf.replace(f"id-1 = {US_IP}", f"id-1 = {US_NATTED}"))
    peer = EnginePeer(local=US_NATTED)
    cfg = our_config(local_id=US_NATTED, force_encap=False)
    svc = await start_service(topo, cfg, local_ip=US_NATTED)
    attach(peer, svc)
    try:
        sa = svc.initiate("ss", SS_IP)
        _, up = await wait_event(svc, lambda s, e: isinstance(e, ChildUp))
        # we found the real NAT from strongSwan's NAT_DETECTION_DESTINATION_IP hash; (its
        # source hash is always faked: kernel-libipsec requires UDP encapsulation)
        assert sa.nat_here
        assert sa.local == (US_NATTED, 4500) and sa.remote == (SS_IP, 4500)
        assert up.child.encap  # type: ignore[union-attr]
        log = topo.charon.log_text()
        assert "remote host is behind NAT" in log
        out = await topo.charon.wait_for(r"INSTALLED, TUNNEL-in-UDP")
        assert f"remote '{US_NATTED}' @ {NAT_OUT}[" in out  # strongSwan sees the NAT's address
        text = await ping_from_strongswan(topo.ss, 3)
        assert "3 received" in text and peer.echoed == 3
    finally:
        await svc.stop()
