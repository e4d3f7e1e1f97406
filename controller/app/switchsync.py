"""Keep the switch equal to the desired state: the write loop and its hold on deletes.

Every change ends in ``wake()``; the loop waits for it (a short pause lets a
burst of events land in one write), then has the ``SwitchWriter`` turn the
desired state into the minimal P4Runtime writes, diffing against what it last
wrote (after a start or a switch restart, ``forget()``: against what it reads
from the switch).

A burst (a full table from a route reflector) flows as a pipeline: BGP reads
and composes while a write round is in flight, and the next round takes what
came meanwhile. ``room()`` is the back-pressure: BGP's reader waits there while
more than ``backlog_limit`` entries wait for a round that is under way, so
memory and the first routes' wait stay bounded and TCP slows the peer down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from controller.app.desired import TABLE_ORDER, DesiredState
from controller.app.writer import SwitchWriter
from controller.p4rt import P4RuntimeClient
from controller.p4rt.errors import P4RuntimeClientError

log = logging.getLogger("sl3vpn.daemon")

# Entries composed and not yet taken by a write round before BGP's reader waits:
# a few Write batches' worth, so the next round is ready when one ends.
BACKLOG_LIMIT = 2000
ROOM_WAIT_MAX = 1.0  # seconds BGP waits for one round at most (a hung switch)


class SwitchSync:
    def __init__(
        self,
        state: DesiredState,
        client: Callable[[], P4RuntimeClient | None],
        converged: Callable[[], bool],
        backlog_limit: int = BACKLOG_LIMIT,
    ) -> None:
        self.state = state
        self._client = client  # the switch connection of the moment (None while down)
        self._converged = converged
        self.writer = SwitchWriter(TABLE_ORDER)
        # Until BGP has reconverged after a start, never delete what the switch holds:
        # a restarted daemon must not tear down forwarding that is still right.
        self.hold_deletes = True
        self.write_errors = 0
        self.backlog_limit = backlog_limit
        self._wake = asyncio.Event()
        self._taken = asyncio.Event()  # a round took the changes that were waiting

    def wake(self) -> None:
        """The desired state changed: write it."""
        self._wake.set()

    def forget(self) -> None:
        """The switch may hold anything now: read it before the next write."""
        self.writer.forget()
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)
            except TimeoutError:
                if self.hold_deletes and self._converged():
                    self.hold_deletes = False
                    log.info("converged: stale switch entries may now be removed")
                elif not self.writer.check_due():
                    continue
            self._wake.clear()
            if self.state.backlog() < self.backlog_limit:
                await asyncio.sleep(0.01)  # let a burst of events land in one write
            await self.write_state()

    async def room(self) -> None:
        """Return once the writer can take more: BGP's reader awaits this after each read.

        First a turn of the loop, so that what the read produced is composed; then,
        while too much waits and a round is under way (or about to start), wait for
        the round to take it. With no switch to write to, nothing waits: BGP must go on
        (its peers' keepalives are read by this reader). Nor while rounds are full
        (deletes held after a start, or the switch to be read again): each of those
        reads and rebuilds everything, so fewer, bigger ones are better.
        """
        await asyncio.sleep(0)
        while self.state.backlog() > self.backlog_limit and self._can_write():
            self._wake.set()
            try:
                await asyncio.wait_for(self._taken.wait(), ROOM_WAIT_MAX)
            except TimeoutError:
                return
            await asyncio.sleep(0)

    def _wake_room(self) -> None:
        self._taken.set()
        self._taken.clear()

    def _can_write(self) -> bool:
        """The next round is an incremental one, and there is a switch to write to."""
        if self.hold_deletes or self.writer.last is None:
            return False
        client = self._client()
        return client is not None and client.codec is not None

    async def write_state(self) -> dict[str, int]:
        client = self._client()
        if client is None or client.codec is None:
            return {}
        # An incremental round takes the waiting changes before its first await, so
        # whoever this wakes (room()) runs after the take; a full round takes them after
        # reading the switch: its end wakes them again.
        self._wake_room()
        try:
            counts = await self.writer.write(client, self.state, self.hold_deletes)
        except (P4RuntimeClientError, OverflowError) as exc:
            self.write_errors += 1
            log.error("switch write failed: %s", str(exc).splitlines()[0])
            return {}
        finally:
            self._wake_room()
        if any(counts.values()):
            log.info("switch: %s", ", ".join(f"{v} {k}" for k, v in counts.items() if v))
        return counts
