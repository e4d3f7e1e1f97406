"""Our IKEv2 daemon against strongSwan's charon (real peer, userspace kernel-libipsec)."""

from __future__ import annotations

import asyncio

import pytest
from swan_common import our_config, start_service, swanctl_conf, wait_event
from swan_netns import SS_IP, Topo

from controller.ipsec.ike.adapter import IkeService
from controller.ipsec.ike.events import ChildDown, ChildUp, IkeDown, IkeRekeyed, IkeUp
from controller.ipsec.ike.sa import IkeState

pytestmark = [pytest.mark.interop]


async def test_strongswan_psk_we_initiate(topo: Topo) -> None:
    await topo.charon.load(swanctl_conf())
    svc = await start_service(topo, our_config())
    try:
        sa = svc.initiate("ss", SS_IP)
        await wait_event(svc, lambda s, e: isinstance(e, IkeUp))
        _, up = await wait_event(svc, lambda s, e: isinstance(e, ChildUp))
        assert sa.state == IkeState.ESTABLISHED
        out = await topo.charon.wait_for(r"net: #\d+.*INSTALLED, TUNNEL-in-UDP")
        assert f"{up.child.spi_in:08x}" in out and f"{up.child.spi_out:08x}" in out
    finally:
        await svc.stop()


async def _established(topo: Topo, cfg_kw: dict | None = None, conf_kw: dict | None = None):  # type: ignore[no-untyped-def]
    await topo.charon.load(swanctl_conf(**(conf_kw or {})))
    svc = await start_service(topo, our_config(**(cfg_kw or {})))
    sa = svc.initiate("ss", SS_IP)
    _, up = await wait_event(svc, lambda s, e: isinstance(e, ChildUp))
    await topo.charon.wait_for(r"INSTALLED, TUNNEL-in-UDP")
    return svc, sa, up.child


async def test_strongswan_psk_strongswan_initiates(topo: Topo) -> None:
    await topo.charon.load(swanctl_conf())
    svc = await start_service(topo, our_config())
    try:
        await topo.charon.swanctl("--initiate", "--child", "net", "--timeout", "10")
        sa, up = await wait_event(svc, lambda s, e: isinstance(e, ChildUp))
        assert not sa.initiator and sa.state == IkeState.ESTABLISHED
        out = await topo.charon.wait_for(r"net: #\d+.*INSTALLED, TUNNEL-in-UDP")
        assert f"{up.child.spi_in:08x}" in out
    finally:
        await svc.stop()


async def test_strongswan_child_rekey_both_directions(topo: Topo) -> None:
    svc, sa, child = await _established(topo)
    try:
        # we rekey
        svc.daemon.rekey_child(child.spi_in, svc.now)
        svc.poke()
        _, up = await wait_event(svc, lambda s, e: isinstance(e, ChildUp) and e.replaces is child)
        await wait_event(svc, lambda s, e: isinstance(e, ChildDown) and e.child is child)
        new = up.child  # type: ignore[union-attr]
        await topo.charon.wait_for(f"in  {new.spi_out:08x}")
        await topo.charon.wait_gone(f"{child.spi_out:08x}")
        # strongSwan rekeys
        await topo.charon.swanctl("--rekey", "--child", "net")
        _, up2 = await wait_event(svc, lambda s, e: isinstance(e, ChildUp) and e.replaces is new)
        await wait_event(svc, lambda s, e: isinstance(e, ChildDown) and e.child is new)
        newer = up2.child  # type: ignore[union-attr]
        await topo.charon.wait_for(f"in  {newer.spi_out:08x}")
        assert [c.spi_in for c in sa.children] == [newer.spi_in]
    finally:
        await svc.stop()


async def test_strongswan_ike_rekey_both_directions(topo: Topo) -> None:
    svc, sa, child = await _established(topo)
    try:
        svc.daemon.rekey_ike(sa, svc.now)
        svc.poke()
        await wait_event(svc, lambda s, e: isinstance(e, IkeRekeyed))
        await wait_event(svc, lambda s, e: isinstance(e, IkeDown) and s is sa)
        new = sa.successor
        assert new is not None and new.state == IkeState.ESTABLISHED and child in new.children
        await topo.charon.wait_for(new.spi_i.hex() + r"_i\*? " + new.spi_r.hex())
        await topo.charon.swanctl("--rekey", "--ike", "us")
        await wait_event(svc, lambda s, e: isinstance(e, IkeRekeyed) and s is new)
        await wait_event(svc, lambda s, e: isinstance(e, IkeDown) and s is new)
        newer = new.successor
        assert newer is not None and child in newer.children
        out = await topo.charon.wait_for(newer.spi_i.hex())
        assert "ESTABLISHED" in out
        # the CHILD_SA survived both rekeys and still works: rekey it over the newest IKE SA
        svc.daemon.rekey_child(child.spi_in, svc.now)
        svc.poke()
        await wait_event(svc, lambda s, e: isinstance(e, ChildUp) and e.replaces is child)
    finally:
        await svc.stop()


