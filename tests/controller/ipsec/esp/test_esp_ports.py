"""Port adapters: the engine inline on p4sim's port manager, and on a veth over AF_PACKET."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from esp_testlib import BIG_PAYLOAD, eth, ip_packet, request, sa_params, scapy_sa, split
from scapy.layers.ipsec import ESP
from scapy.layers.l2 import Ether

from controller.ipsec import crypto_port as cp
from controller.ipsec.esp import EspEngine, ring
from controller.ipsec.esp.ports import BATCH, AfPacketCryptoPort, InlineCryptoPort, LockedEngine
from controller.ipsec.installer import CipherSuite, Direction, SaKeys
from targets.p4sim.runtime.ports.base import PortManager

HERE = Path(__file__).resolve().parent
CRYPTO_PORT = 254


class Switch:
    """Stands in for the device behind p4sim's PortManager: records what comes back in."""

    def __init__(self) -> None:
        self.received: list[tuple[int, bytes]] = []

    def receive(self, port: int, frame: bytes) -> None:
        self.received.append((port, frame))


@pytest.mark.unit
def test_inline_port_on_p4sim_port_manager() -> None:
    engine = EspEngine()
    params = sa_params(Direction.OUTBOUND, sa_index=3)
    engine.add_sa(params)
    switch = Switch()
    manager = PortManager(switch)
    inline = InlineCryptoPort(LockedEngine(engine))
    manager.add(CRYPTO_PORT, inline)
    manager.start()
    clear = ip_packet(4, outbound=True)
    manager.emit(CRYPTO_PORT, request(cp.Op.ENCRYPT, eth(4, clear), 3, port=7))
    manager.emit(CRYPTO_PORT, b"\x01")  # no header: no answer, counted by the engine
    assert len(switch.received) == 1
    port, answer = switch.received[0]
    hdr, frame = split(answer)
    assert (port, hdr.result, hdr.ingress_port) == (CRYPTO_PORT, cp.Result.OK, 7)
    assert bytes(scapy_sa(params).decrypt(Ether(frame).payload).payload) == bytes(clear.payload)
    assert engine.errors == {"MALFORMED": 1} and inline.frames == 2
    manager.close()
    with pytest.raises(RuntimeError, match="before start"):
        inline.send(CRYPTO_PORT, answer)


@pytest.mark.unit
@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None,
    reason="needs root and iproute2 to create a network namespace",
)
def test_afpacket_port_on_a_veth_in_a_namespace() -> None:
    ns = f"sl3vpn-esp-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        ipn = ["ip", "-n", ns, "link"]
        subprocess.run(
            [*ipn, "add", "crypto0", "type", "veth", "peer", "name", "crypto1"], check=True
        )
        # no IPv6 on the veths: no DAD/MLD frames the engine would have to answer
        for conf in ("all", "default", "crypto0", "crypto1"):
            subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "sysctl",
                    "-qw",
                    f"net.ipv6.conf.{conf}.disable_ipv6=1",
                ],
                check=True,
            )
        for name in ("crypto0", "crypto1"):
            subprocess.run([*ipn, "set", name, "mtu", "9000"], check=True)
        for name in ("crypto0", "crypto1", "lo"):
            subprocess.run([*ipn, "set", name, "up"], check=True)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), *sys.path]))
        result = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                ns,
                sys.executable,
                str(HERE / "afpacket_peer.py"),
                "crypto1",
                "crypto0",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=True,
        )
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    answers = [split(bytes.fromhex(a)) for a in report["answers"]]
    burst = list(range(10, 10 + BATCH + 36))  # queued before the port started: read in batches
    # in the order sent, each answered once
    assert [(h.ingress_port, h.result) for h, _ in answers] == [
        (1, cp.Result.OK),
        (2, cp.Result.OK),
        (3, cp.Result.NO_SA),
    ] + [(port, cp.Result.OK) for port in burst] + [(4000, cp.Result.OK)]
    keys = SaKeys(enc_key=bytes.fromhex(report["key"]), salt=bytes.fromhex(report["salt"]))
    params = sa_params(Direction.OUTBOUND, sa_index=5, suite=CipherSuite.AES_GCM_16_128, keys=keys)
    clear = ip_packet(4, outbound=True)
    for hdr, frame in answers:
        if hdr.result == cp.Result.OK:
            esp_pkt = Ether(frame).payload
            assert esp_pkt[ESP].spi == params.spi
            expect = BIG_PAYLOAD if hdr.ingress_port == 4000 else bytes(clear.payload)
            assert bytes(scapy_sa(params).decrypt(esp_pkt).payload) == expect
    sequence_numbers = [esp_seq(frame) for h, frame in answers if h.result == cp.Result.OK]
    assert sequence_numbers == list(range(1, len(burst) + 4))
    assert report["frames"] == 4 + len(burst)
    assert report["rings"] == ring.supported()  # the memory-mapped rings where they apply


