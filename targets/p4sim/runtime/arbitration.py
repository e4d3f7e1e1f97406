"""Client arbitration and primary election (P4Runtime spec section 5).

Sans-I/O: the server tells this object about streams and gets back the
arbitration updates to send. Only the default role (empty name) exists.

- The first message of a stream must be a MasterArbitrationUpdate with the
  server's device_id (else NOT_FOUND) and an election_id no other open stream
  uses (else INVALID_ARGUMENT). A stream may send another update later to
  change its election_id.
- Primary election follows spec 5.3 ("Rules for Handling
  MasterArbitrationUpdate Messages") exactly: with election_id_past the
  highest election_id ever received, an update whose election_id is >=
  election_id_past makes its sender primary; any other update makes it a
  backup. When the primary's stream closes, or it downgrades itself with a
  lower id, the device stays WITHOUT a primary (spec 5 intro: "until a client
  sends a successful MasterArbitrationUpdate") -- no backup is promoted; a
  controller must re-send an election_id >= election_id_past.
  An unset election_id is lower than any, so such a controller is always a
  backup; {high: 0, low: 0} is a real id.
- Notifications (spec 5.4 "Client Arbitration Notifications"): when a
  primary is chosen, downgrades or disconnects, every remaining stream gets an
  update -- status OK to the primary, ALREADY_EXISTS to backups, NOT_FOUND to
  all when there is no primary; election_id is election_id_past, unset while
  there has never been a primary. A new backup alone is told only itself.
- Write and SetForwardingPipelineConfig are accepted only with the primary's
  election_id (else PERMISSION_DENIED).
"""

from __future__ import annotations

from collections.abc import Hashable

import grpc
from finsy.proto import p4r, rpc_code

from targets.p4sim.runtime.errors import P4RTError, not_found, unimplemented


def election_int(eid: p4r.Uint128) -> int:
    return (eid.high << 64) | eid.low


def _uint128(value: int) -> p4r.Uint128:
    return p4r.Uint128(high=value >> 64, low=value & ((1 << 64) - 1))


class Arbitration:
    def __init__(self, device_id: int) -> None:
        self.device_id = device_id
        self._streams: dict[Hashable, int | None] = {}  # stream -> election id (None = unset)
        self._primary: Hashable | None = None
        # election_id_past (spec 5.3): the highest election id ever received;
        # None until one was (then the advisory updates leave election_id unset).
        self._highest: int | None = None

    @property
    def primary_election_id(self) -> int | None:
        return None if self._primary is None else self._streams[self._primary]

    def is_primary_stream(self, stream: Hashable) -> bool:
        return stream is not None and stream == self._primary

    def check_writer(self, device_id: int, election_id: int, role: str = "") -> None:
        """Raise unless a request with these fields may change the device."""
        if device_id != self.device_id:
            raise not_found(f"no device with id {device_id} (this is device {self.device_id})")
        if role:
            # spec 12 (Write) and 14 (SetForwardingPipelineConfig): a role the
            # device does not have is NOT_FOUND; p4sim has only the default role.
            raise not_found(f"no role {role!r} on device {device_id} (only the default role)")
        primary = self.primary_election_id
        if primary is None or election_id != primary:
            raise P4RTError(
                grpc.StatusCode.PERMISSION_DENIED,
                f"election_id {election_id} is not the primary's"
                + ("" if primary is None else f" ({primary})"),
            )

    def update(
        self, stream: Hashable, msg: p4r.MasterArbitrationUpdate
    ) -> list[tuple[Hashable, p4r.MasterArbitrationUpdate]]:
        """Register/refresh a stream's arbitration; the updates to send out (spec 5.3)."""
        if msg.device_id != self.device_id:
            if stream in self._streams:
                # spec 5.3 (2.1): a live stream may not switch devices
                raise P4RTError(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"this stream is arbitrated for device {self.device_id}, not {msg.device_id}",
                )
            raise not_found(f"no device with id {msg.device_id} (this is device {self.device_id})")
        if msg.role.name:
            raise unimplemented(f"role {msg.role.name!r}: only the default role is supported")
        # An unset election_id is lower than any, {high: 0, low: 0} included.
        eid = election_int(msg.election_id) if msg.HasField("election_id") else None
        if eid is not None and any(s != stream and e == eid for s, e in self._streams.items()):
            raise P4RTError(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"election_id {eid} is already used by another controller",
            )
        self._streams[stream] = eid
        if eid is not None and (self._highest is None or eid >= self._highest):
            # spec 5.3 (1): >= election_id_past makes (or keeps) it primary;
            # every controller is told (1.1 and 1.2).
            self._highest = eid
            self._primary = stream
            return self._notify_all()
        if stream == self._primary:
            # spec 5.3 (2): the primary downgraded itself; nobody takes over.
            self._primary = None
            return self._notify_all()
        return [(stream, self._update_for(stream))]  # a backup: only it is told

    def remove(self, stream: Hashable) -> list[tuple[Hashable, p4r.MasterArbitrationUpdate]]:
        """Forget a closed stream; the updates to send out (spec 5 intro, 5.4)."""
        if stream not in self._streams:
            return []
        del self._streams[stream]
        if stream != self._primary:
            return []  # a backup leaving changes nobody's status
        # The primary disconnected: no promotion, every backup hears NOT_FOUND.
        self._primary = None
        return self._notify_all()

    def _notify_all(self) -> list[tuple[Hashable, p4r.MasterArbitrationUpdate]]:
        # spec 5.3 (1.2): the others are told first, the new primary last
        order = [s for s in self._streams if s != self._primary]
        if self._primary is not None:
            order.append(self._primary)
        return [(s, self._update_for(s)) for s in order]

    def _update_for(self, stream: Hashable) -> p4r.MasterArbitrationUpdate:
        out = p4r.MasterArbitrationUpdate(device_id=self.device_id)
        if self._highest is not None:  # unset while there has never been a primary
            out.election_id.CopyFrom(_uint128(self._highest))
        if self._primary is None:
            out.status.code = rpc_code.NOT_FOUND
            out.status.message = "no primary controller"
        elif stream == self._primary:
            out.status.code = rpc_code.OK
            out.status.message = "is primary"
        else:
            out.status.code = rpc_code.ALREADY_EXISTS
            out.status.message = "is backup"
        return out