async def test_strongswan_answers_our_liveness_checks(topo: Topo) -> None:
    svc, sa, _ = await _established(topo, cfg_kw={"dpd_seconds": 1.0})
    try:
        await asyncio.sleep(2.5)
        assert "parsed INFORMATIONAL request" in topo.charon.log_text()
        assert sa.mid_out >= 3 and sa.state == IkeState.ESTABLISHED  # answered, not timed out
    finally:
        await svc.stop()


async def test_strongswan_liveness_checks_answered_then_deletes(topo: Topo) -> None:
    svc, sa, child = await _established(topo, conf_kw={"extra_conn": "dpd_delay = 1s"})
    try:
        await asyncio.sleep(2.5)
        assert "parsed INFORMATIONAL response" in topo.charon.log_text()
        assert sa.mid_in >= 2
        # strongSwan deletes the CHILD_SA, then we delete the IKE SA
        await topo.charon.swanctl("--terminate", "--child", "net", "--timeout", "5")
        await wait_event(svc, lambda s, e: isinstance(e, ChildDown) and e.child is child)
        assert not sa.children
        svc.daemon.delete_ike(sa, svc.now)
        svc.poke()
        await wait_event(svc, lambda s, e: isinstance(e, IkeDown))
        await topo.charon.wait_gone("ESTABLISHED")
        assert not svc.daemon.sas
    finally:
        await svc.stop()


async def test_strongswan_deletes_the_ike_sa(topo: Topo) -> None:
    svc, sa, _ = await _established(topo)
    try:
        await topo.charon.swanctl("--terminate", "--ike", "us", "--timeout", "5")
        await wait_event(svc, lambda s, e: isinstance(e, IkeDown) and s is sa)
        assert not svc.daemon.sas and not sa.children
    finally:
        await svc.stop()


@pytest.mark.parametrize(
    ("ike", "esp", "shown"),
    [
        (
            "aes256-sha256-modp2048",
            "aes256-sha256",
            "AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048",
        ),
        # no "-esn": kernel-libipsec refuses ESN SAs ("IPsec SA: ESN not supported")
        (
            "aes256gcm16-prfsha384-ecp384",
            "aes256gcm16",
            "AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384",
        ),
        (
            "aes128-sha512-prfsha512-ecp256",
            "aes128gcm16-x25519",
            "AES_CBC_128/HMAC_SHA2_512_256/PRF_HMAC_SHA2_512/ECP_256",
        ),
    ],
)
async def test_strongswan_transforms(topo: Topo, ike: str, esp: str, shown: str) -> None:
    """Each IKE suite and DH group against strongSwan, with a CHILD_SA and an IKE SA rekey."""
    svc, sa, child = await _established(
        topo,
        cfg_kw={"ike_proposal": ike, "esp_proposal": esp},
        conf_kw={"ike_proposal": ike, "esp_proposal": esp},
    )
    try:
        assert f"selected proposal: IKE:{shown}" in topo.charon.log_text()
        svc.daemon.rekey_child(child.spi_in, svc.now)  # with PFS when the ESP proposal has DH
        svc.poke()
        _, up = await wait_event(svc, lambda s, e: isinstance(e, ChildUp) and e.replaces is child)
        await topo.charon.wait_for(f"in  {up.child.spi_out:08x}")  # type: ignore[union-attr]
        if "x25519" in esp:
            assert up.child.dh_group == 31  # type: ignore[union-attr]
        svc.daemon.rekey_ike(sa, svc.now)
        svc.poke()
        await wait_event(svc, lambda s, e: isinstance(e, IkeDown) and s is sa)
        assert sa.successor is not None and sa.successor.state == IkeState.ESTABLISHED
    finally:
        await svc.stop()


async def test_strongswan_retries_with_our_cookie_and_our_ke_group(topo: Topo) -> None:
    """We demand a cookie (RFC 7296 2.6) and another DH group (INVALID_KE_PAYLOAD)."""
    await topo.charon.load(swanctl_conf(ike_proposal="aes128gcm16-prfsha256-x25519-ecp256"))
    svc = await start_service(topo, our_config(ike_proposal="aes128gcm16-prfsha256-ecp256"))
    svc.daemon.cookie_threshold = 0
    try:
        await topo.charon.swanctl("--initiate", "--child", "net", "--timeout", "10")
        sa, _ = await wait_event(svc, lambda s, e: isinstance(e, ChildUp))
        assert sa.suite is not None and sa.suite.dh_group == 19
        log = topo.charon.log_text()
        assert "received COOKIE notify" in log
        assert "peer didn't accept DH group CURVE_25519, it requested ECP_256" in log
    finally:
        await svc.stop()


async def test_strongswan_asks_us_for_another_ke_group(topo: Topo) -> None:
    await topo.charon.load(swanctl_conf(ike_proposal="aes128gcm16-prfsha256-ecp384"))
    cfg = our_config(ike_proposal="aes128gcm16-prfsha256-x25519-ecp384")
    svc = await start_service(topo, cfg)
    try:
        sa = svc.initiate("ss", SS_IP)
        await wait_event(svc, lambda s, e: isinstance(e, ChildUp))
        assert sa.suite is not None and sa.suite.dh_group == 20
        assert "N(INVAL_KE)" in topo.charon.log_text()
    finally:
        await svc.stop()


