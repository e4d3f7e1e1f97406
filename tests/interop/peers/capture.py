"""tshark on a lab's veth: capture a session, then cut the TCP payloads into BGP messages."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from controller.bgp.wire import FrameReader
from controller.bgp.wire.context import CodecContext

from .daemon import wait_until
from .netns import Netns


class Capture:
    """``tshark -i <veth> -w file`` inside a namespace, stopped by PID."""

    def __init__(self, ns: Netns, interface: str, path: Path) -> None:
        self.path = path
        self.proc = ns.popen(
            ["tshark", "-q", "-i", interface, "-w", str(path), "-f", "tcp port 179"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # The capture runs once dumpcap has written the pcapng section header.
        wait_until(f"tshark on {interface}", self._started, timeout=15)

    def _started(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"tshark exited with {self.proc.returncode}")
        return self.path.exists() and self.path.stat().st_size > 0

    def stop(self) -> None:
        time.sleep(0.5)  # let the last segments reach the ring buffer
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


def bgp_messages(pcap: Path, src: str, dst: str, ctx: CodecContext) -> list[bytes]:
    """Every BGP message ``src`` sent to ``dst`` in the capture, as whole frames in order."""
    out = subprocess.run(
        [
            "tshark",
            "-r",
            str(pcap),
            "-o",
            "tcp.desegment_tcp_streams:FALSE",
            "-Y",
            f"ip.src=={src} && ip.dst=={dst} && tcp.len>0",
            "-T",
            "fields",
            "-e",
            "tcp.payload",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    reader = FrameReader(CodecContext(four_octet_as=ctx.four_octet_as, extended_message=True))
    frames: list[bytes] = []
    for line in out.split():
        reader.feed(bytes.fromhex(line.replace(":", "")))
        while (frame := reader.next_frame()) is not None:
            frames.append(frame)
    return frames
