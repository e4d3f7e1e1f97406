"""The ESP engine's SA table: the SaInstaller half of ``engine.py``.

Installed SAs by index, outbound SAs by index (plus the aliases that
``switch_outbound`` leaves for a retired index), inbound SAs by local address
and SPI, and the expiry subscribers. ``EspEngine`` adds the data path.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import time
from collections.abc import Callable, Iterator, Sequence

from controller.ipsec.esp.sa import SaState
from controller.ipsec.installer import (
    SPI_MIN,
    Direction,
    ExpiryCallback,
    ExpiryEvent,
    ExpirySubscribers,
    SaCounters,
    SaInstallError,
    SaParams,
    SaUpdate,
)

log = logging.getLogger("controller.ipsec.esp.engine")  # the same logger as the data path


class SaTable:
    """The SAs of one engine, with the SaInstaller calls that change them."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sas: dict[int, SaState] = {}
        self._outbound: dict[int, SaState] = {}
        # key: local address + SPI, 4 octets each: for IPv4 the frame's octets 38..46
        self._inbound: dict[bytes, SaState] = {}
        self._alias: dict[int, int] = {}  # retired outbound index -> its successor
        self._subscribers = ExpirySubscribers()

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

    def _get(self, sa_index: int) -> SaState:
        state = self._sas.get(sa_index)
        if state is None:
            raise SaInstallError(f"SA {sa_index}: not installed")
        return state

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
