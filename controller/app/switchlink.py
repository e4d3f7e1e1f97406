"""The daemon's link to its switch: start or adopt it, stay primary, keep the pipeline.

The switch the daemon launches (p4sim, or BMv2's simple_switch_grpc) runs as a
child of the daemon unless one is already answering on the configured address
(a previous daemon left it running with ``--keep-switch``): then it is adopted,
and stopped at exit only if its PID file names a live switch of that kind on
that address. A dead child is started again. Whenever primaryship comes
back after being lost (switch or stream restart), the pipeline cookie is
checked again (a fresh switch gets the pipeline pushed) and ``on_fresh`` tells
the daemon to re-read the switch before its next write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from controller.app import switch as sw
from controller.config import Config
from controller.p4rt import P4RuntimeClient, PacketOut
from controller.p4rt.errors import P4RuntimeClientError
from controller.proc import recorded_pid, stop_pid

log = logging.getLogger("sl3vpn.daemon")
Spawn = Callable[[Coroutine[Any, Any, None]], None]


class SwitchLink:
    def __init__(
        self, cfg: Config, base: Path, run_dir: Path, on_fresh: Callable[[], None], spawn: Spawn
    ) -> None:
        self.cfg, self.base, self.run_dir = cfg, base, run_dir
        self.on_fresh, self.spawn = on_fresh, spawn
        self.sim: sw.P4SimProcess | None = None
        self.adopted_pid: int | None = None  # a switch left running by a previous daemon
        self.client: P4RuntimeClient | None = None
        self.pipeline: sw.Pipeline | None = None
        self.restarts = 0
        self._lost = False
        # The switch already ran our pipeline at start: its forwarding state survived
        # our restart (BGP graceful restart tells the peers so, RFC 4724 F bit).
        self.pipeline_kept = False

    async def prepare(self) -> None:
        loop = asyncio.get_running_loop()
        self.pipeline = await loop.run_in_executor(None, sw.build_pipeline, self.cfg, self.base)

    def _target(self) -> tuple[str, int, int]:
        switch = self.cfg.switch
        if switch.p4runtime is not None:
            r = switch.p4runtime
            return r.address, r.device_id, r.election_id
        launched = switch.launched
        assert launched is not None
        return launched.grpc_address, launched.device_id, 1

    @property
    def kind(self) -> str:
        return self.cfg.switch.kind

    def _process(self) -> sw.P4SimProcess:
        log_path = self.run_dir / f"{self.cfg.node.name}-{self.kind}.log"
        if self.kind == "bmv2":
            argv, env = sw.bmv2_argv(self.cfg, self.run_dir)
            return sw.P4SimProcess(argv, log_path, "simple_switch_grpc", env)
        return sw.P4SimProcess(sw.p4sim_argv(self.cfg, self.base), log_path)

    async def connect(self) -> None:
        assert self.pipeline is not None
        address, device_id, election = self._target()
        if self.cfg.switch.launched is not None:
            try:  # a switch left running by our previous life: adopt it
                self.client = await sw.connect(address, device_id, election, timeout=1.0)
                self.adopted_pid = self._recorded_pid()
            except sw.SwitchError:
                self.sim = self._process()
                await self.sim.start()
                self._record_pid()
                self.spawn(self._watch_sim())
        if self.client is None:
            self.client = await self._connect_watching_sim(address, device_id, election)
        pushed = await sw.ensure_pipeline(self.client, self.pipeline)
        self.pipeline_kept = not pushed
        self.client.on_primary(self._on_primary)
        log.info(
            "switch %s: pipeline %s", address, "pushed" if pushed else "already running (kept)"
        )
        self.on_fresh()

    async def _connect_watching_sim(
        self, address: str, device_id: int, election: int
    ) -> P4RuntimeClient:
        """Connect; a switch that exits meanwhile is reported with its last log line."""
        connecting = asyncio.ensure_future(sw.connect(address, device_id, election, timeout=60.0))
        while not connecting.done():
            await asyncio.wait([connecting], timeout=0.5)
            if self.sim is not None and not self.sim.running and not connecting.done():
                connecting.cancel()
                raise sw.SwitchError(f"{self.sim.what} exited at start: {self.sim.last_log_line()}")
        return connecting.result()

    async def _watch_sim(self) -> None:
        """The switch died: start it again (the stream reconnects; ``_on_primary`` re-pushes)."""
        while True:
            assert self.sim is not None
            code = await self.sim.wait()
            log.warning("%s exited (code %s): restarting it", self.sim.what, code)
            self.restarts += 1
            await asyncio.sleep(0.5)
            await self.sim.start()
            self._record_pid()

    def _on_primary(self, primary: bool) -> None:
        if not primary:
            self._lost = True
            return
        if self._lost:
            self._lost = False
            self.spawn(self._resync())

    async def _resync(self) -> None:
        """Primary again after losing the switch: it may be a fresh one (switch restart)."""
        client, pipe = self.client, self.pipeline
        if client is None or pipe is None:
            return
        try:
            pushed = await sw.ensure_pipeline(client, pipe)
        except P4RuntimeClientError as exc:
            log.error("switch resync failed: %s", exc)
            return
        log.warning(
            "switch back: pipeline %s; rewriting the difference", "pushed" if pushed else "kept"
        )
        self.on_fresh()

    def send_out(self, frame: bytes, port: int, forward: bool) -> None:
        """A packet-out: straight out ``port``, or through the pipeline (``forward``)."""
        if self.client is None:
            return
        meta: dict[str, int | str | bytes] = {
            "egress_port": port,
            "do_forward": int(forward),
            "pad": 0,
        }
        task = asyncio.ensure_future(self.client.packet_out(PacketOut(frame, meta)))
        task.add_done_callback(_quiet)

    @property
    def _pid_file(self) -> Path:
        return self.run_dir / f"{self.cfg.node.name}-{self.kind}.pid"

    def _record_pid(self) -> None:
        """Remember our switch's PID, so a daemon that adopts it can also stop it."""
        if self.sim is not None and self.sim.proc is not None:
            with contextlib.suppress(OSError):
                self._pid_file.write_text(f"{self.sim.proc.pid}\n")

    def _recorded_pid(self) -> int | None:
        """The adopted switch's PID, if the file names a live switch of ours."""
        program = b"simple_switch_grpc" if self.kind == "bmv2" else b"p4sim"
        return recorded_pid(self._pid_file, program, self._target()[0].encode())

    async def close(self, keep_switch: bool) -> None:
        if self.client is not None:
            await self.client.close()
        if keep_switch:
            return
        if self.sim is not None:
            await self.sim.stop()
        elif self.adopted_pid is not None:
            await stop_pid(self.adopted_pid, self.kind)
        with contextlib.suppress(OSError):
            self._pid_file.unlink()


def _quiet(task: asyncio.Future[None]) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        exc = task.exception()
        if exc is not None:
            log.debug("packet-out failed: %s", exc)
