"""A v1model switch instance running a Program with simple_switch's packet flow.

Order per packet (BMv2 simple_switch): parser -> verify_checksum -> ingress
-> I2E clone -> digest -> resubmit -> multicast (PRE) / drop (egress_spec
511) / unicast -> egress -> E2E clone -> drop check -> compute_checksum ->
deparser -> truncate -> recirculate or transmit.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from targets.p4sim.program import Program
from targets.p4sim.rt import Exit, Runtime
from targets.p4sim.state import Exact, Lpm, Optional, Range, SwitchState, Ternary

DROP_PORT = 511
NORMAL, I2E_CLONE, E2E_CLONE, RECIRC, REPLICATION, RESUBMIT = 0, 1, 2, 4, 5, 6
MAX_PASSES = 64  # bound resubmit/recirculate loops


@dataclass
class PacketTrace:
    """What happened to one input packet (for debugging and tests)."""

    events: list[tuple[Any, ...]] = field(default_factory=list)

    def __str__(self) -> str:
        lines = []
        for ev in self.events:
            kind = ev[0]
            if kind == "state":
                lines.append(f"parser state {ev[1]}")
            elif kind == "table":
                _, name, hit, action, args, matches = ev
                what = "hit [" + ", ".join(map(_fmt_match, matches)) + "]" if hit else "miss"
                shown = ", ".join(hex(a) for a in args)
                lines.append(f"table {name}: {what} -> {action}({shown})")
            else:
                lines.append(" ".join(str(x) for x in ev))
        return "\n".join(lines)


def _fmt_match(m: object) -> str:
    """An entry's field match as STF/CLI users write it."""
    if isinstance(m, Exact):
        return hex(m.value)
    if isinstance(m, Lpm):
        return f"{m.value:#x}/{m.prefix_len}"
    if isinstance(m, Ternary):
        return f"{m.value:#x}&&&{m.mask:#x}"
    if isinstance(m, Range):
        return f"{m.low:#x}..{m.high:#x}"
    if isinstance(m, Optional):
        return "*" if m.value is None else hex(m.value)
    return str(m)


