"""A TNA (Tofino Native Architecture) switch instance running a Program.

Per packet, as the TNA documentation describes a Tofino pipe:

    ingress parser (after 8 bytes of ingress intrinsic metadata and 8 bytes of
    port metadata) -> ingress -> ingress deparser -> traffic manager
    (drop_ctl bit 0: drop; mcast_grp_a: PRE replicas; else ucast_egress_port)
    -> egress parser (after the egress intrinsic metadata; skipped with
    bypass_egress) -> egress -> egress deparser (drop_ctl bit 0: drop) -> out.

What is modelled so far: the packet flow above, intrinsic metadata
(ingress_port, ucast_egress_port, bypass_egress, mcast_grp_a, drop_ctl,
egress_port, egress_rid, pkt_length), `exit`, Counter, Checksum and Hash.
Not yet: mirror, resubmit, digest, recirculation ports, Register/RegisterAction,
Meter, Lpf, Wred (a program using one fails to compile, naming it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from targets.p4sim.program import Program
from targets.p4sim.rt import Exit
from targets.p4sim.switch import Switch

PORT_METADATA_BYTES = 8  # PORT_METADATA_SIZE (64 bits) on Tofino 1


def pack_header(layout: list[tuple[str, int]], values: dict[str, int]) -> bytes:
    """Fields MSB-first, in declaration order; padding and unset fields are 0."""
    acc, total = 0, 0
    for name, width in layout:
        acc = (acc << width) | (values.get(name, 0) & ((1 << width) - 1))
        total += width
    return acc.to_bytes(total // 8, "big")


class TnaSwitch(Switch):
    """Switch's interface (process, state, digests, tracing) with TNA's packet flow."""

    def __init__(self, program: Program, *, clock: Callable[[], float] = time.monotonic) -> None:
        if program.gen.arch != "tna":
            raise ValueError(f"{program.path} is not a TNA program")
        super().__init__(program, clock=clock)

    def _bind(self) -> None:
        G = self.program.bind(self.state, self.runtime, self.clock)
        self._G = G
        self._blocks = {role: G[fn] for role, fn in self.program.gen.entry.items()}
        self._template = self.program.gen.template
        self._layouts = self.program.gen.intrinsic_layouts
        self.value_sets = {
            fq: G[i.gname] for fq, i in self.program.gen.externs.items() if i.kind == "value_set"
        }

    def _run_parser(self, role: str, F: dict[str, Any], data: bytes) -> None:
        pos = self._blocks[role](F, data)
        F["$payload"] = data[pos:]

    def _run_control(self, role: str, F: dict[str, Any]) -> None:
        try:
            self._blocks[role](F)
        except Exit:  # `exit` ends the control; the deparser still runs
            F["$exited"] = True

    def _deparse(self, role: str, F: dict[str, Any]) -> bytes:
        chunks: list[bytes] = []
        self._blocks[role](F, chunks)
        return b"".join(chunks) + F["$payload"]

    def _run(self, port: int, frame: bytes) -> list[tuple[int, bytes]]:
        F = dict(self._template)
        F["sm.packet_length"] = len(frame)
        tstamp = int(self.clock() * 1e9) & 0xFFFFFFFFFFFF
        F["ig_prsr_md.global_tstamp"] = tstamp
        intr = pack_header(
            self._layouts["ig_intr_md"], {"ingress_port": port, "ingress_mac_tstamp": tstamp}
        )
        self._run_parser("ingress_parser", F, intr + bytes(PORT_METADATA_BYTES) + frame)
        F["ig_prsr_md.parser_err"] = F["sm.parser_error"] and 1
        self._run_control("ingress", F)
        data = self._deparse("ingress_deparser", F)
        if F["ig_dprsr_md.drop_ctl"] & 1:
            self._note("drop: ig_intr_md_for_dprsr.drop_ctl")
            return []
        grp = F["ig_tm_md.mcast_grp_a"]
        if grp:
            g = self.state.pre.groups.get(grp)
            if g is None:
                self._note(f"drop: multicast group {grp} not configured")
                return []
            targets = [(r.egress_port, r.instance) for r in g.replicas]
        else:
            targets = [(F["ig_tm_md.ucast_egress_port"], 0)]
        if F["ig_tm_md.bypass_egress"]:
            self._note("bypass_egress")
            return [(p, data) for p, _ in targets]
        out = []
        for eport, rid in targets:
            sent = self._egress(eport, rid, data)
            if sent is not None:
                out.append((eport, sent))
        return out

    def _egress(self, port: int, rid: int, data: bytes) -> bytes | None:
        F = dict(self._template)
        F["sm.packet_length"] = len(data)
        intr = pack_header(
            self._layouts["eg_intr_md"],
            {"egress_port": port, "egress_rid": rid, "pkt_length": len(data)},
        )
        self._run_parser("egress_parser", F, intr + data)
        F["eg_prsr_md.parser_err"] = F["sm.parser_error"] and 1
        self._run_control("egress", F)
        sent = self._deparse("egress_deparser", F)
        if F["eg_dprsr_md.drop_ctl"] & 1:
            self._note("drop: eg_intr_md_for_dprsr.drop_ctl")
            return None
        return sent
