"""The ESP engine as its own process: the crypto port on a veth, control on a Unix socket.

    python -m controller.ipsec.esp.process --interface sl3c-eng --socket RUN/cpe1-engine.sock

The daemon starts this as a child (like p4sim) and drives it with
:class:`controller.ipsec.esp.client.EngineClient`. Because the SAs live here,
the daemon can restart while tunnel traffic keeps flowing: the next daemon
connects to the same socket, lists the SAs it inherits and replaces them
through IKE. Keys exist only in this process's memory: core dumps are off, the
socket is created mode 0600, and nothing is written to disk but the log (which
never shows key bytes).

Threads: the AF_PACKET crypto port, one per control connection, and a ticker
that fires time lifetimes once a second; the engine's lock serialises them.
SIGTERM or SIGINT stops the process (exit 0).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import resource
import signal
import socket
import sys
import threading
from pathlib import Path

from controller.ipsec.esp.engine import EspEngine
from controller.ipsec.esp.ports import AfPacketCryptoPort, LockedEngine
from controller.ipsec.esp.rpc import HEADER, RpcError, read_header, recv_exact
from controller.ipsec.esp.service import EngineService

log = logging.getLogger("sl3vpn.engine")
TICK_SECONDS = 1.0


def serve_connection(conn: socket.socket, service: EngineService) -> None:
    """Answer requests until the peer closes; a frame we cannot even delimit ends it."""
    with conn:
        while True:
            try:
                header = recv_exact(conn, HEADER.size)
                if header is None:
                    return
                _, length = read_header(header)
                body = recv_exact(conn, length)
                if body is None:
                    return
                conn.sendall(service.handle_frame(header + body))
            except RpcError as exc:  # no way to find the next frame: say why and hang up
                log.warning("engine control connection closed: %s", exc)
                return
            except OSError:
                return


def accept_loop(listener: socket.socket, service: EngineService) -> None:
    """Serve each control connection on a thread of its own until the listener closes."""
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=serve_connection, args=(conn, service), daemon=True).start()


class EngineProcess:
    def __init__(self, interface: str, socket_path: Path) -> None:
        self.engine = LockedEngine(EspEngine())
        self.service = EngineService(self.engine, interface)
        self.port = AfPacketCryptoPort(interface, self.engine)
        self.socket_path = socket_path
        self.listener = listen(socket_path)
        self.stopping = threading.Event()

    def run(self) -> None:
        self.port.start()
        threading.Thread(target=self._ticker, name="engine-tick", daemon=True).start()
        log.info(
            "ESP engine on %s (%s), control socket %s",
            self.port.ifname,
            "PACKET_MMAP rings" if self.port.rings is not None else "recv/send a frame",
            self.socket_path,
        )
        accept_loop(self.listener, self.service)
        self.close()

    def _ticker(self) -> None:
        while not self.stopping.wait(TICK_SECONDS):
            self.engine.tick()
            drops = self.port.new_drops()
            if drops:  # never a silent loss: a stalled engine thread overflowed its socket
                log.warning(
                    "crypto port %s: %d frames dropped by the kernel (receive buffer full; "
                    "%d in all)",
                    self.port.ifname,
                    drops,
                    self.port.kernel_drops,
                )

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()

    def close(self) -> None:
        self.port.close()
        with contextlib.suppress(OSError):
            self.socket_path.unlink()
        log.info("ESP engine stopped")


def listen(path: Path) -> socket.socket:
    """A Unix stream socket at ``path``, mode 0600 from the start (no window for others)."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a stale socket of a dead engine (the daemon checked nobody answers)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(4)
    return sock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m controller.ipsec.esp.process")
    parser.add_argument("--interface", required=True, help="the crypto port's veth end")
    parser.add_argument("--socket", required=True, type=Path, help="control socket path")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # keys never reach a core file
    try:
        proc = EngineProcess(args.interface, args.socket)
    except OSError as exc:
        print(f"ESP engine: {exc}", file=sys.stderr)
        return 2
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: proc.stop())
    proc.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
