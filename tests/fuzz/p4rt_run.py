"""Attack a P4Runtime server over gRPC with hostile requests while a good client holds on.

The good client is primary (the highest election id) on a StreamChannel opened
before the attack and has written one entry to each table whose key fields are
all at least an octet wide. Hostile requests go through grpc's generic
methods as raw bytes, so invalid encodings reach the server's decoder. After
every batch, :meth:`Attack.check` asks: does the server still answer a valid
Read and a valid Write, is the good client still primary with its stream open,
are its entries unchanged? Each failure is a string in ``Attack.failures``.
"""

from __future__ import annotations

import contextlib
import queue
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import grpc
from finsy.proto import p4i, p4r

from tests.fuzz.p4rt_inputs import (
    GOOD_KEY_OCTET,
    MAX_ID,
    SERVICE,
    UNARY,
    Inputs,
    eid,
    entry_for,
    writable_tables,
)
from tests.fuzz.p4rt_inputs import seeds as make_seeds

RPCS = (*UNARY, "StreamChannel")
# A pipeline push that gets as far as compiling takes ~0.1 s: sent less often
WEIGHTS = [1.0 if r != "SetForwardingPipelineConfig" else 0.2 for r in RPCS]
TIMEOUT = 10.0
OPTIONS = [("grpc.max_receive_message_length", 1 << 28), ("grpc.max_send_message_length", 1 << 28)]


def _raw(b: bytes) -> bytes:
    return b


class Primary:
    """The good client's StreamChannel: primary from before the attack until the end."""

    def __init__(self, channel: grpc.Channel, device_id: int) -> None:
        self.out: queue.Queue[p4r.StreamMessageRequest | None] = queue.Queue()
        arb = p4r.StreamMessageRequest()
        arb.arbitration.device_id = device_id
        eid(arb.arbitration, MAX_ID)  # type: ignore[arg-type]
        self.out.put(arb)
        self.received: list[p4r.StreamMessageResponse] = []
        self.ended: str | None = None
        stub = channel.stream_stream(
            SERVICE + "StreamChannel",
            request_serializer=p4r.StreamMessageRequest.SerializeToString,
            response_deserializer=p4r.StreamMessageResponse.FromString,
        )
        self.call = stub(iter(self.out.get, None))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + TIMEOUT
        while not self.is_primary() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self.is_primary():
            raise RuntimeError(f"the good client did not become primary: {self.received}")

    def _read(self) -> None:
        try:
            for msg in self.call:
                self.received.append(msg)
            self.ended = "closed by the server"
        except grpc.RpcError as exc:
            self.ended = f"{exc.code().name}: {exc.details()}"  # type: ignore[attr-defined]

    def is_primary(self) -> bool:
        arbs = [m.arbitration for m in self.received if m.HasField("arbitration")]
        return self.ended is None and bool(arbs) and all(a.status.code == 0 for a in arbs)

    def close(self) -> None:
        self.out.put(None)
        self.call.cancel()


