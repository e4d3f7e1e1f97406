"""The asyncio adapter arms its timer from what changed, and still fires every deadline."""

from __future__ import annotations

import asyncio
import socket

import pytest

from controller.ipsec.ike.adapter import IkeService
from controller.ipsec.ike.daemon import IkeDaemon
from controller.ipsec.ike.wire.header import IkeHeader

from .harness import psk_config

pytestmark = pytest.mark.unit
ME, SILENT = "127.0.0.1", "127.0.0.5"


def _silent_peer() -> socket.socket:
    """A UDP socket on the peer's IKE port that counts what arrives and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((SILENT, 500))
    except OSError as exc:
        sock.close()
        pytest.skip(f"cannot bind {SILENT}:500 ({exc.strerror})")
    sock.setblocking(False)
    return sock


async def _requests_until(sock: socket.socket, seconds: float) -> list[IkeHeader]:
    loop = asyncio.get_running_loop()
    got: list[IkeHeader] = []
    end = loop.time() + seconds
    while loop.time() < end:
        try:
            data = await asyncio.wait_for(loop.sock_recv(sock, 65535), end - loop.time())
        except TimeoutError:
            break
        got.append(IkeHeader.decode(data))
    return got


def test_a_new_earlier_deadline_is_armed_without_a_scan() -> None:
    """An SA whose retransmit is due before the one armed still gets it on time."""

    async def run() -> list[IkeHeader]:
        peer = _silent_peer()
        slow = psk_config(ME, SILENT, retransmit_base=30.0)
        fast = psk_config(ME, SILENT, retransmit_base=0.3)
        fast.name = "fast"
        svc = IkeService(IkeDaemon([slow, fast]), ME)
        try:
            await svc.start()
        except OSError as exc:
            peer.close()
            pytest.skip(f"cannot bind {ME}:500/4500 ({exc.strerror})")
        try:
            await asyncio.sleep(0.05)  # the timer armed for nothing (no SA yet)
            svc.initiate(slow.name, SILENT)
            await asyncio.sleep(0.05)  # now armed 30 s ahead
            svc.initiate(fast.name, SILENT)
            return await _requests_until(peer, 0.65)
        finally:
            await svc.stop()
            peer.close()

    headers = asyncio.run(run())
    by_spi: dict[bytes, int] = {}
    for h in headers:
        by_spi[h.spi_i] = by_spi.get(h.spi_i, 0) + 1
    # the slow SA's IKE_SA_INIT once; the fast one's, and its retransmit 0.3 s later
    assert sorted(by_spi.values()) == [1, 2], by_spi
