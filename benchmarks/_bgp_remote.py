"""The far side of a C-PE's BGP session for benchmarks: a remote C-PE and a route reflector.

Both are sans-I/O speaker cores pumped in this process (``tests/controller/bgp/
bgp_pump.py``); the RR's session to the C-PE under test runs over a real TCP
connection on loopback, to the C-PE's own ``BgpSpeaker``. The RR's side of that
socket is a blocking socket driven from executor threads, so sending a burst
does not wait for the C-PE's event loop (nor hold it).
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "controller" / "bgp"))

from bgp_pump import RR, A, B, Net, cpe_config, ip, rr_config, start_all  # noqa: E402

from controller.bgp import session as s  # noqa: E402
from controller.bgp.config import SpeakerConfig  # noqa: E402
from controller.bgp.core import SpeakerCore  # noqa: E402

CONN = 1  # the RR's id for its connection to the C-PE under test
READ = 65536  # what the RR reads of A's stream at a time, as a daemon would


def cpe_bgp_config(rr_port: int) -> SpeakerConfig:
    """The C-PE under test (B of the trio): its session to the RR goes to ``rr_port``."""
    cfg = cpe_config("10.255.0.2", "10.255.0.2", "198.51.100.2", [RR])
    # hold time 0: no keepalives, the RR's clock stands still (sans-I/O, never polled)
    rr = dataclasses.replace(cfg.neighbors[0], port=rr_port, hold_time=0)
    return dataclasses.replace(cfg, neighbors=(rr,))


class Remote:
    """A (announces the routes) and the RR, whose client B is on the other end of a socket."""

    def __init__(self) -> None:
        self.net = Net()
        self.rr = self.net.add(RR, SpeakerCore(rr_config(RR, [A, B])))
        self.a = self.net.add(A, SpeakerCore(cpe_config("10.255.0.1", "10.255.0.1",
                                                        "198.51.100.1", [RR])))  # fmt: skip
        start_all(self.net)  # A and the RR up; the RR waits for B (passive)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.sock: socket.socket | None = None

    async def accept(self) -> None:
        loop = asyncio.get_running_loop()
        self.sock, _ = await loop.run_in_executor(None, self.listener.accept)
        self.sock.settimeout(0.05)
        self.rr.connection_made(ip(B), CONN, False, self.net.now, ip(RR))

    async def exchange(self, quiet: float = 0.3) -> None:
        """Carry the session until it is established and nothing came for ``quiet`` seconds."""
        assert self.sock is not None
        loop = asyncio.get_running_loop()
        idle = 0.0
        while idle < quiet or not self.established():
            for data in self._to_b():
                await loop.run_in_executor(None, self.sock.sendall, data)
            try:
                data = await loop.run_in_executor(None, self.sock.recv, READ)
            except TimeoutError:
                idle += 0.05
                continue
            if not data:
                raise SystemExit("the C-PE closed its BGP session")
            idle = 0.0
            self.rr.data_received(ip(B), CONN, data, self.net.now)

    def established(self) -> bool:
        return str(self.rr.sessions[ip(B)].state) == "Established"

    def burst(self, n: int, shape: str) -> bytes:
        """A announces N /24s in VRF blue; what the RR sends B for them (not sent yet)."""
        base = int(ipaddress.IPv4Address("172.16.0.0"))
        for i in range(n):
            self.a.add_vrf_route("blue", ipaddress.ip_network((base + 256 * i, 24)), self.net.now)
        updates = [op.data for peer, op in self.a.transport_ops() if isinstance(op, s.Write)]
        conn = next(c for (node, c), (peer, _) in self.net.links.items()
                    if node == ip(A) and peer == ip(RR))  # fmt: skip
        a_conn = self.net.links[(ip(A), conn)][1]  # the RR's id for its connection to A
        if shape == "packed":  # the RR reads A's stream as a daemon does, 64 KiB at a time
            stream = b"".join(updates)
            pieces = [stream[i : i + READ] for i in range(0, len(stream), READ)]
        else:  # each UPDATE handled on its own: the RR reflects each one as it comes
            pieces = updates
        for data in pieces:
            self.rr.data_received(ip(A), a_conn, data, self.net.now)
        return b"".join(self._to_b())

    async def send(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.settimeout(None)
        await asyncio.get_running_loop().run_in_executor(None, self.sock.sendall, data)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.listener.close()

    def _to_b(self) -> list[bytes]:
        """The RR's writes to B; the other transport operations (with A) go through the net."""
        out: list[bytes] = []
        busy = True
        while busy:
            busy = False
            for peer, op in self.rr.transport_ops():
                busy = True
                if peer != ip(B):
                    self.net._do(ip(RR), peer, op)
                elif isinstance(op, s.Write) and op.conn == CONN:
                    out.append(op.data)
            for peer, op in self.a.transport_ops():
                busy = True
                self.net._do(ip(A), peer, op)
        return out


def frames(data: bytes) -> list[int]:
    """Offsets of the BGP messages in a stream."""
    out, i = [], 0
    while i < len(data):
        out.append(i)
        i += int.from_bytes(data[i + 16 : i + 18], "big")
    return out


def updates_in(data: bytes) -> int:
    return sum(1 for i in frames(data) if data[i + 18] == 2)
