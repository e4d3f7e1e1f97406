"""A static lab node's data plane on BMv2: simple_switch_grpc + the ESP engine.

The same state as on p4sim (:mod:`controller.lab.static_plane`), reached the
way the daemon reaches BMv2: the switch runs as a process on the namespace's
veths (``targets/bmv2``), the pipeline and the entries go over P4Runtime, the
ESP engine answers the crypto port through a veth pair (``sl3c-sw`` on the
switch, ``sl3c-eng`` for the engine, as in the daemon), and frames the node
itself sends on the black link (NAT keepalives) are P4Runtime packet-outs:
BMv2 reads its ports with libpcap in both directions, so a frame written to
``wan0`` by another socket would come back into its pipeline as received.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import targets.bmv2 as bmv2
from controller.app.switch import CRYPTO_VETH, crypto_veth
from controller.ipsec.esp.engine import EspEngine
from controller.ipsec.esp.ports import AfPacketCryptoPort, LockedEngine
from controller.ipsec.installer import SaParams
from controller.lab.plan import BLACK_PORT, CPU_PORT, CRYPTO_PORT, CpePlan
from controller.p4rt import P4RuntimeClient, PacketOut, TableEntry, load_p4info

T = TypeVar("T")
GRPC_ADDRESS = "127.0.0.1:9559"  # one switch per namespace
DEVICE_ID = 1


class Bmv2Plane:
    """Running BMv2 + engine for one C-PE; ``close()`` stops both."""

    def __init__(self, run_dir: Path, me: CpePlan, program: Path) -> None:
        self.run_dir, self.me, self.program = run_dir, me, program
        self.engine = LockedEngine(EspEngine())
        self.lock = self.engine.lock
        self.switch: bmv2.Bmv2Switch | None = None
        self.crypto: AfPacketCryptoPort | None = None
        self.client: P4RuntimeClient | None = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, entries: list[TableEntry], sa_params: list[SaParams]) -> None:
        art = bmv2.compile_program(
            self.program, {"CPU_PORT": str(CPU_PORT), "CRYPTO_PORT": str(CRYPTO_PORT)}
        )
        crypto_veth()
        ports = {BLACK_PORT: "wan0", CRYPTO_PORT: CRYPTO_VETH[0]}
        ports.update({r.port: r.ifname for r in self.me.red})
        opts = bmv2.SwitchOptions(
            grpc_address=GRPC_ADDRESS, device_id=DEVICE_ID, cpu_port=CPU_PORT, interfaces=ports
        )
        self.switch = bmv2.Bmv2Switch(opts, self.run_dir / f"{self.me.name}-bmv2.log").start()
        for params in sa_params:
            self.engine.add_sa(params)
        self.crypto = AfPacketCryptoPort(CRYPTO_VETH[1], self.engine)
        self.crypto.start()
        p4info = load_p4info(str(art.p4info_path))
        self._run(self._program(p4info, art.json_path.read_bytes(), entries))

    async def _program(self, p4info: Any, config: bytes, entries: list[TableEntry]) -> None:
        self.client = P4RuntimeClient(GRPC_ADDRESS, device_id=DEVICE_ID, election_id=1)
        await self.client.connect(timeout=30)
        await self.client.set_pipeline(p4info, config)
        await self.client.insert(entries)

    def send_black(self, frame: bytes) -> None:
        """A frame of our own out of the black port, through the CPU port."""
        assert self.client is not None
        meta: dict[str, int | str | bytes] = {"egress_port": BLACK_PORT, "do_forward": 0, "pad": 0}
        self._run(self.client.packet_out(PacketOut(frame, meta)), timeout=5)

    def close(self) -> None:
        if self.client is not None:
            self._run(self.client.close(), timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self.crypto is not None:
            self.crypto.close()
        if self.switch is not None:
            self.switch.stop()
