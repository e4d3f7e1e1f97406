"""``--pcap DIR``: one capture per port and direction, as BMv2 writes them.

Files are ``DIR/<port>_in.pcap`` and ``DIR/<port>_out.pcap`` in the classic
libpcap format (LINKTYPE_ETHERNET), so Wireshark and tshark open them as is.

    global header: magic a1b2c3d4 | v2.4 | thiszone 0 | sigfigs 0 | snaplen | linktype 1
    record:        ts_sec | ts_usec | incl_len | orig_len | frame bytes
"""

from __future__ import annotations

import struct
import threading
import time
from pathlib import Path
from typing import BinaryIO

SNAPLEN = 65535
LINKTYPE_ETHERNET = 1


class PcapRecorder:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._files: dict[tuple[int, str], BinaryIO] = {}
        self._lock = threading.Lock()

    def _file(self, port: int, direction: str) -> BinaryIO:
        key = (port, direction)
        f = self._files.get(key)
        if f is None:
            f = open(self.directory / f"{port}_{direction}.pcap", "wb")  # noqa: SIM115
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
            self._files[key] = f
        return f

    def record(self, port: int, direction: str, frame: bytes) -> None:
        now = time.time()
        sec = int(now)
        data = frame[:SNAPLEN]
        with self._lock:
            f = self._file(port, direction)
            f.write(struct.pack("<IIII", sec, int((now - sec) * 1e6), len(data), len(frame)))
            f.write(data)
            f.flush()

    def close(self) -> None:
        with self._lock:
            for f in self._files.values():
                f.close()
            self._files.clear()
