"""Golden ESP packets from draft-mcgrew-gcm-test-01 (RFC 4106 test cases) through the engine.

Each case gives key, salt || IV (the "nonce"), SPI || sequence number (the
AAD, 12 octets when the SA uses ESN), the plaintext including the ESP trailer,
and ciphertext || ICV.  We rebuild the ESP packet SPI | seq | IV | ciphertext |
ICV, put it behind an IPv4 header addressed to us and check that the engine
authenticates it, strips the padding and restores the next header — which
pins down our nonce, AAD (with and without ESN) and trailer handling against
an independent source.
"""

import ipaddress

import pytest
from scapy.layers.inet import IP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.installer import CipherSuite, Direction, SaKeys, SaParams

pytestmark = pytest.mark.unit

# (name, key, nonce, aad, plaintext, ciphertext, icv)
VECTORS = [
    (
        "case2-aes128",
        "feffe9928665731c6d6a8f9467308308",
        "cafebabefacedbaddecaf888",
        "0000a5f80000000a",
        "4500003e698f000080114dccc0a80102c0a801010a980035002a2343b2d00100"
        "0001000000000000037369700963796265726369747902646b00000100010001",
        "deb22cd9b07c72c16e3a65beeb8df304a5a5897d33ae530f1ba76d5d114d2a5c"
        "3de81827c10e9a4f51330d0eec416642cfbb85a5b47e48a4ec3b9ba95d918bd1",
        "83b70d3aa8bc6ee4c309e9d85a41ad4a",
    ),
    (
        "case3-aes256",
        "abbccddef00112233445566778899aababbccddef00112233445566778899aab",
        "112233440102030405060708",
        "4a2cbfe300000002",
        "4500003069a6400080062690c0a801029389155e0a9e008b2dc57ee000000000"
        "7002400020bf0000020405b40101040201020201",
        "ff425c9b724599df7a3bcd510194e00d6a78107f1b0b1cbf06efae9d65a5d763"
        "748a637985771d347f0545659f14e99def842d8e",
        "b335f4eecfdbf831824b4c4915956c96",
    ),
    (
        "case1-aes128-esn",
        "4c80cdefbb5d10da906ac73c3613a634",
        "2e443b684956ed7e3b244cfe",
        "000043218765432100000000",
        "45000048699a000080114db7c0a80102c0a801010a9bf15638d3010000010000"
        "00000000045f736970045f756470037369700963796265726369747902646b00"
        "0021000101020201",
        "fecf537e729d5b07dc30df528dd22b768d1b98736696a6fd348509fa13ceac34"
        "cfa2436f14a3f3cf65925bf1f4a13c5d15b21e1884f5ff6247aeabb786b93bce"
        "61bc17d768fd9732",
        "459018148f6cbe722fd04796562dfdb4",
    ),
    (
        "case14-aes256-esn",
        "6c6567616c697a656d6172696a75616e61616e64646f69746265666f72656961",
        "7475726e333021696765746d",
        "796b6963ffffffffffffffff",
        "45000030da3a00008001df3bc0a80005c0a800010800c6cd0200070061626364"
        "65666768696a6b6c6d6e6f707172737401020201",
        "f97ab2aa356d8edce17644ac8c78e25dd24dedbb29ebf1b64a274b39b49c3a86"
        "4cd3d78ca4ae68a32b42458fb57dbe821dcc63b9",
        "d0937ba2945f669368661a329fb4c053",
    ),
]

US = ipaddress.ip_address("192.0.2.1")
PEER = ipaddress.ip_address("192.0.2.2")


@pytest.mark.parametrize(
    ("key", "nonce", "aad", "plaintext", "ciphertext", "icv"),
    [v[1:] for v in VECTORS],
    ids=[v[0] for v in VECTORS],
)
def test_engine_opens_the_published_packet(
    key: str, nonce: str, aad: str, plaintext: str, ciphertext: str, icv: str
) -> None:
    k, n, a, pt = (bytes.fromhex(x) for x in (key, nonce, aad, plaintext))
    esn = len(a) == 12
    spi = int.from_bytes(a[:4], "big")
    seq = int.from_bytes(a[4:], "big")
    suite = CipherSuite.AES_GCM_16_128 if len(k) == 16 else CipherSuite.AES_GCM_16_256
    engine = EspEngine()
    engine.add_sa(
        SaParams(
            direction=Direction.INBOUND,
            spi=spi,
            sa_index=1,
            local=US,
            remote=PEER,
            suite=suite,
            keys=SaKeys(enc_key=k, salt=n[:4]),
            esn=esn,
        )
    )
    if esn:  # put the window just behind the published number, as after earlier traffic
        window = engine._sas[1].replay
        assert window is not None
        window.top, window.bitmap = seq - 16, 1
    esp = a[:4] + (seq & 0xFFFFFFFF).to_bytes(4, "big") + n[4:] + bytes.fromhex(ciphertext + icv)
    frame = bytes(Ether() / IP(src=str(PEER), dst=str(US), proto=50) / Raw(esp))
    answer = engine.process(cp.frame(cp.CryptoHeader(op=cp.Op.DECRYPT), frame))
    hdr = cp.CryptoHeader.decode(answer)
    assert (hdr.result, hdr.sa_index) == (cp.Result.OK, 1), engine.last_error
    out = Ether(answer[cp.HEADER_LEN :])[IP]
    pad = pt[-2]
    assert out.proto == pt[-1]
    assert bytes(out.payload) == pt[: -2 - pad]
    # and a single flipped ICV bit is refused
    broken = bytearray(frame)
    broken[-1] ^= 0x80
    window = engine._sas[1].replay
    assert window is not None
    window.top, window.bitmap = seq - 16, 1
    again = engine.process(cp.frame(cp.CryptoHeader(op=cp.Op.DECRYPT), bytes(broken)))
    assert again[4] == cp.Result.AUTH_FAILED
