"""Packets the engine must refuse: right result code, frame returned unchanged, counted."""

import struct

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from esp_testlib import eth, ip_packet, request, sa_params, scapy_sa, split
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.installer import CipherSuite, Direction, Mode, SaParams

pytestmark = pytest.mark.unit


def _inbound(engine: EspEngine, **kw: object) -> SaParams:
    params = sa_params(Direction.INBOUND, sa_index=4, **kw)  # type: ignore[arg-type]
    engine.add_sa(params)
    return params


def _decrypt(engine: EspEngine, frame: bytes) -> tuple[cp.CryptoHeader, bytes]:
    req = request(cp.Op.DECRYPT, frame)
    answer = engine.process(req)
    hdr, body = split(answer)
    if hdr.result != cp.Result.OK:
        assert body == frame, "refused frames come back unchanged"
    return hdr, body


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize(
    "suite", [CipherSuite.AES_GCM_16_256, CipherSuite.AES_CBC_256_HMAC_SHA2_256_128]
)
def test_replay_and_tamper(version: int, suite: CipherSuite) -> None:
    engine = EspEngine()
    params = _inbound(engine, version=version, suite=suite)
    theirs = scapy_sa(params)
    first = eth(version, theirs.encrypt(ip_packet(version, outbound=False)))
    assert _decrypt(engine, first)[0].result == cp.Result.OK
    hdr, _ = _decrypt(engine, first)
    assert (hdr.result, hdr.sa_index) == (cp.Result.REPLAY, 4)

    second = bytearray(eth(version, theirs.encrypt(ip_packet(version, outbound=False))))
    for position in (-1, -20):  # the ICV, then the ciphertext
        tampered = bytearray(second)
        tampered[position] ^= 0x01
        assert _decrypt(engine, bytes(tampered))[0].result == cp.Result.AUTH_FAILED
    # a failed ICV must not move the window: the genuine packet still gets in
    assert _decrypt(engine, bytes(second))[0].result == cp.Result.OK
    counters = engine.counters(4)
    assert counters.packets == 2
    assert counters.errors == {"REPLAY": 1, "AUTH_FAILED": 2}


def test_too_old_and_out_of_order_within_a_1024_window() -> None:
    engine = EspEngine()
    params = _inbound(engine, window=1024)
    clear = ip_packet(4, outbound=False)

    def send(seq: int) -> int:
        pkt = scapy_sa(params, seq_num=seq).encrypt(clear)
        return _decrypt(engine, eth(4, pkt))[0].result

    assert send(2000) == cp.Result.OK
    assert send(1000) == cp.Result.OK  # 1000 behind: inside the 1024 window
    assert send(1000) == cp.Result.REPLAY
    assert send(976) == cp.Result.REPLAY  # 1024 behind: left of the window
    assert send(1999) == cp.Result.OK
    assert send(3100) == cp.Result.OK
    assert send(2000) == cp.Result.REPLAY  # now too old
    assert engine.counters(4).errors == {"REPLAY": 3}


def test_wrong_spi_or_destination_is_no_sa() -> None:
    engine = EspEngine()
    params = _inbound(engine)
    pkt = scapy_sa(params).encrypt(ip_packet(4, outbound=False))
    pkt[IP].payload.spi = 0x9999
    hdr, _ = _decrypt(engine, eth(4, IP(bytes(pkt))))
    assert (hdr.result, hdr.sa_index) == (cp.Result.NO_SA, 0)
    other = scapy_sa(params).encrypt(ip_packet(4, outbound=False))
    other[IP].dst = "192.0.2.99"
    assert _decrypt(engine, eth(4, other))[0].result == cp.Result.NO_SA
    assert engine.errors == {"NO_SA": 2}
    assert "SPI 0x00009999" in engine.last_error or "SPI 0x00001001" in engine.last_error


def _gcm_with_trailer(params: SaParams, trailer: bytes, seq: int = 1) -> bytes:
    """An ESP packet whose plaintext (payload + trailer) is chosen by the test."""
    header = struct.pack("!II", params.spi, seq)
    iv = b"\x00" * 7 + bytes([seq])
    sealed = AESGCM(params.keys.enc_key).encrypt(
        params.keys.salt + iv, b"\x00\x06\x41\x40" + trailer, header
    )
    local, remote = str(params.local), str(params.remote)
    return eth(4, IP(src=remote, dst=local, proto=50) / Raw(header + iv + sealed))


def test_bad_padding_is_malformed_but_authentic() -> None:
    engine = EspEngine()
    params = _inbound(engine)
    bad_pad = _gcm_with_trailer(params, b"\x01\x07\x02\x89")  # pad 1, 7 instead of 1, 2
    assert _decrypt(engine, bad_pad)[0].result == cp.Result.MALFORMED
    too_long = _gcm_with_trailer(params, b"\x01\x02\xff\x89", seq=2)  # pad length past start
    assert _decrypt(engine, too_long)[0].result == cp.Result.MALFORMED
    good = _gcm_with_trailer(params, b"\x01\x02\x02\x89", seq=3)
    assert _decrypt(engine, good)[0].result == cp.Result.OK
    assert engine.counters(4).errors == {"MALFORMED": 2}


