#!/usr/bin/env python3
"""P4Runtime write and read rates: p4sim's server, our client, the bare gRPC transport.

    benchmarks/p4rt_rate.py              # 100,000 entries, batches of 1,000
    benchmarks/p4rt_rate.py --smoke      # tiny sizes, checks the plumbing
    benchmarks/p4rt_rate.py --entries 20000 --runs 5

Each figure is entries/s over ``--runs`` runs (min / median / max), each run on
a fresh switch process, for the two tables of ``benchmarks/p4/rate.p4``: an
exact table (``host``: vrf, IPv4 address) and an exact+LPM one (``fib``: vrf,
/24 prefix). Rows:

- ``pre-encoded``: WriteRequest/ReadRequest bytes built before the clock
  starts, sent one RPC at a time; nothing is parsed on our side: the switch's
  own rate plus the transport.
- ``our client``: ``P4RuntimeClient.insert`` of domain entries (addresses as
  text, as the C-PE's desired state has them), encoding included; reads are
  ``read_raw`` (p4.v1 messages, what the writer diffs) and ``read`` (domain
  entries).
- ``transport``: the same pre-encoded bytes against a server that parses
  nothing and answers at once (a grpc.aio process): the ceiling here.

BMv2 (simple_switch_grpc, compiled by p4c-bm2-ss) is measured the same way,
side by side, when the ``targets/bmv2`` launcher finds its tools
(``SL3VPN_P4_PREFIX``/bin or PATH); otherwise a last line says why not.
The machine's load average is printed: on a shared machine compare ratios
within one run of this script, not absolute figures across runs.
"""

from __future__ import annotations

import _venv  # noqa: F401  (first: re-runs this under the checkout's .venv Python)

# isort: split

import argparse
import asyncio
import importlib
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from finsy.proto import p4i, p4r  # noqa: E402

from controller.p4rt import Codec, P4RuntimeClient, P4Schema, TableEntry, load_p4info  # noqa: E402
from targets.p4sim.runtime.bundle import bundle_from_path  # noqa: E402
from targets.p4sim.runtime.loader import load_engine  # noqa: E402

PROGRAM = ROOT / "benchmarks" / "p4" / "rate.p4"
WRITE = "/p4.v1.P4Runtime/Write"
READ = "/p4.v1.P4Runtime/Read"
OPTIONS = [("grpc.max_receive_message_length", 1 << 28), ("grpc.max_send_message_length", 1 << 28)]


def entry(table: str, i: int) -> TableEntry:
    """Entry ``i`` of a table, with values in the forms controller code uses."""
    vrf = 1 + i % 7
    if table == "host":
        dst = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        return TableEntry(
            "host", {"vrf": vrf, "dst": dst}, "set_port", {"port": i & 511, "dmac": i}
        )
    dst = f"{10 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}.0/24"
    return TableEntry(
        "fib", {"vrf": vrf, "dst": dst}, "push_label", {"label": i, "tunnel": i & 0xFFFF}
    )


def requests(codec: Codec, table: str, n: int, batch: int) -> list[bytes]:
    """Serialized INSERT WriteRequests (device 1, election id 1) for entries 0..n-1."""
    out = []
    for start in range(0, n, batch):
        req = p4r.WriteRequest(device_id=1, election_id=p4r.Uint128(low=1))
        for i in range(start, min(n, start + batch)):
            req.updates.add(type=p4r.Update.INSERT, entity=codec.encode(entry(table, i)))
        out.append(req.SerializeToString())
    return out


def read_request(table_id: int) -> bytes:
    req = p4r.ReadRequest(device_id=1)
    req.entities.add().table_entry.table_id = table_id
    return req.SerializeToString()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A P4Runtime server process: its address, CPU time and how to stop it."""

    def __init__(self, address: str, pid: int, stop: Callable[[], None]) -> None:
        self.address, self.pid, self.stop = address, pid, stop

    def cpu(self) -> float:
        """CPU seconds the server process has used (user + system)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spawn(argv: list[str]) -> Server:
    """Run ``argv`` with ``{port}`` replaced by a free loopback port."""
    port = free_port()
    proc = subprocess.Popen(
        [a.replace("{port}", str(port)) for a in argv], cwd=ROOT, stdout=subprocess.DEVNULL
    )

    def stop() -> None:
        proc.terminate()
        proc.wait(10)

    return Server(f"127.0.0.1:{port}", proc.pid, stop)