async def test_strongswan_additional_child_sas_both_directions(topo: Topo) -> None:
    """CREATE_CHILD_SA for new CHILD_SAs (not rekeys) on an existing IKE SA, each side."""
    from controller.ipsec.ike.config import ChildConfig, Lifetimes
    from controller.ipsec.ike.wire.ts import TrafficSelector

    extra = """}
      net2 {
        local_ts = 10.20.2.0/24
        remote_ts = 10.20.1.0/24
        esp_proposals = aes128gcm16
        mode = tunnel"""
    cfg = our_config()
    cfg.children.append(
        ChildConfig(
            "net2",
            [TrafficSelector.subnet("10.20.1.0/24")],
            [TrafficSelector.subnet("10.20.2.0/24")],
            transport=False,
            lifetimes=Lifetimes(None, None),
        )
    )
    # kernel-libipsec routes from it
    topo.ss.run(["ip", "addr", "add", "10.20.2.1/32", "dev", "lo"])
    await topo.charon.load(swanctl_conf(extra_child=extra))
    svc = await start_service(topo, cfg)
    try:
        sa = svc.initiate("ss", SS_IP, child="net")
        await wait_event(svc, lambda s, e: isinstance(e, ChildUp) and e.child.name == "net")
        svc.daemon.add_child(sa, "net2", svc.now)  # we add one
        svc.poke()
        await wait_event(svc, lambda s, e: isinstance(e, ChildUp) and e.child.name == "net2")
        await topo.charon.wait_for(r"net2: #\d+.*INSTALLED")
        await topo.charon.swanctl("--terminate", "--child", "net2", "--timeout", "5")
        await wait_event(svc, lambda s, e: isinstance(e, ChildDown) and e.child.name == "net2")
        await topo.charon.swanctl("--initiate", "--child", "net2", "--timeout", "10")  # it adds one
        _, up = await wait_event(
            svc, lambda s, e: isinstance(e, ChildUp) and e.child.name == "net2"
        )
        assert up.replaces is None and sorted(c.name for c in sa.children) == ["net", "net2"]  # type: ignore[union-attr]
        assert len(svc.daemon.sas) == 1  # all on the one IKE SA
    finally:
        await svc.stop()


async def test_our_restart_initial_contact_makes_strongswan_drop_the_old_ike_sa(
    topo: Topo,
) -> None:
    """RFC 7296 2.4: our daemon restarts (the engine kept the SAs); the new one holds no
    IKE SA with strongSwan, so it sends INITIAL_CONTACT and strongSwan drops the old one."""
    svc, old, _ = await _established(topo)
    await svc.stop()  # no DELETE goes out: the daemon is gone, strongSwan keeps its SA
    await asyncio.sleep(0.1)  # the transports release ports 500/4500 on the next loop turn
    svc = await start_service(topo, our_config())
    try:
        await _initial_contact_replaces(topo, svc, old.spi_i.hex())
    finally:
        await svc.stop()


async def _initial_contact_replaces(topo: Topo, svc: IkeService, old_spi: str) -> None:
    """We initiate holding no other IKE SA with strongSwan: it drops the old one."""
    new = svc.initiate("ss", SS_IP)
    await wait_event(svc, lambda s, e: isinstance(e, ChildUp) and s is new)
    sas = await topo.charon.wait_gone(old_spi)
    assert new.spi_i.hex() in sas and sas.count("ESTABLISHED") == 1
    assert "INITIAL_CONTACT" in topo.charon.log_text()


async def test_strongswans_liveness_check_on_a_dead_ike_sa_is_our_hint(topo: Topo) -> None:
    """strongSwan initiated (a client to its RR) and checks liveness after a second idle;
    our daemon dies without a word. strongSwan's next check is an IKE request on an IKE
    SA the new daemon does not know: the hint on which an RR initiates to a client that
    waits for it (controller/ipsec/rejoin.py), and strongSwan moves to the new IKE SA."""
    await topo.charon.load(swanctl_conf(extra_conn="dpd_delay = 1s"))
    svc = await start_service(topo, our_config())
    try:
        await topo.charon.swanctl("--initiate", "--child", "net", "--timeout", "10")
        old, _ = await wait_event(svc, lambda s, e: isinstance(e, ChildUp))
    finally:
        await svc.stop()  # no DELETE goes out: strongSwan keeps its IKE SA
    await asyncio.sleep(0.1)
    svc = await start_service(topo, our_config())
    try:
        hints: asyncio.Queue[str] = asyncio.Queue()
        svc.daemon.on_unknown_sa = lambda src, now: hints.put_nowait(src)
        assert await asyncio.wait_for(hints.get(), 15) == SS_IP
        await _initial_contact_replaces(topo, svc, old.spi_r.hex())
    finally:
        await svc.stop()
