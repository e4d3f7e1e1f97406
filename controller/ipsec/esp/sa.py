"""Run-time state of one ESP SA: sequence numbers, anti-replay, counters, lifetimes.

Packet format handled here (RFC 4303 section 2, Figure 1):

     0                   1                   2                   3
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |               Security Parameters Index (SPI)                 |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                      Sequence Number                          |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                    IV + Payload Data (variable)               |
    +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |               |     Padding (0-255 bytes)                     |
    +-+-+-+-+-+-+-+-+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |                               |  Pad Length   | Next Header   |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    |         Integrity Check Value (variable)                      |
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Sequence numbers never wrap (RFC 4303 section 3.3.3): the SA soft-expires
when 15/16 of the number space is used, so IKE can rekey, and hard-expires
right after the last number has been sent.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

from controller.ipsec.crypto_port import VERSION, Op, Result
from controller.ipsec.esp.replay import ReplayWindow
from controller.ipsec.esp.transforms import AuthError, GcmTransform, LengthError, make_transform
from controller.ipsec.installer import (
    Direction,
    ExpiryEvent,
    ExpiryKind,
    ExpiryReason,
    Lifetime,
    Mode,
    SaCounters,
    SaParams,
)

_ESP = struct.Struct("!II")
_PAD = bytes(range(1, 256))  # RFC 4303 section 2.4: default padding 1, 2, 3, ...
_INF = float("inf")
_NEVER = 1 << 80  # an int past any count or sequence number: "no limit" for a run


_Aead = Callable[[bytes, bytes, bytes], bytes]  # (nonce, data, associated data) -> output


def _not_gcm(nonce: bytes, data: bytes, aad: bytes) -> bytes:
    raise TypeError("not an AES-GCM SA: the fast path must not serve it")


class Reject(Exception):
    """A packet refused by an SA: the crypto-port result code and a one-line reason."""

    def __init__(self, result: Result, reason: str) -> None:
        super().__init__(reason)
        self.result = result


class _Limits:
    __slots__ = ("bytes", "packets", "seconds")

    def __init__(self, lifetime: Lifetime) -> None:
        self.packets = lifetime.packets or _INF
        self.bytes = lifetime.bytes or _INF
        self.seconds = lifetime.seconds or _INF


class SaState:
    __slots__ = (
        "aad_hi",
        "aad_len",
        "added",
        "counters",
        "encrypt_setup",
        "esn",
        "fast",
        "gcm_decrypt",
        "gcm_encrypt",
        "hard",
        "hard_reason",
        "index_bytes",
        "max_seq",
        "next_check",
        "nonce_hi",
        "params",
        "replay",
        "retired",
        "salt",
        "seq",
        "soft",
        "soft_fired",
        "soft_seq",
        "spi_bytes",
        "spi_hi",
        "timed",
        "transform",
        "tunnel",
    )

    def __init__(self, params: SaParams, now: float) -> None:
        self.params = params
        self.index_bytes = params.sa_index.to_bytes(2, "big")
        self.tunnel = params.mode is Mode.TUNNEL
        self.transform = make_transform(params.suite, params.keys)
        self.esn = params.esn
        self.spi_bytes = params.spi.to_bytes(4, "big")
        self.salt = params.keys.salt
        # Prefixes the fast path ORs the sequence number into (RFC 4106 sections 4 and 5):
        # nonce = salt | 64-bit IV (the sequence number), AAD = SPI | 32- or 64-bit sequence
        # number, ESP header = SPI | low 32 bits.
        self.nonce_hi = int.from_bytes(self.salt, "big") << 64
        self.aad_hi = params.spi << (64 if params.esn else 32)
        self.aad_len = 12 if params.esn else 8
        self.spi_hi = params.spi << 32
        self.gcm_encrypt: _Aead = _not_gcm
        self.gcm_decrypt: _Aead = _not_gcm
        if isinstance(self.transform, GcmTransform):  # bound once: the fast path calls them
            self.gcm_encrypt = self.transform.aead.encrypt
            self.gcm_decrypt = self.transform.aead.decrypt
        self.fast = False
        self.refresh_path()
        # What fastpath.encrypt_run reads, in one attribute: AEAD, nonce, AAD and ESP header
        # prefixes, and the answer's first octets (version, op ENCRYPT, this sa_index).
        self.encrypt_setup = (
            self.gcm_encrypt, self.nonce_hi, self.aad_hi, self.aad_len, self.spi_hi,
            bytes((VERSION, Op.ENCRYPT)) + self.index_bytes,
        )  # fmt: skip
        self.seq = 0  # last sequence number sent
        self.max_seq = (1 << 64) - 1 if params.esn else (1 << 32) - 1
        self.soft_seq = self.max_seq - (self.max_seq >> 4)
        inbound = params.direction is Direction.INBOUND
        self.replay = ReplayWindow(params.replay_window, params.esn) if inbound else None
        self.counters = SaCounters()
        self.added = now
        self.soft_fired = False
        self.retired = False  # replaced by switch_outbound(); never encrypts again
        self.hard_reason: ExpiryReason | None = None
        self.set_lifetimes(params.soft, params.hard)

    def refresh_path(self) -> None:
        """Whether the IPv4 fast path (esp/fastpath.py) may serve this SA's packets."""
        self.fast = (
            self.gcm_encrypt is not _not_gcm and not self.tunnel and self.params.udp_encap is None
        )

    def set_lifetimes(self, soft: Lifetime, hard: Lifetime) -> None:
        self.soft = _Limits(soft)
        self.hard = _Limits(hard)
        self.timed = soft.seconds is not None or hard.seconds is not None
        self._plan_next_check()

    def _plan_next_check(self) -> None:
        """(packets, bytes, seq) below which no count or sequence limit can be due.

        Keeps the per-packet cost of lifetimes to three comparisons; the full
        check runs only when one of these is crossed (or for time limits).
        """
        pending = [self.hard] if self.hard_reason is None else []
        if not self.soft_fired:
            pending.append(self.soft)
        if not pending:
            self.next_check = (_NEVER, _NEVER, _NEVER)
            return
        packets = min(limit.packets for limit in pending)
        octets = min(limit.bytes for limit in pending)
        # as ints (no limit: _NEVER), so that runs of the fast path compute with them as they are
        self.next_check = (
            _NEVER if packets == _INF else int(packets),
            _NEVER if octets == _INF else int(octets),
            self.soft_seq if not self.soft_fired else self.max_seq,
        )

    def count_error(self, result: Result) -> None:
        errors = self.counters.errors
        errors[result.name] = errors.get(result.name, 0) + 1

    def refuse_if_expired(self) -> None:
        if self.hard_reason is ExpiryReason.SEQUENCE:
            raise Reject(Result.SEQ_EXHAUSTED, "sequence numbers exhausted")
        if self.hard_reason is not None:
            raise Reject(Result.SA_EXPIRED, f"hard lifetime ({self.hard_reason.value}) reached")

    # --- per-packet transforms ---------------------------------------------------------

    def encrypt(self, next_header: int, payload: bytes) -> bytes:
        """ESP header + sealed payload/trailer for one outbound packet."""
        seq = self.seq + 1
        self.seq = seq
        header = _ESP.pack(self.params.spi, seq & 0xFFFFFFFF)
        transform = self.transform
        pad = -(len(payload) + 2) % transform.block
        plaintext = payload + _PAD[:pad] + bytes((pad, next_header))
        return header + transform.seal(header, seq, self.esn, plaintext)

    def decrypt(self, esp: bytes) -> tuple[int, bytes]:
        """(next header, payload) of one inbound ESP packet (header included in esp)."""
        replay = self.replay
        assert replay is not None
        seq = replay.infer(_ESP.unpack_from(esp)[1])
        if seq is None or not replay.check(seq):
            raise Reject(Result.REPLAY, "sequence number replayed or left of the window")
        try:
            plaintext = self.transform.open(esp[:8], seq, self.esn, esp[8:])
        except AuthError:
            raise Reject(Result.AUTH_FAILED, "ICV check failed") from None
        except LengthError as exc:
            raise Reject(Result.MALFORMED, str(exc)) from None
        replay.update(seq)  # only authenticated packets move the window
        pad = plaintext[-2]
        end = len(plaintext) - 2 - pad
        if end < 0 or plaintext[end:-2] != _PAD[:pad]:
            raise Reject(Result.MALFORMED, f"bad ESP padding (pad length {pad})")
        return plaintext[-1], plaintext[:end]

    # --- lifetimes -----------------------------------------------------------------------

    def account(self, octets: int, now: float, packets: int = 1) -> Sequence[ExpiryEvent]:
        """Count processed packets; return the expiry events they trigger."""
        counters = self.counters
        counters.packets += packets
        counters.bytes += octets
        packets_limit, octets_limit, seq = self.next_check
        if (
            counters.packets >= packets_limit
            or counters.bytes >= octets_limit
            or self.seq >= seq
            or self.timed
        ):
            return self.check_limits(now)
        return ()

    def check_limits(self, now: float) -> list[ExpiryEvent]:
        events: list[ExpiryEvent] = []
        if self.hard_reason is None:
            reason = self._reached(self.hard, now, self.seq >= self.max_seq)
            if reason is not None:
                self.hard_reason = reason
                self.soft_fired = True  # a hard expiry supersedes a pending soft one
                events.append(self._event(ExpiryKind.HARD, reason))
        if not self.soft_fired:
            reason = self._reached(self.soft, now, self.seq >= self.soft_seq)
            if reason is not None:
                self.soft_fired = True
                events.append(self._event(ExpiryKind.SOFT, reason))
        if events:
            self._plan_next_check()
        return events

    def _reached(self, limits: _Limits, now: float, seq_done: bool) -> ExpiryReason | None:
        counters = self.counters
        if counters.packets >= limits.packets:
            return ExpiryReason.PACKETS
        if counters.bytes >= limits.bytes:
            return ExpiryReason.BYTES
        if now - self.added >= limits.seconds:
            return ExpiryReason.SECONDS
        if seq_done:
            return ExpiryReason.SEQUENCE
        return None

    def _event(self, kind: ExpiryKind, reason: ExpiryReason) -> ExpiryEvent:
        p = self.params
        return ExpiryEvent(p.sa_index, p.spi, p.direction, kind, reason)