def esp_seq(frame: bytes) -> int:
    """The ESP sequence number of an Ethernet + IPv4 (no options) + ESP frame."""
    return int.from_bytes(frame[14 + 20 + 4 : 14 + 20 + 8], "big")


@pytest.mark.unit
def test_locked_engine_lets_a_subscriber_rekey_from_inside_process() -> None:
    """IKE may react to a soft expiry by installing SAs while the packet is still in flight."""
    from controller.ipsec.installer import ExpiryEvent, Lifetime

    locked = LockedEngine(EspEngine())
    locked.add_sa(sa_params(Direction.OUTBOUND, sa_index=1, soft=Lifetime(packets=1)))

    def rekey(event: ExpiryEvent) -> None:
        locked.add_sa(sa_params(Direction.OUTBOUND, sa_index=2, spi=0x2222))
        locked.switch_outbound(1, 2)

    locked.subscribe(rekey)
    frame = request(cp.Op.ENCRYPT, eth(4, ip_packet(4, outbound=True)), 1)
    assert split(locked.process(frame))[0].sa_index == 1  # the soft expiry fires here
    hdr, out = split(locked.process(frame))
    assert (hdr.result, hdr.sa_index, Ether(out)[ESP].spi) == (cp.Result.OK, 2, 0x2222)


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None,
    reason="needs root and iproute2 to create a network namespace",
)
def test_afpacket_port_buffers_a_stall_and_counts_what_the_kernel_dropped() -> None:
    """The engine thread may wait for the CPU: its socket holds 4 MiB of frames meanwhile,
    and frames the kernel still drops are counted (the engine process logs them)."""
    import socket

    from controller.ipsec.esp.ports import SOCKET_BUFFER
    from controller.lab.netns import Netns

    ns = Netns.new(f"sl3vpn-espd-{os.getpid()}")
    try:
        ns.ip("link", "add", "crypto0", "type", "veth", "peer", "name", "crypto1")
        for dev in ("crypto0", "crypto1"):
            ns.link_up(dev)

        def open_pair() -> tuple[AfPacketCryptoPort, socket.socket]:
            port = AfPacketCryptoPort("crypto0", LockedEngine(EspEngine()))  # not started
            peer = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
            peer.bind(("crypto1", 0))
            return port, peer

        port, peer = ns.call(open_pair)
        try:
            assert port.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= SOCKET_BUFFER
            frame = request(cp.Op.ENCRYPT, eth(4, ip_packet(4, outbound=True)), 3, port=7)
            for _ in range(2_000):  # a stalled engine thread: 1 s of 1,000 pps each way
                peer.send(frame)
            assert port.new_drops() == 0  # the kernel's default buffer held about 250
            for _ in range(40_000):  # several times what the buffer holds
                peer.send(frame)
            assert port.new_drops() > 0 and port.kernel_drops > 0
            assert port.new_drops() == 0  # counted once
        finally:
            peer.close()
            port.close()
    finally:
        ns.delete()