class Switch:
    def __init__(self, program: Program, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.program = program
        self.clock = clock
        self.state: SwitchState = program.new_state(clock)
        self.runtime = Runtime()
        self._bind()

    def _bind(self) -> None:
        G = self.program.bind(self.state, self.runtime, self.clock)
        self._G = G
        e = self.program.gen.entry
        self._parser = G[e["parser"]]
        self._verify = G[e["verify_checksum"]]
        self._ingress = G[e["ingress"]]
        self._egress = G[e["egress"]]
        self._compute = G[e["compute_checksum"]]
        self._deparser = G[e["deparser"]]
        self._template = self.program.gen.template
        self._meta_keys = self.program.gen.meta_keys
        self._field_lists = self.program.gen.field_lists
        self.value_sets = {
            fq: G[i.gname] for fq, i in self.program.gen.externs.items() if i.kind == "value_set"
        }

    @property
    def digests(self) -> deque[tuple[str, int, tuple[tuple[int, int], ...]]]:
        """Digests generated so far (oldest first); consumers pop from the left."""
        return self.runtime.digests

    # -- packet flow -------------------------------------------------------------------
    def process(
        self, ingress_port: int, frame: bytes, trace: PacketTrace | None = None
    ) -> list[tuple[int, bytes]]:
        """Run one frame through the pipeline; returns (egress_port, frame) outputs."""
        if not 0 <= ingress_port < 512:
            raise ValueError(f"ingress port {ingress_port} is not a 9-bit port")
        self.runtime.trace = trace.events if trace is not None else None
        self._G["_TR"] = trace is not None
        try:
            return self._run(ingress_port, bytes(frame))
        finally:
            self.runtime.trace = None
            self._G["_TR"] = False

    def _run(self, ingress_port: int, frame: bytes) -> list[tuple[int, bytes]]:
        """The architecture's packet flow for one input frame (v1model here)."""
        out: list[tuple[int, bytes]] = []
        work: deque[tuple[Any, ...]] = deque([("in", ingress_port, frame, NORMAL, None)])
        passes = 0
        while work:
            passes += 1
            if passes > MAX_PASSES:
                self._note("drop: too many resubmit/recirculate/clone passes")
                break
            item = work.popleft()
            if item[0] == "in":
                self._ingress_pass(item[1], item[2], item[3], item[4], work)
            else:
                self._egress_pass(item[1], item[2], item[3], item[4], work, out)
        return out

    def _note(self, msg: str) -> None:
        if self.runtime.trace is not None:
            self.runtime.trace.append((msg,))

    def _parse(
        self, port: int, pkt: bytes, itype: int, keep: dict[str, Any] | None
    ) -> dict[str, Any]:
        F = dict(self._template)
        F["sm.ingress_port"] = port
        F["sm.packet_length"] = len(pkt)
        F["sm.instance_type"] = itype
        F["sm.ingress_global_timestamp"] = int(self.clock() * 1e6) & 0xFFFFFFFFFFFF
        if keep:
            F.update(keep)
        pos = self._parser(F, pkt)
        F["$payload"] = pkt[pos:]
        self._verify(F)
        return F

    def _preserved(self, F: dict[str, Any], index: Any) -> dict[str, Any]:
        if index is None:
            return {}
        return {k: F[k] for k in self._field_lists.get(index, [])}

    def _ingress_pass(
        self, port: int, pkt: bytes, itype: int, keep: dict[str, Any] | None, work: deque[Any]
    ) -> None:
        F = self._parse(port, pkt, itype, keep)
        try:
            self._ingress(F)
        except Exit:  # the `exit` statement ends ingress early
            F["$exited"] = True
        clone = F["$clone"]
        if clone is not None and clone[0] == 0:  # I2E
            _, session, fl = clone
            sess = self.state.pre.sessions.get(session)
            if sess is None:
                self._note(f"I2E clone: session {session} not configured")
            else:
                kept = self._preserved(F, fl)
                for r in sess.replicas:
                    C = self._parse(port, pkt, I2E_CLONE, None)
                    C.update(kept)
                    C["$trunc_session"] = sess.packet_length_bytes
                    work.append(("eg", r.egress_port, C, I2E_CLONE, r.instance))
        if F["$resubmit"] is not None:
            self._note("resubmit")
            work.append(("in", port, pkt, RESUBMIT, self._preserved(F, F["$resubmit"][0])))
            return
        grp = F["sm.mcast_grp"]
        if grp:
            g = self.state.pre.groups.get(grp)
            if g is None:
                self._note(f"drop: multicast group {grp} not configured")
                return
            for r in g.replicas:
                work.append(("eg", r.egress_port, dict(F), REPLICATION, r.instance))
            return
        spec = F["sm.egress_spec"]
        if spec == DROP_PORT:
            self._note("drop: egress_spec is the drop port (511)")
            return
        work.append(("eg", spec, F, itype, 0))

    def _egress_pass(
        self,
        port: int,
        F: dict[str, Any],
        itype: int,
        rid: int,
        work: deque[Any],
        out: list[tuple[int, bytes]],
    ) -> None:
        F["sm.egress_port"] = port
        F["sm.egress_rid"] = rid
        F["sm.instance_type"] = itype
        F["sm.egress_global_timestamp"] = int(self.clock() * 1e6) & 0xFFFFFFFFFFFF
        F["$clone"] = None
        try:
            self._egress(F)
        except Exit:  # the `exit` statement ends egress early
            F["$exited"] = True
        clone = F["$clone"]
        if clone is not None and clone[0] == 1:  # E2E
            _, session, fl = clone
            sess = self.state.pre.sessions.get(session)
            if sess is None:
                self._note(f"E2E clone: session {session} not configured")
            else:
                kept = self._preserved(F, fl)
                for r in sess.replicas:
                    C = dict(F)
                    for k in self._meta_keys:
                        C[k] = self._template[k]
                    C.update(kept)
                    C["$clone"] = None
                    C["$recirc"] = None
                    C["$trunc_session"] = sess.packet_length_bytes
                    work.append(("eg", r.egress_port, C, E2E_CLONE, r.instance))
        if F["sm.egress_spec"] == DROP_PORT:
            self._note("drop: mark_to_drop in egress")
            return
        self._compute(F)
        chunks: list[bytes] = []
        self._deparser(F, chunks)
        data = b"".join(chunks) + F["$payload"]
        trunc = F["$truncate"]
        if trunc:
            data = data[:trunc]
        ts = F.get("$trunc_session")
        if ts:
            data = data[:ts]
        if F["$recirc"] is not None:
            self._note("recirculate")
            work.append(("in", port, data, RECIRC, self._preserved(F, F["$recirc"][0])))
            return
        out.append((port, data))
