"""The common case of the ESP engine, in runs of frames: IPv4 transport mode, AES-GCM.

Most crypto-port frames are the pipeline's MPLS-in-IP packets: a crypto
header, an untagged Ethernet header and an IPv4 header without options, with
an SA in transport mode, no UDP encapsulation, AES-GCM (RFC 4106).  A port
hands the engine the frames it read in one wakeup, and consecutive frames
mostly belong to one SA, so the engine finds the SA once and lets a *run*
loop take every following frame of the same SA and shape.  Per frame the loop
does what the answer needs and nothing else: one ``unpack_from`` for the
fixed offsets, the sequence number as an int, the nonce and the AAD as one
``int.to_bytes`` each from per-SA prefixes, one AES-GCM call, one ``pack`` of
the answer's headers and one concatenation.  No per-frame objects, calls into
the SA or logging; counters, sequence number and anti-replay window live in
locals and are written back once when the run ends.

A run stops at the first frame that is not of that exact shape (another SA or
op, IPv4 options, a fragment, VLAN tag, a truncated frame) and returns where
it stopped; the engine gives that frame to its general path, which handles
(and refuses, with a reason) everything else.  A run also stops right after
the frame that reaches a count or sequence-number limit, so that lifetimes
fire exactly where ``SaState.account`` would have fired them.  What makes the
answer correct stays here: sequence numbers, anti-replay checked before and
updated only after the ICV (RFC 4303 3.4.3), the ICV, the padding check, and
the IPv4 checksum.

The checksum is updated incrementally (RFC 1624) for the new total length and
protocol, from the one the frame came with: the pipeline computes it for
every IPv4 header of this shape (p4src/include/checksum.p4), and a header
that came with a wrong one leaves with a wrong one, as through a router.  In
one's-complement arithmetic modulo 0xFFFF a valid header's other words sum
to -checksum, so the new checksum is 0xFFFE - (delta - checksum - 1) % 0xFFFF,
which is RFC 1071's ~sum as the general path computes it in full.

Offsets (crypto header 8, Ethernet 14):

    0   crypto header        22  IPv4 header (IHL 5)     42  IP payload / ESP header
    20  ethertype            24  total length            31  protocol   32  checksum
    38  destination address, then (ESP) the SPI at 42: frame[38:46] is the inbound SA key
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

from cryptography.exceptions import InvalidTag

from controller.ipsec.crypto_port import Result
from controller.ipsec.esp.replay import infer_esn
from controller.ipsec.esp.sa import SaState

IP = 22  # first octet of the IPv4 header
ESP = IP + 20  # first octet of the IPv4 payload
PROTO_ESP = 50
_NO_NEXT_HEADER = 59
_ICV = 16
MIN_ESP = 8 + 8 + 4 + _ICV  # ESP header, IV, the shortest aligned trailer, ICV
_PAD = bytes(range(1, 256))  # RFC 4303 section 2.4: default padding 1, 2, 3, ...
# pad length (0..3, 4-octet alignment for GCM) and next header -> padding + trailer
_TRAILERS = [_PAD[:pad] + bytes((pad, nh)) for pad in range(4) for nh in range(256)]
_SHAPE = b"\x08\x00\x45"  # ethertype IPv4, version 4 with IHL 5 (no options)
_LOW = 0xFFFFFFFF
# In: op head (0..4) | 5..23 (ethertype, version/IHL at 15..17) | total length |
#     26..30 (identification, flags/fragment at 2..3, TTL) | protocol | checksum |
#     source | destination; DECRYPT: destination + SPI (the inbound SA key), sequence number
_IN_PLAIN = struct.Struct("!5s19sH5sBH8s")  # ENCRYPT: both addresses in one field
_IN_ESP = struct.Struct("!5s19sH5sBH4s8sI")
# Out: crypto header (4) + result 0 | 5..23 | total | 26..30 | protocol | checksum | src | dst
_OUT_IP = struct.Struct("!4sx19sH5sBH4s4s")
# ENCRYPT also appends the ESP header (SPI, sequence number) and the IV (64-bit sequence number)
_OUT_ESP = struct.Struct("!4sx19sH5sBH8sQQ")

_REPLAYED = "sequence number replayed or left of the window"
Refuse = Callable[[bytes, Result, str], bytes]  # (frame, result, reason) -> the answer to send


def encrypt_run(
    sa: SaState, frames: Sequence[bytes], i: int, end: int, out: list[bytes]
) -> tuple[int, int, int]:
    """Encrypt frames[i:end] while they ask for this SA in the fast shape; append the answers.

    Returns (index of the first frame not taken, frames taken, protected
    octets); the caller accounts them to the SA (``SaState.account``).  The
    caller checked that the SA may encrypt (installed, not retired, not
    expired), that frames[i] asks for it, and chose ``end`` so that no
    lifetime can be reached before the run's last frame (``EspEngine._run``).
    """
    request = frames[i][:5]  # version, op, sa_index, result: the same for the whole run
    encrypt, nonce_hi, aad_hi, aad_len, spi_hi, answer = sa.encrypt_setup
    pack, unpack, trailers = _OUT_ESP.pack, _IN_PLAIN.unpack_from, _TRAILERS
    start = seq = sa.seq
    octets = 0
    for frame in frames[i:end]:
        try:
            op, mid, total, ident, proto, csum, addresses = unpack(frame)
        except struct.error:  # shorter than the headers: the general path refuses it
            break
        if (
            op != request
            or mid[15:18] != _SHAPE
            or ident[2] & 0x3F
            or ident[3]
            or not 20 <= total <= len(frame) - IP
        ):
            break
        seq += 1
        pad = (2 - total) & 3  # to a multiple of 4 with the 2 trailer octets (RFC 4106 3)
        sealed = encrypt(
            (nonce_hi | seq).to_bytes(12, "big"),
            frame[ESP : IP + total] + trailers[pad << 8 | proto],
            (aad_hi | seq).to_bytes(aad_len, "big"),
        )
        new_total = total + 34 + pad  # + ESP header 8, IV 8, pad, trailer 2, ICV 16
        csum = 0xFFFE - (new_total - total + PROTO_ESP - proto - csum - 1) % 0xFFFF  # RFC 1624
        head = pack(answer, mid, new_total, ident, PROTO_ESP, csum, addresses,
                    spi_hi | seq & _LOW, seq)  # fmt: skip
        out.append(head + sealed)
        octets += total
    sa.seq = seq
    taken = seq - start
    return i + taken, taken, octets - 20 * taken


def decrypt_run(
    sa: SaState, frames: Sequence[bytes], i: int, end: int, out: list[bytes], refuse: Refuse
) -> tuple[int, int, int]:
    """Decrypt frames[i:end] while they are ESP for this SA in the fast shape; append answers.

    Returns (index of the first frame not taken, packets accepted, octets
    restored), as encrypt_run.  Replays, forgeries and bad padding are
    answered with ``refuse`` and the run goes on.  The caller found ``sa``
    by frames[i][38:46], checked that it is not expired and chose ``end``.
    """
    key = frames[i][38:46]
    answer = frames[i][:2] + sa.index_bytes
    decrypt, salt, esn = sa.gcm_decrypt, sa.salt, sa.esn
    replay = sa.replay
    assert replay is not None
    # The window as locals: bit k of bitmap set = sequence number top - k was received.
    top, bitmap, size, mask = replay.top, replay.bitmap, replay.size, replay.mask
    pack, unpack = _OUT_IP.pack, _IN_ESP.unpack_from
    first = len(out)
    refused = octets = 0
    for frame in frames[i:end]:
        try:
            op, mid, total, ident, proto, csum, src, dst, seq = unpack(frame)
        except struct.error:
            break
        if (
            op[1] != 2
            or op[0] != 1
            or dst != key
            or proto != PROTO_ESP
            or mid[15:18] != _SHAPE
            or ident[2] & 0x3F
            or ident[3]
            or not 20 + MIN_ESP <= total <= len(frame) - IP
        ):
            break
        if esn:
            seq = infer_esn(top, size, seq) or 0
            aad = frame[42:46] + seq.to_bytes(8, "big")
        else:
            aad = frame[42:50]
        if not seq or (seq <= top and size and (top - seq >= size or bitmap >> (top - seq) & 1)):
            out.append(refuse(frame, Result.REPLAY, _REPLAYED))
            refused += 1
            continue
        try:
            plain = decrypt(salt + frame[50:58], frame[58 : IP + total], aad)
        except InvalidTag:
            out.append(refuse(frame, Result.AUTH_FAILED, "ICV check failed"))
            refused += 1
            continue
        if seq > top:  # only authenticated packets move the window
            bitmap = ((bitmap << (seq - top)) | 1) & mask if seq - top < size else 1
            top = seq
        elif size:
            bitmap |= 1 << (top - seq)
        pad = plain[-2]
        stop = len(plain) - 2 - pad
        if stop < 0 or (pad and plain[stop:-2] != _PAD[:pad]):
            out.append(refuse(frame, Result.MALFORMED, f"bad ESP padding (pad length {pad})"))
            refused += 1
            continue
        next_header = plain[-1]
        if next_header == _NO_NEXT_HEADER:  # RFC 4303 2.6: a TFC dummy packet, to be dropped
            out.append(refuse(frame, Result.MALFORMED, "dummy packet (next header 59) discarded"))
            refused += 1
            continue
        csum = 0xFFFE - (20 + stop - total + next_header - proto - csum - 1) % 0xFFFF
        # dst is 8 octets (address and SPI): "4s" packs the address only
        head = pack(answer, mid, 20 + stop, ident, next_header, csum, src, dst)
        out.append(head + plain[:stop])
        octets += stop
    replay.top, replay.bitmap = top, bitmap
    taken = len(out) - first
    return i + taken, taken - refused, octets
