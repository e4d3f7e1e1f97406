"""Black-link captures: record with tcpdump, classify with tshark, search bytes ourselves.

The draft's promise on the black side (section 7) is checked two ways:
tshark names every frame's protocols, and only ESP (bare or in UDP 4500),
IKE (ISAKMP on UDP 500/4500), NAT-keepalives (RFC 3948), ARP and IPv6
neighbour discovery may appear; and
every captured frame is searched byte-wise for the payloads the tenants sent,
which must never appear in cleartext. The pcap reader is ours (a few lines of
libpcap's file format) so the byte search does not depend on a dissector.
"""

from __future__ import annotations

import signal
import struct
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from controller.lab.netns import Netns

# ICMPv6 types of neighbour discovery (RFC 4861 section 4): RS, RA, NS, NA, Redirect.
ND_TYPES = {"133", "134", "135", "136", "137"}
FIELDS = ("frame.number", "frame.protocols", "icmpv6.type", "udp.length",
          "ip.src", "ip.dst", "tcp.dstport", "udp.dstport")  # fmt: skip


class CaptureError(RuntimeError):
    """A capture could not be started or read (one line)."""


def read_pcap(path: Path) -> list[bytes]:
    """Frames of a classic pcap file (either byte order, micro- or nanosecond stamps)."""
    data = path.read_bytes()
    if len(data) < 24:
        raise CaptureError(f"{path}: {len(data)} octets is shorter than a pcap header")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise CaptureError(f"{path}: not a pcap file (magic {magic.hex()})")
    rec = struct.Struct(endian + "IIII")
    frames, off = [], 24
    while off + rec.size <= len(data):
        _, _, incl, _ = rec.unpack_from(data, off)
        off += rec.size
        if off + incl > len(data):
            break  # a record cut short by the capture stopping
        frames.append(data[off : off + incl])
        off += incl
    return frames


@dataclass
class Verdict:
    """What one black-link capture showed."""

    link: str
    frames: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    forbidden: list[str] = field(default_factory=list)  # "frame N: protocols"
    flows: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (kind, src, dst)
    cleartext: list[int] = field(default_factory=list)  # frame numbers holding a payload

    @property
    def ok(self) -> bool:
        return self.frames > 0 and not self.forbidden and not self.cleartext


def classify(protocols: str, icmpv6_type: str, udp_length: str = "") -> str | None:
    """The allowed kind of a frame from tshark's frame.protocols, or None if forbidden."""
    layers = protocols.split(":")
    if "esp" in layers:
        return "ESP-in-UDP" if "udp" in layers else "ESP"
    if "isakmp" in layers:
        return "IKE"
    if layers[-1] == "udpencap" and udp_length == "9":  # RFC 3948 2.2: one 0xFF octet
        return "NAT-keepalive"
    if "arp" in layers:
        return "ARP"
    if "icmpv6" in layers and icmpv6_type in ND_TYPES:
        return "ND"
    return None


class BlackCapture:
    """tcpdump on one interface of a namespace, for the duration of a ``with`` block."""

    def __init__(self, ns: str, ifname: str, path: Path) -> None:
        self.ns, self.ifname, self.path = ns, ifname, path
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BlackCapture:
        from controller.lab.userns import inside

        if inside():
            # tcpdump as root always switches to its own user (setgroups/setuid), which a
            # private user namespace does not map; dumpcap (Wireshark) stays who it is.
            tool, ready = "dumpcap", "Capturing on"
            args = ["dumpcap", "-q", "-P", "-i", self.ifname, "-w", str(self.path)]
            package = "wireshark-common"
        else:
            tool, ready, package = "tcpdump", "listening", "tcpdump"
            args = ["tcpdump", "-i", self.ifname, "-U", "-n", "-s", "0", "-w", str(self.path)]
        argv = Netns(self.ns).exec_argv(args)
        try:
            self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise CaptureError(f"{tool} is not installed (apt-get install {package})") from None
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline().decode(errors="replace")  # "listening on ..."
        if ready not in line:
            self.proc.kill()
            raise CaptureError(f"{tool} on {self.ns}/{self.ifname}: {line.strip()}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            time.sleep(0.2)  # let the last frames reach the file
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def verdict(self, payloads: list[bytes]) -> Verdict:
        v = Verdict(f"{self.ns}/{self.ifname}")
        frames = read_pcap(self.path)
        v.frames = len(frames)
        for index, frame in enumerate(frames, start=1):
            if any(p in frame for p in payloads):
                v.cleartext.append(index)
        try:
            out = subprocess.run(
                ["tshark", "-r", str(self.path), "-T", "fields",
                 *(x for f in FIELDS for x in ("-e", f))],
                capture_output=True, text=True, timeout=60,
            ).stdout  # fmt: skip
        except FileNotFoundError:
            raise CaptureError("tshark is not installed (apt-get install tshark)") from None
        for line in out.splitlines():
            cols = [*line.split("\t"), *[""] * 8][:8]
            number, protocols, icmp6, udp_len, src, dst, tport, uport = cols
            kind = classify(protocols, icmp6, udp_len)
            if kind is None:
                where = f" {src} -> {dst}" if src else ""
                port = f" tcp/{tport}" if tport else (f" udp/{uport}" if uport else "")
                v.forbidden.append(f"frame {number}: {protocols}{where}{port}")
            else:
                v.kinds[kind] += 1
                v.flows[(kind, src, dst)] += 1
        return v
