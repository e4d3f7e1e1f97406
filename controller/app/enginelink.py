"""The daemon's link to its ESP engine process: start or adopt it, inherit its SAs.

The engine (``controller.ipsec.esp.process``) serves the crypto port and holds
the SAs, so tunnel traffic does not depend on the daemon being alive. Like
p4sim (``switchlink.py``) it runs as a child of the daemon, its PID recorded in
``RUN_DIR/<node>-engine.pid``; a daemon that finds one answering on
``RUN_DIR/<node>-engine.sock`` adopts it and lists the SAs it inherits. On exit
the engine is stopped unless ``--keep-switch`` (which keeps the data path:
switch and engine). An engine that dies under a running daemon is replaced by
a new one, which the SA database fills again and IKE rekeys
(``controller/ipsec/sad_restart.py``); only an engine that cannot be started
again stops the daemon (exit 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from controller.app.switch import P4SimProcess
from controller.ipsec.esp.client import EngineClient, EngineUnavailable
from controller.ipsec.ike.runtime import IpsecRuntime
from controller.ipsec.inherit import pairs_from_listing
from controller.proc import alive, recorded_pid, stop_pid

log = logging.getLogger("sl3vpn.daemon")
START_TIMEOUT = 15.0
ADOPTED_POLL = 1.0  # how often an adopted engine (not our child) is checked
MODULE = "controller.ipsec.esp.process"


class EngineError(RuntimeError):
    """The engine process could not be started or reached (one line)."""


class EngineLink:
    def __init__(self, node: str, run_dir: Path, interface: str) -> None:
        self.interface = interface
        self.socket_path = run_dir / f"{node}-engine.sock"
        self.pid_file = run_dir / f"{node}-engine.pid"
        self.log_path = run_dir / f"{node}-engine.log"
        self.client = EngineClient(self.socket_path)
        self.proc: P4SimProcess | None = None
        self.adopted_pid: int | None = None
        self.inherited: list[dict[str, Any]] = []  # the SAs found in an adopted engine
        # our previous life's engine died with its SAs (killed or crashed: a clean stop
        # removes its PID file), so the peers may still hold SAs with us (ipsec/rejoin.py)
        self.lost_sas = False
        self.restarts = 0

    async def start(self) -> None:
        """Adopt an engine left running by our previous life, or start one."""
        try:
            hello = self.client.connect()
        except EngineUnavailable:
            self.lost_sas = self.pid_file.exists()
            if self.lost_sas:
                log.info("the ESP engine of our previous life is gone: its SAs are lost")
            await self._spawn()
            return
        if hello.get("interface") != self.interface:
            self.client.close()
            raise EngineError(
                f"ESP engine at {self.socket_path} serves {hello.get('interface')!r}, "
                f"not {self.interface!r}"
            )
        self.adopted_pid = self._recorded_pid()
        self.inherited = self.client.list_sas()
        log.info(
            "ESP engine (pid %s) already running: adopted with %d SAs",
            hello.get("pid"),
            len(self.inherited),
        )

    def hand_over(self, ipsec: IpsecRuntime) -> None:
        """Put the inherited SAs back in service and ask IKE to replace them.

        Each tunnel keeps its SA pair (and so its pipeline entries) until IKE has
        a new CHILD_SA for it; we initiate to every such peer at once, with
        INITIAL_CONTACT (we hold no IKE SA with it), so the peer drops the dead
        daemon's IKE SA and moves to the new CHILD_SAs without a gap.
        """
        if not self.inherited:
            return
        pairs, stray = pairs_from_listing(self.inherited)
        for index in stray:  # nothing says what they carry: not worth keeping
            self.client.delete_sa(index)
        ipsec.inherit(pairs)
        log.info("inherited %d SA pairs from the running ESP engine", len(pairs))
        for peer, tenant in sorted({(str(p.peer), p.tenant) for p in pairs}, key=str):
            ipsec.packet_needs_tunnel(peer, tenant)

    async def _spawn(self) -> None:
        argv = [sys.executable, "-m", MODULE, "--interface", self.interface]
        argv += ["--socket", str(self.socket_path)]
        self.proc = P4SimProcess(argv, self.log_path, what="ESP engine")
        await self.proc.start()
        assert self.proc.proc is not None
        with contextlib.suppress(OSError):
            self.pid_file.write_text(f"{self.proc.proc.pid}\n")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        while True:
            try:
                self.client.connect()
                return
            except EngineUnavailable as exc:
                if not self.proc.running:
                    raise EngineError(
                        f"ESP engine exited at start: {self.proc.last_log_line()}"
                    ) from None
                if loop.time() > deadline:
                    raise EngineError(f"{exc} (after {START_TIMEOUT:g} s)") from None
            await asyncio.sleep(0.05)

    async def watch(self, on_new: Callable[[], None]) -> None:
        """Start a new engine whenever ours exits, then ``on_new()`` (the daemon refills
        it); raise EngineError only when a new one cannot be started."""
        while True:
            why = await self._exited()
            log.warning("ESP engine exited (%s): starting a new one", why)
            self.restarts += 1
            self.client.close()
            self.adopted_pid = None
            await self._spawn()
            on_new()

    async def _exited(self) -> str:
        if self.proc is not None:
            code = await self.proc.wait()
            return f"code {code}, last logged: {self.proc.last_log_line()}"
        # an adopted engine is not our child to wait for: watch its recorded PID
        while self.adopted_pid is None or alive(self.adopted_pid):
            await asyncio.sleep(ADOPTED_POLL)
        return f"adopted pid {self.adopted_pid} gone"

    def _recorded_pid(self) -> int | None:
        """The adopted engine's PID, if the file names a live engine on our socket."""
        return recorded_pid(self.pid_file, MODULE.encode(), str(self.socket_path).encode())

    async def close(self, keep: bool) -> None:
        self.client.close()
        if keep:
            return
        if self.proc is not None:
            await self.proc.stop()
        elif self.adopted_pid is not None:
            await stop_pid(self.adopted_pid, "ESP engine")
        with contextlib.suppress(OSError):
            self.pid_file.unlink()
