"""PACKET_MMAP rings on a veth pair: every frame once and in order, across wraps and long frames."""

from __future__ import annotations

import os
import shutil
import socket
import time

import pytest

from controller.ipsec.esp import ring

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None,
        reason="needs root and iproute2 to create a network namespace",
    ),
    pytest.mark.skipif(not ring.supported(), reason="the rings are used on x86-64 only"),
]


def _frame(n: int, size: int) -> bytes:
    """An Ethernet frame to a made-up MAC with a private ethertype, numbered n."""
    head = b"\x02\x00\x00\x00\x00\x0b\x02\x00\x00\x00\x00\x0a\x88\xb5" + n.to_bytes(4, "big")
    return head + bytes((n + k) & 0xFF for k in range(size - len(head)))


def _receive_all(rings: ring.PacketRings, count: int) -> list[bytes]:
    got: list[bytes] = []
    deadline = time.monotonic() + 10
    while len(got) < count and time.monotonic() < deadline:
        frames = rings.receive(64)
        if not frames:
            rings.wait(0.2)
        got += [f for f in frames if f[12:14] == b"\x88\xb5"]  # not the kernel's own
    return got


def test_frames_cross_both_rings_in_order_through_wraps_and_long_frames() -> None:
    from controller.lab.netns import Netns

    ns = Netns.new(f"sl3vpn-espring-{os.getpid()}")
    try:
        ns.ip("link", "add", "ra", "type", "veth", "peer", "name", "rb")
        for dev in ("ra", "rb"):
            ns.ip("link", "set", dev, "mtu", "9000")
            ns.link_up(dev)

        def open_end(name: str) -> ring.PacketRings:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
            sock.bind((name, 0))
            sock.setsockopt(ring.SOL_PACKET, 23, 1)  # PACKET_IGNORE_OUTGOING
            return ring.PacketRings(sock)

        sender = ns.call(lambda: open_end("ra"))
        receiver = ns.call(lambda: open_end("rb"))
        try:
            # More frames than either ring has slots, in batches of 100; every 97th one
            # longer than a slot (it leaves through the plain socket, arrives as a copy).
            sizes = [3000 if n % 97 == 5 else 60 + n % 1400 for n in range(ring.RX_SLOTS + 900)]
            frames = [_frame(n, size) for n, size in enumerate(sizes)]
            got: list[bytes] = []
            for start in range(0, len(frames), 100):
                sender.send(frames[start : start + 100])
                got += _receive_all(receiver, min(100, len(frames) - start))
            assert len(got) == len(frames)
            assert got == frames
            assert receiver.lost == 0
        finally:
            for end in (sender, receiver):
                end.close()
                end.sock.close()
    finally:
        ns.delete()
