"""Keep the switch equal to the desired state: the write loop and its hold on deletes.

Every change ends in ``wake()``; the loop waits for it (a short pause lets a
burst of events land in one write), then has the ``SwitchWriter`` turn the
desired state into the minimal P4Runtime writes, diffing against what it last
wrote (after a start or a switch restart, ``forget()``: against what it reads
from the switch).
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


class SwitchSync:
    def __init__(
        self,
        state: DesiredState,
        client: Callable[[], P4RuntimeClient | None],
        converged: Callable[[], bool],
    ) -> None:
        self.state = state
        self._client = client  # the switch connection of the moment (None while down)
        self._converged = converged
        self.writer = SwitchWriter(TABLE_ORDER)
        # Until BGP has reconverged after a start, never delete what the switch holds:
        # a restarted daemon must not tear down forwarding that is still right.
        self.hold_deletes = True
        self.write_errors = 0
        self._wake = asyncio.Event()

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
            await asyncio.sleep(0.01)  # let a burst of events land in one write
            await self.write_state()

    async def write_state(self) -> dict[str, int]:
        client = self._client()
        if client is None or client.codec is None:
            return {}
        try:
            counts = await self.writer.write(client, self.state, self.hold_deletes)
        except (P4RuntimeClientError, OverflowError) as exc:
            self.write_errors += 1
            log.error("switch write failed: %s", str(exc).splitlines()[0])
            return {}
        if any(counts.values()):
            log.info("switch: %s", ", ".join(f"{v} {k}" for k, v in counts.items() if v))
        return counts
