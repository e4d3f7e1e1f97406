"""Transport-mode ESP-in-UDP across a NAT: TCP/UDP checksums fixed after decryption."""

import pytest
from esp_testlib import ADDR, eth, request, sa_params, scapy_sa, split
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine
from controller.ipsec.installer import Direction

pytestmark = pytest.mark.unit

PRIVATE = {4: "10.0.0.5", 6: "fd00::5"}  # the peer's address behind its NAT


def _checksum_ok(packet: IP | IPv6, layer: type) -> bool:
    fresh = packet.__class__(bytes(packet))
    del fresh[layer].chksum
    return packet.__class__(bytes(fresh))[layer].chksum == packet[layer].chksum


@pytest.mark.parametrize("version", [4, 6])
@pytest.mark.parametrize("layer", [TCP, UDP])
def test_checksum_refreshed_for_the_translated_source(version: int, layer: type) -> None:
    engine = EspEngine()
    params = sa_params(Direction.INBOUND, version=version, sa_index=6, udp=True)
    engine.add_sa(params)
    local, public = ADDR[version]
    ip_cls = IP if version == 4 else IPv6
    upper = TCP(sport=179, dport=40000) if layer is TCP else UDP(sport=1, dport=2)
    sent = ip_cls(src=PRIVATE[version], dst=str(local)) / upper / Raw(b"open")
    protected = scapy_sa(params).encrypt(ip_cls(bytes(sent)))
    protected.src = str(public)  # what the NAT does to the outer header only
    if version == 4:
        del protected.chksum
    del protected[UDP].chksum
    hdr, out = split(engine.process(request(cp.Op.DECRYPT, eth(version, protected))))
    assert hdr.result == cp.Result.OK, engine.last_error
    restored = Ether(out)[ip_cls]
    assert str(restored.src) == str(public)
    assert bytes(restored[layer].payload) == b"open"
    assert _checksum_ok(restored, layer)
    # the check can fail: the sender's segment is wrong for the translated source
    stale = ip_cls(src=str(public), dst=str(local)) / layer(bytes(sent[layer]))
    assert not _checksum_ok(ip_cls(bytes(stale)), layer)