class Attack:
    def __init__(
        self,
        address: str,
        p4info: p4i.P4Info,
        config: bytes,
        device_id: int,
        seed: int,
        push: bool = False,
    ) -> None:
        """``push``: the good client commits the pipeline first (a switch started empty)."""
        self.channel = grpc.insecure_channel(address, options=OPTIONS)
        self.device_id = device_id
        self.rng = random.Random(seed)
        self.inputs = Inputs(make_seeds(p4info, config, device_id), self.rng)
        self.unary = {r: self.channel.unary_unary(SERVICE + r, _raw, _raw) for r in UNARY}
        self.unary["Read"] = self.channel.unary_stream(SERVICE + "Read", _raw, _raw)  # type: ignore[assignment]
        self.stream = self.channel.stream_stream(SERVICE + "StreamChannel", _raw, _raw)
        self.outcomes: Counter[tuple[str, str]] = Counter()  # (rpc, status code)
        self.kinds: Counter[str] = Counter()
        self.failures: list[str] = []
        self.trail: list[tuple[str, str, str]] | None = None  # (rpc, kind, code) if kept
        self.after_check: Callable[[int], None] | None = None  # called with the inputs so far
        self.primary_packets = 0.1  # share of hostile stream inputs sent by the good primary
        self.primary = Primary(self.channel, device_id)
        if push:
            req = p4r.SetForwardingPipelineConfigRequest(device_id=device_id, action=2)
            req.config.p4info.CopyFrom(p4info)
            req.config.p4_device_config = config
            eid(req, MAX_ID)
            self.unary["SetForwardingPipelineConfig"](req.SerializeToString(), timeout=60)
        wide = [t for t in writable_tables(p4info) if all(m.bitwidth >= 8 for m in t.match_fields)]
        self.good = [entry_for(p4info, t, GOOD_KEY_OCTET) for t in wide]
        self._write_good(p4r.Update.INSERT)

    # -- the good client -----------------------------------------------------
    def _write_good(self, op: int) -> None:
        req = p4r.WriteRequest(device_id=self.device_id)
        eid(req, MAX_ID)
        for e in self.good:
            req.updates.add(type=op, entity=e)
        self.unary["Write"](req.SerializeToString(), timeout=TIMEOUT)

    def _read_good(self) -> list[bytes]:
        req = p4r.ReadRequest(device_id=self.device_id)
        for e in self.good:
            req.entities.add().table_entry.table_id = e.table_entry.table_id
        got: set[bytes] = set()
        for chunk in self.unary["Read"](req.SerializeToString(), timeout=TIMEOUT):
            got.update(e.SerializeToString() for e in p4r.ReadResponse.FromString(chunk).entities)
        return [e.SerializeToString() for e in self.good if e.SerializeToString() not in got]

    def check(self, label: str) -> None:
        """The outcome checks after a batch; failures are recorded with ``label``."""
        try:
            missing = self._read_good()
            if missing:
                self.failures.append(f"{label}: {len(missing)} good entries changed or gone")
            self._write_good(p4r.Update.MODIFY)  # same content: a valid Write, no change
        except grpc.RpcError as exc:
            self.failures.append(
                f"{label}: valid request failed: {exc.code().name} {exc.details()}"
            )  # type: ignore[attr-defined]
        if not self.primary.is_primary():
            self.failures.append(
                f"{label}: good client lost the primary role ({self.primary.ended})"
            )

    # -- the hostile client ----------------------------------------------------
    def _call(self, rpc: str, body: bytes) -> str:
        try:
            if rpc == "Read":
                for _ in self.unary["Read"](body, timeout=TIMEOUT):  # type: ignore[attr-defined]
                    pass
            else:
                self.unary[rpc](body, timeout=TIMEOUT)
        except grpc.RpcError as exc:
            return exc.code().name  # type: ignore[attr-defined, no-any-return]
        return "OK"

    def _stream_messages(self) -> Iterator[bytes]:
        """1-4 hostile stream messages, sometimes after a valid (backup) arbitration."""
        if self.rng.random() < 0.5:
            arb = p4r.StreamMessageRequest()
            arb.arbitration.device_id = self.device_id
            eid(arb.arbitration, self.rng.getrandbits(100))  # type: ignore[arg-type]
            yield arb.SerializeToString()
        for _ in range(self.rng.randint(1, 4)):
            kind, body = self.inputs.one("StreamChannel")
            self.kinds["StreamChannel/" + kind] += 1
            yield body

    def _stream(self) -> str:
        if (
            self.rng.random() < self.primary_packets
        ):  # a buggy primary: bad packet-outs on the good stream
            kind, body = self.inputs.one("StreamChannel")
            msg = p4r.StreamMessageRequest.FromString(body) if kind.startswith("struct") else None
            if msg is not None and msg.HasField("packet"):
                self.kinds["StreamChannel/primary-" + kind] += 1
                self.primary.out.put(msg)
                return "primary-packet"
        try:
            messages = list(self._stream_messages())  # all drawn, however many are read
            for _ in self.stream(iter(messages), timeout=TIMEOUT):
                pass
        except grpc.RpcError as exc:
            return exc.code().name  # type: ignore[attr-defined, no-any-return]
        return "OK"

    def run(self, n: int, batch: int = 500, rpcs: tuple[str, ...] = RPCS) -> None:
        weights = [WEIGHTS[RPCS.index(r)] for r in rpcs]
        for i in range(n):
            rpc = self.rng.choices(rpcs, weights)[0]
            kind = "stream"
            if rpc == "StreamChannel":
                code = self._stream()
            else:
                kind, body = self.inputs.one(rpc)
                self.kinds[f"{rpc}/{kind}"] += 1
                code = self._call(rpc, body)
            self.outcomes[(rpc, code)] += 1
            if self.trail is not None:
                self.trail.append((rpc, kind, code))
            if code in ("DEADLINE_EXCEEDED", "INTERNAL", "UNAVAILABLE"):
                self.failures.append(f"input {i} ({rpc}): {code}")
            if (i + 1) % batch == 0 or i + 1 == n:
                self.check(f"after input {i + 1}")
                if self.after_check is not None:
                    self.after_check(i + 1)

    def close(self) -> None:
        """Leave the switch as found: the good entries go, then the primary's stream."""
        with contextlib.suppress(grpc.RpcError):  # check() has reported a lost primary role
            self._write_good(p4r.Update.DELETE)
        self.primary.close()
        self.channel.close()


def rss_mb(pid: int) -> float:
    """Resident set size of a process, in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0
