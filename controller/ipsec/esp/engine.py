"""The look-aside ESP engine: crypto-port frames in, crypto-port frames out (sans-I/O).

``process()`` takes one frame from the switch's crypto port (the 8-octet
header of :mod:`controller.ipsec.crypto_port` + Ethernet) and returns the
frame to send back.  ENCRYPT inserts ESP (RFC 4303) after the IP header in
transport mode, or wraps the whole IP packet in a new outer header in tunnel
mode, optionally inside UDP (RFC 3948).  DECRYPT finds the inbound SA by SPI
and destination, checks anti-replay and the ICV, and restores the packet.
Every refusal comes back as the received frame with a non-zero result code and
is counted; nothing here raises on packet contents.

The engine is also the :class:`~controller.ipsec.installer.SaInstaller` the
IKE daemon installs SAs into.  Time comes from an injected clock; the owner
calls ``tick()`` now and then so that time lifetimes fire without traffic.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import struct
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from controller.ipsec.crypto_port import HEADER_LEN, VERSION, Op, Result
from controller.ipsec.esp import fastpath
from controller.ipsec.esp.packet import (
    PROTO_ESP,
    PROTO_IPV4,
    PROTO_IPV6,
    PROTO_UDP,
    IpView,
    PacketError,
    ethertype_for,
    outer_header,
    refresh_l4_checksum,
    trim_inner,
    udp_header,
)
from controller.ipsec.esp.sa import Reject, SaState
from controller.ipsec.installer import (
    SPI_MIN,
    Direction,
    ExpiryCallback,
    ExpiryEvent,
    ExpirySubscribers,
    SaCounters,
    SaInstaller,
    SaInstallError,
    SaParams,
    SaUpdate,
)

log = logging.getLogger(__name__)
_H = struct.Struct("!H")
_UDP_PORTS = struct.Struct("!HH")
_NO_NEXT_HEADER = 59
_ENCRYPT, _DECRYPT = int(Op.ENCRYPT), int(Op.DECRYPT)


class EspEngine:
    """ESP for every SA of one switch; implements SaInstaller."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sas: dict[int, SaState] = {}
        self._outbound: dict[int, SaState] = {}
        # key: local address + SPI, 4 octets each: for IPv4 the frame's octets 38..46
        self._inbound: dict[bytes, SaState] = {}
        self._alias: dict[int, int] = {}  # retired outbound index -> its successor
        self._subscribers = ExpirySubscribers()
        self._sa: SaState | None = None  # SA of the packet in flight, for error counting
        self.errors: dict[str, int] = {}  # refusals that no SA can be charged with
        self.last_error = ""

    # --- SaInstaller --------------------------------------------------------------------

    def allocate_spi(self) -> int:
        in_use = {state.params.spi for state in self._inbound.values()}
        while True:
            spi = SPI_MIN + secrets.randbelow(0x1_0000_0000 - SPI_MIN)
            if spi not in in_use:
                return spi

    def add_sa(self, params: SaParams) -> None:
        params.check()
        if params.sa_index in self._sas:
            raise SaInstallError(f"SA {params.sa_index}: sa_index already installed")
        state = SaState(params, self._clock())
        if params.direction is Direction.INBOUND:
            key = _inbound_key(params.local.packed, params.spi)
            if key in self._inbound:
                raise SaInstallError(
                    f"SA {params.sa_index}: inbound SPI 0x{params.spi:08x} to {params.local} "
                    "already installed"
                )
            self._inbound[key] = state
        else:
            self._outbound[params.sa_index] = state
        self._sas[params.sa_index] = state
        log.info("ESP SA added: %r", params)

    def update_sa(self, sa_index: int, update: SaUpdate) -> None:
        state = self._get(sa_index)
        old = state.params
        new = dataclasses.replace(
            old,
            local=update.local or old.local,
            remote=update.remote or old.remote,
            udp_encap=None if update.remove_udp_encap else (update.udp_encap or old.udp_encap),
            soft=update.soft or old.soft,
            hard=update.hard or old.hard,
        )
        new.check()
        if new.direction is Direction.INBOUND and new.local != old.local:
            key = _inbound_key(new.local.packed, new.spi)
            if key in self._inbound:
                raise SaInstallError(f"SA {sa_index}: inbound SPI clash at {new.local}")
            del self._inbound[_inbound_key(old.local.packed, old.spi)]
            self._inbound[key] = state
        state.params = new
        state.refresh_path()
        state.set_lifetimes(new.soft, new.hard)
        log.info("ESP SA updated: %r", new)

    def delete_sa(self, sa_index: int) -> None:
        state = self._get(sa_index)
        params = state.params
        del self._sas[sa_index]
        if params.direction is Direction.INBOUND:
            del self._inbound[_inbound_key(params.local.packed, params.spi)]
        else:
            del self._outbound[sa_index]
        self._alias = {old: new for old, new in self._alias.items() if sa_index not in (old, new)}
        log.info("ESP SA deleted: %d (SPI 0x%08x)", sa_index, params.spi)

    def switch_outbound(self, old_sa_index: int, new_sa_index: int) -> None:
        for index in (old_sa_index, new_sa_index):
            if index not in self._outbound:
                raise SaInstallError(f"SA {index}: no outbound SA with this index")
        if self._outbound[new_sa_index].retired:
            raise SaInstallError(f"SA {new_sa_index}: already retired by an earlier switch")
        if old_sa_index == new_sa_index:
            raise SaInstallError(f"SA {old_sa_index}: cannot switch an SA to itself")
        for retired, successor in self._alias.items():
            if successor == old_sa_index:
                self._alias[retired] = new_sa_index
        self._alias[old_sa_index] = new_sa_index
        self._outbound[old_sa_index].retired = True
        log.info("ESP outbound switched: %d -> %d", old_sa_index, new_sa_index)

    def counters(self, sa_index: int) -> SaCounters:
        c = self._get(sa_index).counters
        return SaCounters(c.packets, c.bytes, dict(c.errors))

    def subscribe(self, callback: ExpiryCallback) -> Callable[[], None]:
        return self._subscribers.subscribe(callback)

    # --- inspection -----------------------------------------------------------------------

    def sas(self) -> Iterator[SaParams]:
        """Parameters of every installed SA (keys included: for explicit exports only)."""
        return (state.params for state in self._sas.values())

    def retired(self) -> set[int]:
        """Outbound SA indexes that switch_outbound() retired (they never encrypt again)."""
        return {i for i, state in self._outbound.items() if state.retired}

    def sequence(self, sa_index: int) -> int:
        """Last sequence number sent on an outbound SA."""
        return self._get(sa_index).seq

    def tick(self, now: float | None = None) -> None:
        """Fire time-based expiries that are due even if no packet arrives."""
        now = self._clock() if now is None else now
        for state in list(self._sas.values()):
            if state.timed:
                self._emit(state.check_limits(now))

    # --- data path ------------------------------------------------------------------------

    def process(self, frame: bytes) -> bytes:
        """Answer one crypto-port frame; b"" if it has no readable header at all."""
        out: list[bytes] = []
        if self._run((frame,), 0, out):
            return out[0]
        return self._process_one(frame)

    def process_many(self, frames: Sequence[bytes]) -> list[bytes]:
        """Answers to frames read together (e.g. all a port had queued), in order.

        Consecutive frames of one SA in the common shape are answered by one
        fast-path run (fastpath.py); any other frame by the general path.
        """
        out: list[bytes] = []
        run, one = self._run, self._process_one
        i, n = 0, len(frames)
        while i < n:
            j = run(frames, i, out)
            if j == i:
                out.append(one(frames[i]))
                j += 1
            i = j
        return out

    def _run(self, frames: Sequence[bytes], i: int, out: list[bytes]) -> int:
        """Answer frames from i in one fast-path run, if frames[i] qualifies; where it stopped.

        The SA is found once per run; time lifetimes are checked once per run
        (a run lasts microseconds), count and sequence limits after the frame
        that reaches them, as the general path does.
        """
        frame = frames[i]
        if len(frame) < fastpath.ESP or frame[0] != VERSION:
            return i
        op = frame[1]
        if op == _ENCRYPT:
            index = frame[2] << 8 | frame[3]
            sa = self._outbound.get(self._alias.get(index, index) if self._alias else index)
            if sa is None or sa.retired:
                return i
        elif op == _DECRYPT:
            sa = self._inbound.get(frame[38:46])
            if sa is None:
                return i
        else:
            return i
        if not sa.fast or sa.hard_reason is not None:
            return i
        now = 0.0
        if sa.timed:
            now = self._clock()
            self._emit(sa.check_limits(now))
            if sa.hard_reason is not None:
                return i
        # Where the run must end for account() to see every limit in time: after the frame
        # that may reach a packet or sequence-number limit (next_check), so the loop needs no
        # per-frame test; refused frames are not counted, so a run they shorten reaches none.
        # An octet limit it could reach (64 KiB a frame at most) makes it one frame long,
        # which happens only in the last few MB before such a limit.
        packets_at, octets_at, seq_at = sa.next_check
        counters = sa.counters
        left = packets_at - counters.packets
        if op == _ENCRYPT and seq_at - sa.seq < left:
            left = seq_at - sa.seq
        end = i + left if left > 0 else i + 1
        if end > len(frames):
            end = len(frames)
        if octets_at - counters.bytes <= 0xFFFF * (end - i):
            end = i + 1
        if op == _ENCRYPT:
            j, packets, octets = fastpath.encrypt_run(sa, frames, i, end, out)
        else:
            self._sa = sa  # refusals inside the run are counted on it
            j, packets, octets = fastpath.decrypt_run(sa, frames, i, end, out, self._refuse)
        if j != i:
            events = sa.account(octets, now, packets)
            if events:
                self._emit(events)
        return j

    def _process_one(self, frame: bytes) -> bytes:
        """The general path: any frame, any SA; refusals answered with their reason."""
        if len(frame) < HEADER_LEN:
            self._count(Result.MALFORMED, f"crypto-port frame of {len(frame)} octets")
            return b""
        self._sa = None
        try:
            if frame[0] != VERSION:
                raise Reject(Result.MALFORMED, f"crypto header version {frame[0]}")
            if frame[1] == _ENCRYPT:
                return self._encrypt(frame)
            if frame[1] == _DECRYPT:
                return self._decrypt(frame)
            raise Reject(Result.MALFORMED, f"crypto header op {frame[1]}")
        except Reject as exc:
            return self._refuse(frame, exc.result, str(exc))
        except PacketError as exc:
            return self._refuse(frame, Result.MALFORMED, str(exc))

    def _encrypt(self, frame: bytes) -> bytes:
        index = frame[2] << 8 | frame[3]
        sa = self._outbound.get(self._alias.get(index, index) if self._alias else index)
        # A retired SA never encrypts again, even after its successor was deleted.
        if sa is None or sa.retired:
            raise Reject(Result.NO_SA, f"no outbound SA {index}")
        self._sa = sa
        now = self._lifetimes(sa) if sa.timed or sa.hard_reason is not None else 0.0
        view = IpView(frame, HEADER_LEN)
        p = sa.params
        encap = p.udp_encap
        answer = frame[:2] + sa.index_bytes + b"\x00" + frame[5:HEADER_LEN]
        if not sa.tunnel:
            protected = view.payload
            esp = sa.encrypt(view.proto, protected)
            proto = PROTO_ESP
            if encap is not None:
                udp = udp_header(view.src, view.dst, encap.local_port, encap.remote_port, esp)
                esp = udp + esp
                proto = PROTO_UDP
            out = view.rebuild(proto, esp, answer)
        else:
            protected = view.inner()
            esp = sa.encrypt(PROTO_IPV4 if view.version == 4 else PROTO_IPV6, protected)
            src, dst = p.local.packed, p.remote.packed
            proto = PROTO_ESP
            if encap is not None:
                esp = udp_header(src, dst, encap.local_port, encap.remote_port, esp) + esp
                proto = PROTO_UDP
            h = view.header
            tos = h[1] if view.version == 4 else ((h[0] & 0x0F) << 4) | (h[1] >> 4)
            outer = outer_header(src, dst, proto, len(esp), tos)
            l2 = view.l2[:-2] + ethertype_for(p.local.version)
            out = b"".join((answer, l2, outer, esp))
        events = sa.account(len(protected), now)
        if events:
            self._emit(events)
        return out

    def _decrypt(self, frame: bytes) -> bytes:
        view = IpView(frame, HEADER_LEN)
        body = view.payload
        dport = 0
        if view.proto == PROTO_UDP:
            if len(body) < 16:
                raise PacketError(f"UDP datagram of {len(body)} octets cannot carry ESP")
            if body[8:12] == b"\x00\x00\x00\x00":
                raise PacketError("UDP payload has the non-ESP marker (IKE, not ESP)")
            dport = _UDP_PORTS.unpack_from(body)[1]
            esp = body[8:]
        elif view.proto == PROTO_ESP:
            esp = body
        else:
            raise PacketError(f"IP protocol {view.proto} is neither ESP nor UDP")
        if len(esp) < 8:
            raise PacketError(f"ESP packet of {len(esp)} octets has no header")
        spi = int.from_bytes(esp[:4], "big")
        sa = self._inbound.get(bytes(view.dst) + esp[:4])
        if sa is None:
            raise Reject(Result.NO_SA, f"no inbound SA for SPI 0x{spi:08x}")
        self._sa = sa
        p = sa.params
        encap = p.udp_encap
        if (encap is None) != (dport == 0) or (encap is not None and dport != encap.local_port):
            raise Reject(Result.MALFORMED, f"SPI 0x{spi:08x}: UDP encapsulation mismatch")
        now = self._lifetimes(sa) if sa.timed or sa.hard_reason is not None else 0.0
        next_header, data = sa.decrypt(esp)
        if next_header == _NO_NEXT_HEADER:  # RFC 4303 2.6: a TFC dummy packet, to be dropped
            raise Reject(Result.MALFORMED, "dummy packet (next header 59) discarded")
        answer = frame[:2] + sa.index_bytes + b"\x00" + frame[5:HEADER_LEN]
        if not sa.tunnel:
            if encap is not None:  # a NAT may have changed the addresses the checksum covers
                data = refresh_l4_checksum(view.src, view.dst, next_header, data)
            out = view.rebuild(next_header, data, answer)
        else:
            version = data[0] >> 4 if data else 0
            if (next_header, version) not in ((PROTO_IPV4, 4), (PROTO_IPV6, 6)):
                raise Reject(Result.MALFORMED, f"tunnel mode: next header {next_header}")
            data = trim_inner(data, version)
            out = b"".join((answer, view.l2[:-2], ethertype_for(version), data))
        events = sa.account(len(data), now)
        if events:
            self._emit(events)
        return out

    # --- helpers --------------------------------------------------------------------------

    def _get(self, sa_index: int) -> SaState:
        state = self._sas.get(sa_index)
        if state is None:
            raise SaInstallError(f"SA {sa_index}: not installed")
        return state

    def _lifetimes(self, sa: SaState) -> float:
        """Fire the SA's due time expiries; Reject if it is hard-expired. The time, or 0.

        Callers skip the call when the SA has neither time limits nor a hard expiry.
        """
        now = 0.0
        if sa.timed:
            now = self._clock()
            self._emit(sa.check_limits(now))
        if sa.hard_reason is not None:
            sa.refuse_if_expired()
        return now

    def _refuse(self, frame: bytes, result: Result, reason: str) -> bytes:
        sa = self._sa
        op = "ENCRYPT" if frame[1] == Op.ENCRYPT else "DECRYPT"
        if sa is None:
            self._count(result, f"{op}: {reason}")
            return frame[:4] + bytes((result,)) + frame[5:]
        sa.count_error(result)
        self.last_error = f"{op} SA {sa.params.sa_index}: {reason}"
        log.debug("%s", self.last_error)
        return frame[:2] + _H.pack(sa.params.sa_index) + bytes((result,)) + frame[5:]

    def _count(self, result: Result, reason: str) -> None:
        self.errors[result.name] = self.errors.get(result.name, 0) + 1
        self.last_error = reason
        log.debug("%s", reason)

    def _emit(self, events: Sequence[ExpiryEvent]) -> None:
        for event in events:
            log.info(
                "ESP SA %d %s expiry (%s)", event.sa_index, event.kind.value, event.reason.value
            )
            for callback in self._subscribers:
                try:
                    callback(event)
                except Exception as exc:  # a subscriber bug must not stop the data path
                    log.warning("expiry subscriber %r failed: %s", callback, exc)


def _inbound_key(local: bytes, spi: int) -> bytes:
    return local + spi.to_bytes(4, "big")


if TYPE_CHECKING:  # mypy proves the engine implements the installer seam (structurally)

    def _installer(engine: EspEngine) -> SaInstaller:
        return engine
