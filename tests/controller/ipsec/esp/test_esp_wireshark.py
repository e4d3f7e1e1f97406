"""The esp_sa export, checked by tshark decrypting a capture of the engine's own ESP."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from esp_testlib import eth, ip_packet, request, sa_params, split
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.esp.wireshark import esp_sa_table, write_esp_sa_table
from controller.ipsec.installer import CipherSuite, Direction

TSHARK = shutil.which("tshark")


def _engine_capture() -> tuple[EspEngine, list[Ether]]:
    engine = EspEngine()
    frames = []
    specs = [
        (1, 0x1001, 4, CipherSuite.AES_GCM_16_128, False),
        (2, 0x2002, 6, CipherSuite.AES_GCM_16_256, False),
        (3, 0x3003, 4, CipherSuite.AES_CBC_128_HMAC_SHA2_256_128, True),
        (4, 0x4004, 6, CipherSuite.AES_CBC_256_HMAC_SHA2_256_128, False),
    ]
    for index, spi, version, suite, udp in specs:
        engine.add_sa(
            sa_params(
                Direction.OUTBOUND, sa_index=index, spi=spi, version=version, suite=suite, udp=udp
            )
        )
        clear = eth(version, ip_packet(version, outbound=True, payload="bgp"))
        frames.append(Ether(split(engine.process(request(cp.Op.ENCRYPT, clear, index)))[1]))
    return engine, frames


@pytest.mark.unit
def test_table_format_and_file_mode(tmp_path: Path) -> None:
    engine, _ = _engine_capture()
    params = next(iter(engine.sas()))
    line = esp_sa_table([params]).strip()
    assert line == (
        f'"IPv4","192.0.2.1","198.51.100.2","0x00001001",'
        f'"AES-GCM with 16 octet ICV [RFC4106]",'
        f'"0x{(params.keys.enc_key + params.keys.salt).hex()}","NULL",""'
    )
    path = write_esp_sa_table(engine.sas(), tmp_path / "esp_sa")
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(path.read_text().splitlines()) == 4


@pytest.mark.interop
@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
def test_tshark_decrypts_engine_output(tmp_path: Path) -> None:
    engine, frames = _engine_capture()
    wrpcap(str(tmp_path / "esp.pcap"), frames)
    conf = tmp_path / "config" / "wireshark"
    conf.mkdir(parents=True)
    write_esp_sa_table(engine.sas(), conf / "esp_sa")
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
    result = subprocess.run(
        [
            TSHARK or "tshark",
            "-r",
            str(tmp_path / "esp.pcap"),
            "-o",
            "esp.enable_encryption_decode:TRUE",
            "-o",
            "esp.enable_authentication_check:TRUE",
            "-T",
            "fields",
            "-e",
            "esp.spi",
            "-e",
            "esp.icv_good",
            "-e",
            "tcp.dstport",
            "-e",
            "esp.pad_len",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    # 39 octets of TCP + 2 trailer octets: padded to 4 (GCM) or to 16 (CBC)
    assert rows == [
        ["0x00001001", "1", "179", "3"],
        ["0x00002002", "1", "179", "3"],
        ["0x00003003", "1", "179", "7"],
        ["0x00004004", "1", "179", "7"],
    ], result.stderr