@dataclass
class Target:
    name: str
    p4info: p4i.P4Info
    config: bytes  # p4_device_config
    start: Callable[[], Server]


def p4sim_target() -> Target:
    bundle = bundle_from_path(PROGRAM)
    argv = [sys.executable, "-m", "controller", "p4sim", "run", "--no-p4", "--device-id", "1",
            "--grpc-server-addr", "127.0.0.1:{port}"]  # fmt: skip
    return Target("p4sim", load_engine(bundle).p4info, bundle.encode(), lambda: spawn(argv))


def bmv2_target() -> Target | str:
    """simple_switch_grpc through the targets/bmv2 launcher, or why it is not measured."""
    try:
        bmv2 = importlib.import_module("targets.bmv2")
    except ImportError:
        return "targets/bmv2 (the BMv2 launcher) is not on this branch"
    missing = bmv2.missing_tools()
    if missing:
        return "; ".join(missing)
    art = bmv2.compile_program(PROGRAM)

    def start() -> Server:
        port = free_port()
        log = Path(tempfile.mkdtemp(prefix="p4rt_rate-bmv2-")) / "bmv2.log"
        opts = bmv2.SwitchOptions(grpc_address=f"127.0.0.1:{port}", device_id=1)
        switch = bmv2.Bmv2Switch(opts, log).start()
        return Server(opts.grpc_address, switch.pid, switch.stop)

    return Target("bmv2", load_p4info(str(art.p4info_path)), art.json_path.read_bytes(), start)


async def raw_rates(srv: Server, writes: list[bytes], read: bytes, n: int) -> dict[str, float]:
    """Write then read the pre-encoded requests: entries/s, and per CPU-second of the server."""
    async with grpc.aio.insecure_channel(srv.address, options=OPTIONS) as ch:
        await asyncio.wait_for(ch.channel_ready(), 60)
        write = ch.unary_unary(WRITE, lambda b: b, lambda b: b)
        rd = ch.unary_stream(READ, lambda b: b, lambda b: b)
        c0, t0 = srv.cpu(), time.perf_counter()
        for req in writes:
            await write(req, timeout=120)
        c1, t1 = srv.cpu(), time.perf_counter()
        async for _chunk in rd(read, timeout=120):
            pass
        c2, t2 = srv.cpu(), time.perf_counter()
    return {
        "write": n / (t1 - t0),
        "read": n / (t2 - t1),
        "write/server-CPU-s": n / max(c1 - c0, 1e-3),
        "read/server-CPU-s": n / max(c2 - c1, 1e-3),
    }


async def push_pipeline(address: str, p4info: p4i.P4Info, config: bytes) -> P4RuntimeClient:
    client = P4RuntimeClient(address, device_id=1, election_id=1, batch_size=1000)
    await client.connect(timeout=60)
    await client.set_pipeline(p4info, config)
    return client


async def target_run(
    args: argparse.Namespace, target: Target, table: str, raw: list[bytes]
) -> dict[str, float]:
    p4info, config = target.p4info, target.config
    codec = Codec(P4Schema(p4info))
    tid = codec.schema.tables[table].id
    out: dict[str, float] = {}
    srv = target.start()
    try:
        client = await push_pipeline(srv.address, p4info, config)
        rates = await raw_rates(srv, raw, read_request(tid), args.entries)
        out.update({f"pre-encoded {k}": v for k, v in rates.items()})
        await client.close()
    finally:
        srv.stop()
    srv = target.start()
    try:
        client = await push_pipeline(srv.address, p4info, config)
        client.batch_size = args.batch
        entries = [entry(table, i) for i in range(args.entries)]
        c0, s0, t0 = time.process_time(), srv.cpu(), time.perf_counter()
        await client.insert(entries)
        c1, s1, t1 = time.process_time(), srv.cpu(), time.perf_counter()
        got = await client.read_raw([codec.encode(TableEntry(table), for_read=True)])
        t2 = time.perf_counter()
        back = await client.read([TableEntry(table)])
        t3 = time.perf_counter()
        assert len(got) == len(back) == args.entries, f"{len(got)} entries read back"
        n = args.entries
        out["client write"] = n / (t1 - t0)
        out["client write/own-CPU-s"] = n / max(c1 - c0, 1e-3)
        out["client write/server-CPU-s"] = n / max(s1 - s0, 1e-3)
        out["client read_raw"] = n / (t2 - t1)
        out["client read"] = n / (t3 - t2)
        await client.close()
    finally:
        srv.stop()
    return out


