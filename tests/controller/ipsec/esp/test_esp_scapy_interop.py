"""ESP from our engine is read by scapy's SecurityAssociation, and the other way round.

scapy's ipsec layer is an independent RFC 4303/4106 implementation: agreement
in both directions checks our wire format, IV/nonce/AAD construction, padding
and ICV for every suite, IP version, mode, and with/without UDP encapsulation.
"""

import itertools

import pytest
from esp_testlib import eth, ip_packet, request, sa_params, scapy_sa, split
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import Ether

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.installer import CipherSuite, Direction, Mode

pytestmark = pytest.mark.unit

SUITES = list(CipherSuite)
CASES = list(itertools.product([4, 6], [Mode.TRANSPORT, Mode.TUNNEL], SUITES, [False, True]))
IDS = [f"v{v}-{m.value}-{s.value}-{'udp' if u else 'esp'}" for v, m, s, u in CASES]


def _ip_cls(version: int) -> type:
    return IP if version == 4 else IPv6


@pytest.mark.parametrize(("version", "mode", "suite", "udp"), CASES, ids=IDS)
@pytest.mark.parametrize("payload", ["mpls", "bgp"])
def test_engine_encrypts_scapy_decrypts(
    version: int, mode: Mode, suite: CipherSuite, udp: bool, payload: str
) -> None:
    engine = EspEngine()
    params = sa_params(
        Direction.OUTBOUND, version=version, sa_index=7, suite=suite, mode=mode, udp=udp
    )
    engine.add_sa(params)
    clear = ip_packet(version, outbound=True, payload=payload)
    for seq in (1, 2, 3):
        hdr, out = split(engine.process(request(cp.Op.ENCRYPT, eth(version, clear), 7, port=5)))
        assert (hdr.result, hdr.op, hdr.sa_index, hdr.ingress_port) == (0, 1, 7, 5)
        frame = Ether(out)
        assert frame.src == "02:00:00:00:00:0a"  # Ethernet carried through
        outer = frame.payload
        assert isinstance(outer, _ip_cls(version))
        assert str(outer.src) == str(params.local) and str(outer.dst) == str(params.remote)
        if udp:
            assert outer.haslayer(UDP) and outer[UDP].dport == 4500
            assert outer[UDP].chksum == 0 if version == 4 else outer[UDP].chksum != 0
        else:
            assert (outer.proto if version == 4 else outer.nh) == 50
        assert outer[ESP].spi == params.spi and outer[ESP].seq == seq
        # scapy recomputes lengths/checksums on rebuild: ours must already be right
        rebuilt = _ip_cls(version)(bytes(outer))
        if version == 4:
            del rebuilt.chksum, rebuilt.len
        else:
            del rebuilt.plen
        assert bytes(_ip_cls(version)(bytes(rebuilt))) == bytes(outer)
        plain = scapy_sa(params).decrypt(outer)
        if mode is Mode.TRANSPORT:
            assert bytes(plain.payload) == bytes(clear.payload)
            assert (plain.proto if version == 4 else plain.nh) == (
                clear.proto if version == 4 else clear.nh
            )
        else:
            assert bytes(plain) == bytes(clear)


@pytest.mark.parametrize(("version", "mode", "suite", "udp"), CASES, ids=IDS)
def test_scapy_encrypts_engine_decrypts(
    version: int, mode: Mode, suite: CipherSuite, udp: bool
) -> None:
    engine = EspEngine()
    params = sa_params(
        Direction.INBOUND, version=version, sa_index=9, suite=suite, mode=mode, udp=udp
    )
    engine.add_sa(params)
    theirs = scapy_sa(params)
    clear = ip_packet(version, outbound=False)
    for _ in range(3):
        protected = theirs.encrypt(clear)
        answer = engine.process(request(cp.Op.DECRYPT, eth(version, protected), 0, port=2))
        hdr, out = split(answer)
        assert (hdr.result, hdr.op, hdr.sa_index, hdr.ingress_port) == (0, 2, 9, 2)
        restored = Ether(out).payload
        assert bytes(restored) == bytes(_ip_cls(version)(bytes(clear)))
    counters = engine.counters(9)
    assert counters.packets == 3 and counters.errors == {}
    assert counters.bytes == 3 * (
        len(clear.payload) if mode is Mode.TRANSPORT else len(bytes(clear))
    )


@pytest.mark.parametrize("suite", SUITES, ids=[s.value for s in SUITES])
@pytest.mark.parametrize("version", [4, 6])
def test_esn_both_ways_across_the_32_bit_boundary(version: int, suite: CipherSuite) -> None:
    """RFC 4303 appendix A: high-order bits are authenticated, never sent."""
    engine = EspEngine()
    out = sa_params(Direction.OUTBOUND, version=version, sa_index=1, suite=suite, esn=True)
    inb = sa_params(
        Direction.INBOUND, version=version, sa_index=2, spi=0x2002, suite=suite, esn=True
    )
    engine.add_sa(out)
    engine.add_sa(inb)
    # Move the outbound counter near the boundary through the test-only back door.
    engine._sas[1].seq = (1 << 32) - 2
    clear = ip_packet(version, outbound=True)
    for expected in ((1 << 32) - 1, 1 << 32, (1 << 32) + 1):
        _, frame = split(engine.process(request(cp.Op.ENCRYPT, eth(version, clear), 1)))
        esp_layer = Ether(frame)[ESP]
        assert esp_layer.seq == expected & 0xFFFFFFFF
        theirs = scapy_sa(out, esn_high=expected >> 32)
        assert bytes(theirs.decrypt(Ether(frame).payload).payload) == bytes(clear.payload)
    # And inbound: scapy sends across the boundary; the engine infers the high bits.
    incoming = ip_packet(version, outbound=False)
    window = engine._sas[2].replay
    assert window is not None
    window.top, window.bitmap = (1 << 32) - 10, 1  # as if 2^32 - 10 had been received
    for seq in ((1 << 32) - 1, 1 << 32, (1 << 32) + 5):
        theirs = scapy_sa(inb, seq_num=seq & 0xFFFFFFFF, esn_high=seq >> 32)
        hdr, _ = split(
            engine.process(request(cp.Op.DECRYPT, eth(version, theirs.encrypt(incoming))))
        )
        assert hdr.result == cp.Result.OK
    assert window.top == (1 << 32) + 5
    assert engine.counters(2).packets == 3