def test_truncated_and_non_esp_frames() -> None:
    engine = EspEngine()
    params = _inbound(engine)
    good = eth(4, scapy_sa(params).encrypt(ip_packet(4, outbound=False)))
    local, remote = str(params.local), str(params.remote)
    cases = {
        "truncated ESP": eth(4, IP(src=remote, dst=local, proto=50) / Raw(good[34:60])),
        "cut frame": good[: 14 + 20 + 8 + 10],
        "ESP header only": eth(4, IP(src=remote, dst=local, proto=50) / Raw(b"\x00\x00\x10\x01")),
        "IKE on 4500": eth(
            4,
            IP(src=remote, dst=local)
            / UDP(sport=4500, dport=4500)
            / Raw(b"\x00" * 4 + b"ike" * 10),
        ),
        "not IP": bytes(Ether(type=0x88CC) / Raw(b"lldp" * 10)),
        "fragment": eth(4, IP(src=remote, dst=local, proto=50, frag=10) / Raw(good[34:])),
        "runt": b"\x00" * 6,
    }
    for name, frame in cases.items():
        hdr, body = split(engine.process(request(cp.Op.DECRYPT, frame)))
        assert hdr.result == cp.Result.MALFORMED, name
        assert body == frame, name
    # the truncated ESP packet reached its SA (its SPI is known); the others did not
    assert engine.counters(4).errors == {"MALFORMED": 1}
    assert engine.errors == {"MALFORMED": len(cases) - 1}


def test_header_errors() -> None:
    engine = EspEngine()
    assert engine.process(b"\x01\x01") == b""  # no header to answer with
    bad_version = bytes([9, 1, 0, 1, 0, 0, 0, 1]) + b"\x00" * 40
    assert split(engine.process(bad_version))[0].result == cp.Result.MALFORMED
    bad_op = bytes([1, 7, 0, 1, 0, 0, 0, 1]) + b"\x00" * 40
    assert split(engine.process(bad_op))[0].result == cp.Result.MALFORMED
    assert engine.errors == {"MALFORMED": 3}


def test_encrypt_needs_an_outbound_sa() -> None:
    engine = EspEngine()
    _inbound(engine)
    frame = eth(4, ip_packet(4, outbound=True))
    for index in (4, 77):  # an inbound SA's index, an unknown one
        hdr, body = split(engine.process(request(cp.Op.ENCRYPT, frame, index)))
        assert hdr.result == cp.Result.NO_SA and body == frame
    assert engine.errors == {"NO_SA": 2}


def test_dummy_packet_is_dropped() -> None:
    """RFC 4303 section 2.6: next header 59 marks a TFC dummy packet."""
    engine = EspEngine()
    params = _inbound(engine)
    dummy = _gcm_with_trailer(params, b"\x01\x02\x02\x3b")
    assert _decrypt(engine, dummy)[0].result == cp.Result.MALFORMED
    assert engine.counters(4).errors == {"MALFORMED": 1}


def test_tunnel_mode_tfc_padding_is_removed_and_bad_inner_lengths_refused() -> None:
    """RFC 4303 2.7: the sender may pad the inner packet; its own length says where it ends."""
    engine = EspEngine()
    params = _inbound(engine, mode=Mode.TUNNEL)
    inner = bytes(IP(src="10.2.0.1", dst="10.1.0.1") / Raw(b"t" * 10))

    def tunnel_packet(payload: bytes, seq: int) -> bytes:
        pad = -(len(payload) + 2) % 4
        plaintext = payload + bytes(range(1, pad + 1)) + bytes((pad, 4))
        header = struct.pack("!II", params.spi, seq)
        iv = seq.to_bytes(8, "big")
        sealed = AESGCM(params.keys.enc_key).encrypt(params.keys.salt + iv, plaintext, header)
        outer = IP(src=str(params.remote), dst=str(params.local), proto=50)
        return eth(4, outer / Raw(header + iv + sealed))

    hdr, out = _decrypt(engine, tunnel_packet(inner + b"\x00" * 23, 1))
    assert hdr.result == cp.Result.OK
    assert bytes(Ether(out)[IP]) == inner
    too_long = bytearray(inner)
    too_long[2:4] = (len(inner) + 40).to_bytes(2, "big")
    assert _decrypt(engine, tunnel_packet(bytes(too_long), 2))[0].result == cp.Result.MALFORMED
    assert _decrypt(engine, tunnel_packet(b"\x45" * 8, 3))[0].result == cp.Result.MALFORMED
