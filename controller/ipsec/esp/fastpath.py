"""The common case of the ESP engine, without per-frame objects: IPv4 transport mode, AES-GCM.

Most crypto-port frames are the pipeline's MPLS-in-IP packets: a crypto
header, an untagged Ethernet header and an IPv4 header without options, with
an SA in transport mode, no UDP encapsulation, AES-GCM (RFC 4106).  For those
the fixed offsets are known, so the frame is read by index and the answer is
assembled in one join, instead of building an :class:`~.packet.IpView` and
re-summing the IPv4 header.

Both functions return None when a frame is not of that exact shape; the
engine then takes its general path, which handles (and refuses, with a reason)
everything else.  What makes the answer correct stays here: sequence numbers
(via the SA), anti-replay checked before and updated only after the ICV, the
ICV itself, the padding check, and a fresh IPv4 checksum.

Offsets (crypto header 8, Ethernet 14):

    0   crypto header        22  IPv4 header (IHL 5)     42  IP payload / ESP header
    20  ethertype            24  total length            31  protocol   32  checksum
    38  destination address, then (ESP) the SPI at 42: frame[38:46] is the inbound SA key
"""

from __future__ import annotations

import struct

from cryptography.exceptions import InvalidTag

from controller.ipsec.crypto_port import Result
from controller.ipsec.esp.sa import Reject, SaState

IP = 22  # first octet of the IPv4 header
ESP = IP + 20  # first octet of the IPv4 payload
PROTO_ESP = 50
_NO_NEXT_HEADER = 59
_ICV = 16
MIN_ESP = 8 + 8 + 4 + _ICV  # ESP header, IV, the shortest aligned trailer, ICV
_PAD = bytes(range(1, 256))  # RFC 4303 section 2.4: default padding 1, 2, 3, ...
# pad length (0..3, 4-octet alignment for GCM) and next header -> padding + trailer
_TRAILERS = [_PAD[:pad] + bytes((pad, nh)) for pad in range(4) for nh in range(256)]
_SEQ = struct.Struct("!IQ")  # ESP sequence number (low 32 bits), then the GCM IV (all 64)
# version, op | sa_index | result 0 (pad) | ... | total length | ... | protocol, checksum | ...
_HEAD = struct.Struct("!2s2sx19sH5sBH8s")


def plain_ipv4(frame: bytes) -> bool:
    """Untagged IPv4 without options or fragmentation, whole within the frame."""
    return (
        len(frame) >= ESP
        and frame[20] == 8
        and frame[21] == 0
        and frame[22] == 0x45
        and not frame[28] & 0x3F
        and not frame[29]
        and 20 <= (frame[24] << 8 | frame[25]) <= len(frame) - IP
    )


def ipv4_checksum(frame: bytes, total: int, proto: int) -> int:
    """RFC 1071 checksum of frame's IPv4 header with total length and protocol replaced.

    The one's-complement sum of 16-bit words is the header, read as one
    integer, modulo 0xFFFF (2**16 = 1 mod 0xFFFF); the old checksum, length
    and protocol are taken out and the new ones put in.
    """
    old = (frame[32] << 8 | frame[33]) + (frame[24] << 8 | frame[25]) + frame[31]
    s = int.from_bytes(frame[IP:ESP], "big") - old + total + proto
    return 0xFFFE - (s - 1) % 0xFFFF


def encrypt(sa: SaState, frame: bytes) -> bytes:
    """ESP transport-mode answer for a frame plain_ipv4() accepted; the SA counts it."""
    end = IP + ((frame[24] << 8) | frame[25])
    size = end - ESP
    pad = -(size + 2) % 4
    seq = sa.seq + 1
    sa.seq = seq
    head = _SEQ.pack(seq & 0xFFFFFFFF, seq)  # seq (4) | IV = 64-bit seq (8)
    iv = head[4:]
    spi = sa.spi_bytes
    sealed = sa.gcm_encrypt(
        sa.salt + iv,
        frame[ESP:end] + _TRAILERS[pad << 8 | frame[31]],
        spi + iv if sa.esn else spi + head[:4],
    )
    total = 20 + 16 + size + pad + 2 + _ICV
    return b"".join((_answer_head(sa, frame, total, PROTO_ESP), spi, head, sealed))


def decrypt(sa: SaState, frame: bytes) -> bytes:
    """The restored frame for an ESP frame plain_ipv4() accepted; Reject says why not.

    The caller found ``sa`` by frame[38:46], checked its lifetimes and that the
    ESP packet is at least MIN_ESP octets long.  The reasons are the ones
    SaState.decrypt gives.
    """
    end = IP + ((frame[24] << 8) | frame[25])
    replay = sa.replay
    assert replay is not None
    seq = replay.infer((frame[46] << 24) | (frame[47] << 16) | (frame[48] << 8) | frame[49])
    if seq is None or not replay.check(seq):
        raise Reject(Result.REPLAY, "sequence number replayed or left of the window")
    aad = frame[42:46] + seq.to_bytes(8, "big") if sa.esn else frame[42:50]
    try:
        plain = sa.gcm_decrypt(sa.salt + frame[50:58], frame[58:end], aad)
    except InvalidTag:
        raise Reject(Result.AUTH_FAILED, "ICV check failed") from None
    replay.update(seq)  # only authenticated packets move the window
    pad = plain[-2]
    stop = len(plain) - 2 - pad
    if stop < 0 or plain[stop:-2] != _PAD[:pad]:
        raise Reject(Result.MALFORMED, f"bad ESP padding (pad length {pad})")
    next_header = plain[-1]
    if next_header == _NO_NEXT_HEADER:  # RFC 4303 2.6: a TFC dummy packet, to be dropped
        raise Reject(Result.MALFORMED, "dummy packet (next header 59) discarded")
    return _answer_head(sa, frame, 20 + stop, next_header) + plain[:stop]


def _answer_head(sa: SaState, frame: bytes, total: int, proto: int) -> bytes:
    """Crypto header (this SA, result OK), Ethernet, and the IPv4 header with new length/proto."""
    return _HEAD.pack(
        frame[:2],
        sa.index_bytes,
        frame[5:24],
        total,
        frame[26:31],
        proto,
        ipv4_checksum(frame, total, proto),
        frame[34:ESP],
    )
