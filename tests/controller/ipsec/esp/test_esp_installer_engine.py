"""The engine as SaInstaller: add/update/delete, hitless outbound switch, no keys in logs."""

import ipaddress
import logging

import pytest
from esp_testlib import eth, ip_packet, request, sa_params, scapy_sa, split
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import Ether

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.installer import (
    CipherSuite,
    Direction,
    SaInstaller,
    SaInstallError,
    SaUpdate,
    UdpEncap,
)

pytestmark = pytest.mark.unit


def _encrypt(engine: EspEngine, index: int) -> tuple[cp.CryptoHeader, bytes]:
    return split(engine.process(request(cp.Op.ENCRYPT, eth(4, ip_packet(4, True)), index)))


def test_engine_satisfies_the_installer_protocol() -> None:
    installer: SaInstaller = EspEngine()  # mypy-checked structurally; runtime sanity:
    assert callable(installer.switch_outbound)


def test_duplicates_and_unknown_indexes_are_refused() -> None:
    engine = EspEngine()
    engine.add_sa(sa_params(Direction.INBOUND, sa_index=1, spi=0x5000))
    with pytest.raises(SaInstallError, match="SA 1: sa_index already installed"):
        engine.add_sa(sa_params(Direction.OUTBOUND, sa_index=1))
    with pytest.raises(SaInstallError, match=r"inbound SPI 0x00005000 .* already installed"):
        engine.add_sa(sa_params(Direction.INBOUND, sa_index=2, spi=0x5000))
    for call in (
        lambda: engine.delete_sa(9),
        lambda: engine.counters(9),
        lambda: engine.update_sa(9, SaUpdate()),
    ):
        with pytest.raises(SaInstallError, match="SA 9: not installed"):
            call()
    spis = {engine.allocate_spi() for _ in range(200)}
    assert 0x5000 not in spis and min(spis) >= 256


def test_delete_then_traffic_is_no_sa() -> None:
    engine = EspEngine()
    params = sa_params(Direction.INBOUND, sa_index=3)
    engine.add_sa(params)
    pkt = eth(4, scapy_sa(params).encrypt(ip_packet(4, outbound=False)))
    engine.delete_sa(3)
    assert split(engine.process(request(cp.Op.DECRYPT, pkt)))[0].result == cp.Result.NO_SA
    engine.add_sa(params)  # the SPI is free again
    assert split(engine.process(request(cp.Op.DECRYPT, pkt)))[0].result == cp.Result.OK


def test_update_moves_nat_mapping() -> None:
    engine = EspEngine()
    engine.add_sa(sa_params(Direction.OUTBOUND, sa_index=2, udp=True))
    engine.update_sa(
        2, SaUpdate(udp_encap=UdpEncap(4500, 31337), remote=ipaddress.ip_address("203.0.113.9"))
    )
    _, frame = _encrypt(engine, 2)
    assert Ether(frame)["UDP"].dport == 31337
    engine.update_sa(2, SaUpdate(remove_udp_encap=True))
    _, frame = _encrypt(engine, 2)
    assert Ether(frame)["IP"].proto == 50
    with pytest.raises(SaInstallError, match="port 0"):
        engine.update_sa(2, SaUpdate(udp_encap=UdpEncap(0, 1)))


def test_hitless_outbound_switch() -> None:
    """Old index keeps working but encrypts with the new SA; nothing is lost or refused."""
    engine = EspEngine()
    old = sa_params(Direction.OUTBOUND, sa_index=10, spi=0xA000)
    new = sa_params(Direction.OUTBOUND, sa_index=11, spi=0xB000, suite=CipherSuite.AES_GCM_16_256)
    engine.add_sa(old)
    assert [Ether(_encrypt(engine, 10)[1])[ESP].spi for _ in range(2)] == [0xA000] * 2
    engine.add_sa(new)
    engine.switch_outbound(10, 11)
    # the pipeline may still name 10 for a while, then 11: all go out under the new SA
    for index in (10, 11, 10, 11):
        hdr, frame = _encrypt(engine, index)
        assert (hdr.result, hdr.sa_index) == (cp.Result.OK, 11)
        esp_pkt = Ether(frame).payload
        assert esp_pkt[ESP].spi == 0xB000
        assert bytes(scapy_sa(new).decrypt(esp_pkt).payload) == bytes(ip_packet(4, True).payload)
    assert [Ether(_encrypt(engine, 10)[1])[ESP].seq for _ in range(2)] == [5, 6]
    assert engine.counters(10).packets == 2 and engine.counters(11).packets == 6
    # a second rekey chains: 10 and 11 both follow to 12
    engine.add_sa(sa_params(Direction.OUTBOUND, sa_index=12, spi=0xC000))
    engine.switch_outbound(11, 12)
    assert {Ether(_encrypt(engine, i)[1])[ESP].spi for i in (10, 11, 12)} == {0xC000}
    with pytest.raises(SaInstallError, match="already retired"):
        engine.switch_outbound(12, 10)
    engine.delete_sa(12)  # even without its successor, a retired SA stays out of use
    assert [_encrypt(engine, i)[0].result for i in (10, 11)] == [cp.Result.NO_SA] * 2
    engine.add_sa(sa_params(Direction.OUTBOUND, sa_index=12, spi=0xC000))
    engine.delete_sa(10)
    engine.delete_sa(11)
    assert _encrypt(engine, 10)[0].result == cp.Result.NO_SA
    assert _encrypt(engine, 12)[0].result == cp.Result.OK
    with pytest.raises(SaInstallError, match="no outbound SA"):
        engine.switch_outbound(12, 99)


def test_keys_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    engine = EspEngine()
    out = sa_params(Direction.OUTBOUND, sa_index=1, suite=CipherSuite.AES_CBC_128_HMAC_SHA2_256_128)
    inb = sa_params(Direction.INBOUND, sa_index=2)
    engine.add_sa(out)
    engine.add_sa(inb)
    engine.update_sa(1, SaUpdate(udp_encap=UdpEncap()))
    _encrypt(engine, 1)
    bad = bytearray(eth(4, scapy_sa(inb).encrypt(ip_packet(4, outbound=False))))
    bad[-1] ^= 1
    engine.process(request(cp.Op.DECRYPT, bytes(bad)))
    engine.delete_sa(1)
    text = caplog.text
    assert "ESP SA added" in text and "ICV check failed" in text  # the logs did happen
    for secret in (out.keys.enc_key, out.keys.auth_key, inb.keys.enc_key, inb.keys.salt):
        assert secret.hex() not in text and repr(secret)[2:-1] not in text
