"""Port transports: nanomsg (BMv2/PTF framing), AF_PACKET on veth, pcap files, in-process."""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import pynng
import pytest

from controller.lab.netns import Netns
from targets.p4sim.runtime.device import Device
from targets.p4sim.runtime.ports import (
    AfPacketPort,
    InprocPort,
    NanomsgTransport,
    PcapRecorder,
    PortManager,
)
from targets.p4sim.runtime.ports.nanomsg import (
    HDR,
    INFO_REP,
    INFO_REQ,
    PACKET_IN,
    PACKET_OUT,
    PORT_ADD,
)

from .builders import INSERT, fwd, update
from .fake_program import CPU_PORT, fake_bundle, load_fake
from .netns import can_use_netns, switch_ns

pytestmark = pytest.mark.unit


def forwarding_device(*pairs: tuple[int, int]) -> Device:
    """A device running the double with fwd entries in_port -> out_port."""
    from targets.p4sim.runtime.bundle import Bundle

    device = Device(load_fake, cpu_port=CPU_PORT)
    device.load_at_start(Bundle.decode(fake_bundle()))
    assert device.pipeline is not None
    from targets.p4sim.runtime.table_codec import entry_from_msg

    pipe = device.pipeline
    table = pipe.program.state.tables[33554433]
    for a, b in pairs:
        te = update(INSERT, fwd(bytes([a]), out=bytes([b]))).entity.table_entry
        table.insert(entry_from_msg(table, pipe.pids, te))
    return device


def test_inproc_port_and_manager() -> None:
    device = forwarding_device((1, 2))
    ports = PortManager(device)
    device.emit = ports.emit
    inproc = InprocPort()
    ports.set_default(inproc)
    ports.start()
    inproc.inject(1, b"\x11" * 64)
    inproc.inject(3, b"\x22" * 64)  # no entry: dropped by the default action
    assert inproc.sent.get_nowait() == (2, b"\x11" * 64)
    assert inproc.sent.empty()


@pytest.fixture
def ipc_addr(tmp_path: Path) -> str:
    return f"ipc://{tmp_path}/p4sim-{os.getpid()}.ipc"


def test_nanomsg_ptf_framing(ipc_addr: str) -> None:
    device = forwarding_device((1, 2), (2, 1))
    ports = PortManager(device)
    device.emit = ports.emit
    nn = NanomsgTransport(ipc_addr)
    ports.set_default(nn)
    ports.start()
    peer = pynng.Pair0(dial=ipc_addr, recv_timeout=2000, send_timeout=2000)
    try:
        peer.send(HDR.pack(PORT_ADD, 1, 0))
        # garbage first: the transport must drop it and keep going
        peer.send(b"\x01\x02")
        peer.send(HDR.pack(PACKET_IN, 1, 99) + b"short")
        peer.send(HDR.pack(77, 1, 0))
        frame = bytes(range(64))
        peer.send(HDR.pack(PACKET_IN, 1, len(frame)) + frame)
        msg = peer.recv()
        assert HDR.unpack_from(msg) == (PACKET_OUT, 2, len(frame))
        assert msg[HDR.size :] == frame
        peer.send(HDR.pack(INFO_REQ, 1, 0))
        rep = peer.recv()
        assert HDR.unpack_from(rep) == (INFO_REP, 1, 0)
        assert struct.unpack_from("<i", rep, HDR.size) == (1,)  # not supported
        assert nn.dropped == 3
        assert 1 in nn.ports
    finally:
        peer.close()
        ports.close()


def test_pcap_files(tmp_path: Path) -> None:
    from scapy.utils import rdpcap

    device = forwarding_device((1, 2))
    rec = PcapRecorder(tmp_path / "pcaps")
    ports = PortManager(device, rec)
    device.emit = ports.emit
    inproc = InprocPort()
    ports.set_default(inproc)
    ports.start()
    frame = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x00" + b"\x45" + b"\x00" * 45
    inproc.inject(1, frame)
    ports.close()
    assert [bytes(p) for p in rdpcap(str(tmp_path / "pcaps" / "1_in.pcap"))] == [frame]
    assert [bytes(p) for p in rdpcap(str(tmp_path / "pcaps" / "2_out.pcap"))] == [frame]


@pytest.fixture
def veth_ns() -> Iterator[Netns]:
    reason = can_use_netns()
    if reason:
        pytest.skip(reason)
    with switch_ns(f"p4simt{os.getpid()}") as ns:
        yield ns


def test_afpacket_ports_forward_between_veths(veth_ns: Netns) -> None:
    device = forwarding_device((1, 2))
    ports = PortManager(device)
    device.emit = ports.emit

    def open_all() -> tuple[AfPacketPort, AfPacketPort, socket.socket, socket.socket]:
        p1, p2 = AfPacketPort(1, "sw1"), AfPacketPort(2, "sw2")
        h1 = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        h1.bind(("h1", 0))
        h2 = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        h2.bind(("h2", 0))
        return p1, p2, h1, h2

    p1, p2, h1, h2 = veth_ns.call(open_all)
    ports.add(1, p1)
    ports.add(2, p2)
    ports.start()
    try:
        h2.settimeout(2)
        marker = os.urandom(8)
        frame = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + marker
        frame += b"\x00" * (64 - len(frame))
        deadline = time.monotonic() + 5
        while True:  # the kernel may emit IPv6 ND on fresh veths: skip those
            h1.send(frame)
            got = h2.recv(2048)
            if marker in got:
                break
            assert time.monotonic() < deadline
        assert got[: len(frame)] == frame
    finally:
        h1.close()
        h2.close()
        ports.close()


def test_afpacket_port_reports_frames_the_kernel_dropped(veth_ns: Netns, caplog) -> None:
    """A port thread that cannot keep up loses frames in the kernel: counted and logged."""

    def open_pair() -> tuple[AfPacketPort, socket.socket]:
        port = AfPacketPort(1, "sw1")  # not started: nothing reads its socket
        host = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        host.bind(("h1", 0))
        return port, host

    port, host = veth_ns.call(open_pair)
    try:
        frame = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5"
        frame += b"\x00" * (64 - len(frame))
        for _ in range(40_000):  # several times what the 4 MiB receive buffer holds
            host.send(frame)
        with caplog.at_level("WARNING", "p4sim.ports"):
            port._report_drops()
        assert port.kernel_drops > 0
        assert f"port 1 (sw1): {port.kernel_drops} frames dropped by the kernel" in caplog.text
        port._report_drops()  # the kernel's count restarts at each read: nothing new
        assert caplog.text.count("dropped by the kernel") == 1
    finally:
        host.close()
        port.close()