def null_server(p4info_path: str, table: str, n: int, address: str) -> None:
    """Serve Write (answered at once) and Read (pre-built entities) without parsing."""
    p4info = p4i.P4Info.FromString(Path(p4info_path).read_bytes())
    codec = Codec(P4Schema(p4info))
    chunks = []
    for start in range(0, n, 500):
        resp = p4r.ReadResponse()
        for i in range(start, min(n, start + 500)):
            resp.entities.append(codec.encode(entry(table, i)))
        chunks.append(resp.SerializeToString())

    async def write(req: bytes, ctx: Any) -> bytes:
        return b""

    async def read(req: bytes, ctx: Any) -> Any:
        for c in chunks:
            yield c

    async def serve() -> None:
        server = grpc.aio.server(options=OPTIONS)
        handlers = {
            "Write": grpc.unary_unary_rpc_method_handler(write, lambda b: b, lambda b: b),
            "Read": grpc.unary_stream_rpc_method_handler(read, lambda b: b, lambda b: b),
        }
        server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler("p4.v1.P4Runtime", handlers)]
        )
        server.add_insecure_port(address)
        await server.start()
        await server.wait_for_termination()

    asyncio.run(serve())


def transport_run(
    args: argparse.Namespace, p4info: p4i.P4Info, table: str, raw: list[bytes]
) -> dict[str, float]:
    path = Path(f"/tmp/p4rt_rate-{os.getpid()}.p4info")
    path.write_bytes(p4info.SerializeToString())
    srv = spawn(
        [sys.executable, __file__, "--null-server", str(path), table, str(args.entries),
         "127.0.0.1:{port}"]
    )  # fmt: skip
    try:
        rates = asyncio.run(raw_rates(srv, raw, read_request(0), args.entries))
        return {f"transport {k}": v for k, v in rates.items() if "CPU" not in k}
    finally:
        srv.stop()
        path.unlink()


def spread(values: list[float]) -> str:
    k = [v / 1000 for v in values]
    return f"{min(k):7.1f} {statistics.median(k):7.1f} {max(k):7.1f}"


def rows(results: list[dict[str, float]]) -> Iterator[tuple[str, list[float]]]:
    for key in results[0]:
        yield key, [r[key] for r in results]


def run_all(args: argparse.Namespace) -> None:
    targets = [p4sim_target()]
    bmv2 = bmv2_target()
    if isinstance(bmv2, str):
        skipped = f"BMv2: skipped: {bmv2}"
    else:
        targets.append(bmv2)
        skipped = ""
    load = os.getloadavg()
    print(
        f"p4rt_rate: {args.entries} entries per table, batches of {args.batch}, {args.runs} runs;"
        f" load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores"
    )
    print(f"{'table':<12} {'figure (k entries/s)':<28} {'min':>7} {'median':>7} {'max':>7}")
    for table in ("host", "fib"):
        kind = "exact" if table == "host" else "lpm"
        for target in targets:
            raw = requests(Codec(P4Schema(target.p4info)), table, args.entries, args.batch)
            results: list[dict[str, float]] = []
            for _ in range(args.runs):
                r = asyncio.run(target_run(args, target, table, raw))
                r.update(transport_run(args, target.p4info, table, raw))
                results.append(r)
            label = f"{target.name} {kind}"
            for key, values in rows(results):
                print(f"{label:<12} {key:<28} {spread(values)}", flush=True)
            for a in ("client write", "pre-encoded write"):
                ratio = " ".join(f"{r[a] / r['transport write']:7.3f}" for r in results)
                print(f"{label:<12} {a + ' / transport':<28} {ratio}  (each run)")
    if skipped:
        print(skipped)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="2,000 entries, 1 run")
    ap.add_argument("--null-server", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.null_server:
        path, table, n, address = args.null_server
        null_server(path, table, int(n), address)
        return
    if args.smoke:
        args.entries, args.runs, args.batch = 2000, 1, 500
    logging.getLogger("controller.p4rt").setLevel(logging.ERROR)  # connect retries at start
    run_all(args)


if __name__ == "__main__":
    main()
