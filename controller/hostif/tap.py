"""A Linux TAP device (``/dev/net/tun``, IFF_TAP | IFF_NO_PI): whole Ethernet frames.

Frames the kernel sends on the TAP are read here and become packet-outs; frames
the switch punts are written here and the kernel receives them as if from the
wire. Needs CAP_NET_ADMIN in the daemon's network namespace.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import struct
import subprocess

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
IFNAMSIZ = 16


class TapError(OSError):
    """A TAP could not be created or configured (one line naming the interface)."""


def _ip(*args: str) -> None:
    proc = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if proc.returncode != 0:
        raise TapError(f"`ip {' '.join(args)}` failed: {proc.stderr.strip()}")


class Tap:
    def __init__(self, name: str, mac: str, mtu: int = 1500) -> None:
        if not 0 < len(name.encode()) < IFNAMSIZ:
            raise TapError(f"TAP name {name!r} must be 1-15 bytes")
        self.name, self.mac, self.mtu = name, mac, mtu
        try:
            self.fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        except OSError as exc:
            raise TapError(f"TAP {name}: cannot open /dev/net/tun: {exc.strerror}") from None
        try:
            ifr = struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI)
            fcntl.ioctl(self.fd, TUNSETIFF, ifr)
            _ip("link", "set", "dev", name, "address", mac, "mtu", str(mtu), "up")
        except OSError as exc:
            os.close(self.fd)
            raise TapError(f"TAP {name}: {exc.strerror or exc}") from None

    def read(self) -> bytes | None:
        """One frame, or None when nothing is waiting."""
        try:
            return os.read(self.fd, 65536)
        except BlockingIOError:
            return None

    def write(self, frame: bytes) -> None:
        # A full kernel queue (or a TAP set down) drops the frame, as a wire would.
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self.fd, frame)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
