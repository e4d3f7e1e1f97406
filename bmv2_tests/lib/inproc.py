"""The C-PE pipeline on p4sim inside this process, for benchmarks and debugging.

The same P4Runtime messages the gRPC server would get are handed to p4sim's
``Device`` directly (encoded by the controller's own codec from names). Ports
are p4sim's own transports: the ESP engine's ``InlineCryptoPort`` is bound
to the crypto port (the in-process attachment the application uses) and an
``InprocPort`` serves every other port. No sockets, no threads: ``send()``
returns every frame the switch emitted for that input.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterable

from finsy.proto import p4r

from bmv2_tests.lib.target import CPU_PORT, CRYPTO_PORT, DEVICE_ID, TargetUnavailable, program_path
from controller.ipsec.esp.engine import EspEngine
from controller.ipsec.esp.ports import InlineCryptoPort, LockedEngine
from controller.p4rt import CounterEntry, PacketIn, TableEntry
from controller.p4rt.codec import Codec
from controller.p4rt.schema import P4Schema


class InlineCrypto:
    """The ESP engine the crypto port is bound to, as the feature helpers see it."""

    def __init__(self) -> None:
        self.engine = LockedEngine(EspEngine())
        self.lock = contextlib.nullcontext()  # LockedEngine serialises by itself
        self.port = InlineCryptoPort(self.engine)


class InProcessSwitch:
    """p4sim's Device running the C-PE (cpe.p4, or cpe_tna.p4 with SL3VPN_PROGRAM=tna),
    written to with P4Runtime messages."""

    def __init__(self) -> None:
        try:
            engine_mod = importlib.import_module("targets.p4sim.engine")
        except ImportError as exc:
            raise TargetUnavailable(f"p4sim engine not available: {exc}") from None
        from targets.p4sim.runtime.bundle import bundle_from_path
        from targets.p4sim.runtime.device import Device
        from targets.p4sim.runtime.loader import load_engine
        from targets.p4sim.runtime.ports.base import PortManager
        from targets.p4sim.runtime.ports.inproc import InprocPort

        path = program_path()
        program = engine_mod.load_program(path, defines={})
        self.p4info = program.p4info
        self.codec = Codec(P4Schema(self.p4info))
        self.device = Device(load_engine, device_id=DEVICE_ID, cpu_port=CPU_PORT)
        arb = p4r.MasterArbitrationUpdate(device_id=DEVICE_ID)
        arb.election_id.low = 1
        self.device.arbitration.update("inproc", arb)
        req = p4r.SetForwardingPipelineConfigRequest(
            device_id=DEVICE_ID,
            action=p4r.SetForwardingPipelineConfigRequest.Action.VERIFY_AND_COMMIT,
        )
        req.election_id.low = 1
        req.config.p4info.CopyFrom(self.p4info)
        req.config.p4_device_config = bundle_from_path(path).encode()
        self.device.set_pipeline(req)
        self.crypto = InlineCrypto()
        self.wire = InprocPort()
        self.ports = PortManager(self.device)
        self.ports.add(CRYPTO_PORT, self.crypto.port)
        self.ports.set_default(self.wire)
        self.device.emit = self.ports.emit
        self.packet_ins: list[PacketIn] = []
        self.device.packet_in_sink = lambda msg: self.packet_ins.append(
            self.codec.decode_packet_in(msg)
        )
        self.ports.start()

    def send(self, port: int, frame: bytes) -> list[tuple[int, bytes]]:
        self.wire.inject(port, frame)
        out = []
        while not self.wire.sent.empty():
            out.append(self.wire.sent.get_nowait())
        return out

    def _write(self, kind: int, entries: Iterable[TableEntry]) -> None:
        req = p4r.WriteRequest(device_id=DEVICE_ID)
        req.election_id.low = 1
        for ent in entries:
            req.updates.add(type=kind, entity=self.codec.encode(ent))
        errors = self.device.write(req)
        failed = [str(err) for err in errors if err is not None]
        if failed:
            raise AssertionError(f"write refused: {failed}")

    def insert(self, entries: Iterable[TableEntry]) -> None:
        self._write(p4r.Update.INSERT, entries)

    def delete(self, entries: Iterable[TableEntry]) -> None:
        self._write(p4r.Update.DELETE, entries)

    def counter(self, name: str, index: int) -> tuple[int, int]:
        req = p4r.ReadRequest(device_id=DEVICE_ID)
        req.entities.append(self.codec.encode(CounterEntry(name, index), for_read=True))
        for msg in self.device.read(req):
            ent = self.codec.decode(msg)
            if isinstance(ent, CounterEntry) and ent.index == index and ent.data is not None:
                return ent.data.packets, ent.data.bytes
        raise AssertionError(f"counter {name}[{index}] not returned")
