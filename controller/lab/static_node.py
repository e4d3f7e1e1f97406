"""One C-PE's data plane as a process: p4sim (or BMv2) + ESP engine + the lab's static state.

    python -m controller.lab.static_node --run-dir DIR --node cpe1

Started by ``sl3vpn lab up`` inside the C-PE's namespace. It loads
p4src/cpe.p4 into a p4sim device, binds the black and red ports to the
namespace's veths (AF_PACKET), answers the crypto port with the ESP engine
in-process, writes the table entries and SAs of :mod:`controller.lab.static_plane`
through the device's P4Runtime write path, then forwards until SIGTERM (a lab
brought up with ``--target bmv2`` runs simple_switch_grpc instead:
``static_bmv2.py``). Every
second it writes ``<node>.status.json`` (SA packet counters, no keys) for
``sl3vpn lab status``. Keys come from the lab's 0600 ``sas.json`` and are
never logged.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from finsy.proto import p4r

from controller.ipsec.esp.engine import EspEngine
from controller.ipsec.installer import Direction, SaParams
from controller.lab.plan import BLACK_PORT, CPU_PORT, CRYPTO_PORT, make_plan
from controller.lab.state import LabState
from controller.lab.static_plane import StaticSa, keepalives, node_state
from controller.lab.topology import load_topology
from controller.p4rt import TableEntry
from controller.p4rt.codec import Codec
from controller.p4rt.schema import P4Schema

REPO = Path(__file__).resolve().parents[2]
PROGRAM = REPO / "p4src" / "cpe.p4"
DEVICE_ID = 1


class CryptoPort:
    """p4sim Port for the crypto port: every frame sent to it is answered by the engine."""

    def __init__(self, engine: EspEngine) -> None:
        self.engine = engine
        self.lock = threading.Lock()
        self._deliver: object = None

    def start(self, deliver: object) -> None:
        self._deliver = deliver

    def send(self, port: int, frame: bytes) -> None:
        with self.lock:
            answer = self.engine.process(frame)
        if answer and callable(self._deliver):
            self._deliver(port, answer)

    def close(self) -> None:
        self._deliver = None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="controller.lab.static_node")
    ap.add_argument("--run-dir", required=True, type=Path)
    ap.add_argument("--node", required=True)
    args = ap.parse_args(argv)
    try:
        return serve(args.run_dir, args.node)
    except Exception as exc:  # one line for the node's log, then a clean exit code
        print(f"static_node {args.node}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1


def build_switch(entries: list[TableEntry], sa_params: list[SaParams]) -> tuple[Any, EspEngine]:
    """A p4sim device running p4src/cpe.p4 with ``entries`` written, and its ESP engine."""
    from targets.p4sim.engine import load_program
    from targets.p4sim.runtime.bundle import bundle_from_path
    from targets.p4sim.runtime.device import Device
    from targets.p4sim.runtime.loader import load_engine

    program = load_program(PROGRAM, defines={})
    codec = Codec(P4Schema(program.p4info))
    device = Device(load_engine, device_id=DEVICE_ID, cpu_port=CPU_PORT)
    arb = p4r.MasterArbitrationUpdate(device_id=DEVICE_ID)
    arb.election_id.low = 1
    device.arbitration.update("lab", arb)
    req = p4r.SetForwardingPipelineConfigRequest(
        device_id=DEVICE_ID,
        action=p4r.SetForwardingPipelineConfigRequest.Action.VERIFY_AND_COMMIT,
    )
    req.election_id.low = 1
    req.config.p4info.CopyFrom(program.p4info)
    req.config.p4_device_config = bundle_from_path(PROGRAM).encode()
    device.set_pipeline(req)

    engine = EspEngine()
    for params in sa_params:
        engine.add_sa(params)
    wreq = p4r.WriteRequest(device_id=DEVICE_ID)
    wreq.election_id.low = 1
    for ent in entries:
        wreq.updates.add(type=p4r.Update.INSERT, entity=codec.encode(ent))
    failed = [str(e) for e in device.write(wreq) if e is not None]
    if failed:
        raise RuntimeError(f"table writes refused: {failed[0]}")
    return device, engine


def serve(run_dir: Path, node: str) -> int:
    state = LabState.load(run_dir)
    plan = make_plan(load_topology(state.topology), state.prefix)
    me = plan.cpe(node)
    sas = [StaticSa.from_json(d) for d in json.loads((run_dir / "sas.json").read_text())]
    entries, sa_params = node_state(plan, node, sas)

    if state.target == "bmv2":
        from controller.lab.static_bmv2 import Bmv2Plane

        plane = Bmv2Plane(run_dir, me, PROGRAM)
        try:
            plane.start(entries, sa_params)
            _forward(run_dir, node, plane.engine.engine, plane.lock, plane.send_black,
                     (len(entries), len(sa_params)), keepalives(plan, node), sas)  # fmt: skip
        finally:
            plane.close()
        return 0

    from targets.p4sim.runtime.ports import AfPacketPort, PortManager

    device, engine = build_switch(entries, sa_params)
    ports = PortManager(device)
    device.emit = ports.emit
    ports.add(BLACK_PORT, AfPacketPort(BLACK_PORT, "wan0"))
    for r in me.red:
        ports.add(r.port, AfPacketPort(r.port, r.ifname))
    crypto = CryptoPort(engine)
    ports.add(CRYPTO_PORT, crypto)
    ports.start()
    black = ports.ports[BLACK_PORT]
    _forward(run_dir, node, engine, crypto.lock, lambda frame: black.send(BLACK_PORT, frame),
             (len(entries), len(sa_params)), keepalives(plan, node), sas)  # fmt: skip
    # No ports.close(): each AF_PACKET receiver would be joined with a timeout while
    # it sits in recv(); its threads are daemons and the sockets close with the process.
    return 0


def _forward(
    run_dir: Path,
    node: str,
    engine: EspEngine,
    lock: Any,
    send_black: Callable[[bytes], None],
    counts: tuple[int, int],
    nat_hello: list[bytes],
    sas: list[StaticSa],
) -> None:
    """Until SIGTERM: NAT keepalives out of the black port, and ``<node>.status.json``
    (SA counters, read under the engine's ``lock``) every second."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(
        f"static_node {node}: {counts[0]} table entries, {counts[1]} SAs, forwarding",
        flush=True,
    )
    status_file = run_dir / f"{node}.status.json"
    peers = {s.spi: (s.src, s.dst, s.tenant) for s in sas}
    while not stop.is_set():
        for frame in nat_hello:  # RFC 3948 2.2, every second: opens and keeps the NAT mapping
            send_black(frame)
        rows = []
        with lock:
            for p in engine.sas():
                c = engine.counters(p.sa_index)
                src, dst, tenant = peers[p.spi]
                rows.append(
                    {
                        "sa_index": p.sa_index,
                        "direction": "out" if p.direction is Direction.OUTBOUND else "in",
                        "spi": f"0x{p.spi:08x}",
                        "peer": dst if p.direction is Direction.OUTBOUND else src,
                        "tenant": tenant,
                        "udp_encap": p.udp_encap is not None,
                        "packets": c.packets,
                        "bytes": c.bytes,
                        "errors": sum(c.errors.values()),
                    }
                )
        tmp = status_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"node": node, "time": time.time(), "sas": rows}))
        tmp.replace(status_file)
        stop.wait(1.0)


if __name__ == "__main__":
    sys.exit(main())
