"""A pipeline double for runtime tests: hand-written P4Info + a tiny executor.

It stands for this P4 program (which the real engine would compile):

    @controller_header("packet_in")  header packet_in_t  { bit<9> ingress_port; bit<7> _pad; }
    @controller_header("packet_out") header packet_out_t { bit<9> egress_port;  bit<7> _pad; }
    ingress: port_pkts.count(ingress_port);
             from the CPU port: egress = packet_out.egress_port, strip packet_out;
             else fwd.apply() on ingress_port: set_port(p) | to_cpu() | drop()
             (to_cpu prepends packet_in with the ingress port)

The other tables/externs exist for P4Runtime validation tests only. The state
objects are the real ones from targets.p4sim.state, so validation below the
P4Runtime layer is as strict as the real thing.
"""

from __future__ import annotations

from finsy.proto import p4i
from google.protobuf import text_format

from targets.p4sim.runtime.bundle import Bundle
from targets.p4sim.runtime.program import LoadedProgram, ProgramError, state_from_p4info

FAKE_SOURCE = "// p4sim runtime test double\n"

P4INFO_TEXT = """
pkg_info { arch: "v1model" }
tables {
  preamble { id: 33554433 name: "MyIngress.fwd" alias: "fwd" }
  match_fields { id: 1 name: "standard_metadata.ingress_port" bitwidth: 9 match_type: EXACT }
  action_refs { id: 16777217 }
  action_refs { id: 16777218 }
  action_refs { id: 16777219 }
  initial_default_action { action_id: 16777219 }
  size: 4
}
tables {
  preamble { id: 33554434 name: "MyIngress.ipv4_lpm" alias: "ipv4_lpm" }
  match_fields { id: 1 name: "hdr.ipv4.dstAddr" bitwidth: 32 match_type: LPM }
  action_refs { id: 16777217 }
  action_refs { id: 16777219 }
  action_refs { id: 16777220 scope: DEFAULT_ONLY }
  initial_default_action { action_id: 16777219 }
  direct_resource_ids: 318767105
  size: 1024
}
tables {
  preamble { id: 33554435 name: "MyIngress.acl" alias: "acl" }
  match_fields { id: 1 name: "hdr.ethernet.etherType" bitwidth: 16 match_type: TERNARY }
  match_fields { id: 2 name: "meta.l4_port" bitwidth: 16 match_type: RANGE }
  match_fields { id: 3 name: "meta.vrf" bitwidth: 12 match_type: OPTIONAL }
  action_refs { id: 16777219 }
  action_refs { id: 16777221 scope: TABLE_ONLY }
  initial_default_action { action_id: 16777219 }
  size: 16
}
tables {
  preamble { id: 33554436 name: "MyIngress.fixed" alias: "fixed" }
  match_fields { id: 1 name: "meta.vrf" bitwidth: 12 match_type: EXACT }
  action_refs { id: 16777219 }
  const_default_action_id: 16777219
  initial_default_action { action_id: 16777219 }
  size: 16
}
tables {
  preamble { id: 33554437 name: "MyIngress.keyless" alias: "keyless" }
  action_refs { id: 16777219 }
  initial_default_action { action_id: 16777219 }
  size: 1
}
actions { preamble { id: 16777217 name: "MyIngress.set_port" alias: "set_port" }
  params { id: 1 name: "port" bitwidth: 9 } }
actions { preamble { id: 16777218 name: "MyIngress.to_cpu" alias: "to_cpu" } }
actions { preamble { id: 16777219 name: "MyIngress.drop" alias: "drop" } }
actions { preamble { id: 16777220 name: "MyIngress.miss_to_cpu" alias: "miss_to_cpu" } }
actions { preamble { id: 16777221 name: "MyIngress.permit" alias: "permit" }
  params { id: 1 name: "class_id" bitwidth: 8 } }
counters {
  preamble { id: 302011393 name: "MyIngress.port_pkts" alias: "port_pkts" }
  spec { unit: BOTH } size: 8
}
direct_counters {
  preamble { id: 318767105 name: "MyIngress.lpm_hits" alias: "lpm_hits" }
  spec { unit: BOTH } direct_table_id: 33554434
}
meters {
  preamble { id: 335544321 name: "MyIngress.rate" alias: "rate" }
  spec { unit: BYTES } size: 2
}
registers {
  preamble { id: 369098753 name: "MyIngress.last_seen" alias: "last_seen" }
  type_spec { bitstring { bit { bitwidth: 32 } } } size: 4
}
controller_packet_metadata {
  preamble { id: 67146229 name: "packet_in" alias: "packet_in"
    annotations: "@controller_header(\\"packet_in\\")" }
  metadata { id: 1 name: "ingress_port" bitwidth: 9 }
  metadata { id: 2 name: "_pad" bitwidth: 7 }
}
controller_packet_metadata {
  preamble { id: 67121543 name: "packet_out" alias: "packet_out"
    annotations: "@controller_header(\\"packet_out\\")" }
  metadata { id: 1 name: "egress_port" bitwidth: 9 }
  metadata { id: 2 name: "_pad" bitwidth: 7 }
}
"""

CPU_PORT = 255
FWD, LPM, ACL, FIXED, KEYLESS = 33554433, 33554434, 33554435, 33554436, 33554437
SET_PORT, TO_CPU, DROP, MISS_TO_CPU, PERMIT = 16777217, 16777218, 16777219, 16777220, 16777221
PORT_PKTS, LPM_HITS, RATE, LAST_SEEN = 302011393, 318767105, 335544321, 369098753


def fake_p4info() -> p4i.P4Info:
    return text_format.Parse(P4INFO_TEXT, p4i.P4Info())


def fake_bundle() -> bytes:
    return Bundle("main.p4", {"main.p4": FAKE_SOURCE}).encode()


def load_fake(bundle: Bundle) -> LoadedProgram:
    if bundle.sources.get(bundle.main) != FAKE_SOURCE:
        raise ProgramError(f"{bundle.main}:1: syntax error (test double knows one program)")
    p4info = fake_p4info()
    st = state_from_p4info(p4info)
    fwd = st.tables[FWD]
    port_pkts = st.counters[PORT_PKTS]

    def process(port: int, frame: bytes) -> list[tuple[int, bytes]]:
        port_pkts.count(port, len(frame))
        if port == CPU_PORT:
            if len(frame) < 2:
                return []
            return [(int.from_bytes(frame[:2], "big") >> 7, frame[2:])]
        hit = fwd.lookup((port,))
        action = hit.action if hit is not None else fwd.default_entry.action
        if action.action == "MyIngress.set_port":
            return [(action.args[0], frame)]
        if action.action == "MyIngress.to_cpu":
            return [(CPU_PORT, (port << 7).to_bytes(2, "big") + frame)]
        return []

    def trace(port: int, frame: bytes) -> tuple[list[tuple[int, bytes]], list[str]]:
        hit = fwd.lookup((port,))
        line = f"port {port}: table MyIngress.fwd {'hit' if hit else 'miss'}"
        return process(port, frame), [line]

    return LoadedProgram(p4info, st, process, trace)
